/**
 * Installs a model directory into an agent's model store before the agent starts, as a factory
 * image would: the agent boots with it as its current model and still follows signed updates
 * (a pinned `model.dir` would turn updates off). The layout is the edge agent's documented one:
 * `<modelsDir>/<name>/<version>/` with `install.json`, and the `current` pointer.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, MODEL_FILE, ModelStore } from '@edgeloop/edge-agent';
import { decodeJson } from '@edgeloop/protocol';
import { LoadtestsError } from './errors.js';

const record = (bytes: Uint8Array) => ({ length: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });

/** Installs `modelDir` (model.onnx + manifest.json naming `name`) as the current model; returns its version. */
export async function preinstallModel(modelsDir: string, name: string, modelDir: string): Promise<number> {
  const onnx = new Uint8Array(await readFile(join(modelDir, MODEL_FILE)));
  const manifestBytes = new Uint8Array(await readFile(join(modelDir, MANIFEST_FILE)));
  const manifest = decodeJson('manifest', manifestBytes);
  if (!manifest.ok) throw new LoadtestsError('BAD_ARGUMENT', `${modelDir}: ${manifest.error.message}`, { cause: manifest.error });
  const { version } = manifest.value;
  if (manifest.value.name !== name) {
    throw new LoadtestsError('BAD_ARGUMENT', `${modelDir} holds model "${manifest.value.name}", but the fleet runs "${name}"`);
  }
  const store = new ModelStore(modelsDir, name);
  const dir = store.dirOf(version);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MODEL_FILE), onnx);
  await writeFile(join(dir, MANIFEST_FILE), manifestBytes);
  const install = { v: 1, name, version, files: { [MODEL_FILE]: record(onnx), [MANIFEST_FILE]: record(manifestBytes) } };
  await writeFile(join(dir, 'install.json'), `${JSON.stringify(install)}\n`);
  await store.writePointer({ v: 1, current: version, highest: version });
  return version;
}
