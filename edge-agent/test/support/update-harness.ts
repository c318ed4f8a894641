/**
 * Shared set-up for the update tests: a TUF repository with model releases, served on 127.0.0.1,
 * and a device state (stateDir, modelsDir) with a {@link ModelUpdater} that self-tests with
 * onnxruntime-node.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FetchLimits, ModelUpdater, type ModelUpdaterOptions, onnxSelfTest, releasePaths } from '../../src/updates/index.js';
import { TufRepository, TufServer } from './tuf-repo.js';
import { type TinyModelOptions, tinyRelease } from './update-onnx.js';

export const MODEL = 'digits';

/** Adds release `version` of {@link MODEL} to the repository (not yet published). */
export function addRelease(repo: TufRepository, version: number, o: TinyModelOptions = {}): { onnx: Uint8Array; manifest: Uint8Array } {
  const r = tinyRelease(MODEL, version, o);
  const paths = releasePaths(MODEL, version);
  repo.addTarget(paths.model, r.onnx);
  repo.addTarget(paths.manifest, r.manifest);
  return r;
}

export interface Device {
  dir: string;
  stateDir: string;
  modelsDir: string;
  updater: ModelUpdater;
}

export const fastLimits: Partial<FetchLimits> = { timeoutMs: 5_000, stallTimeoutMs: 1_000 };

export async function newDevice(repo: TufRepository, server: TufServer, options: Partial<ModelUpdaterOptions> = {}): Promise<Device> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-update-'));
  const stateDir = join(dir, 'state');
  const modelsDir = join(dir, 'models');
  const updater = new ModelUpdater({
    modelName: MODEL,
    stateDir,
    modelsDir,
    repositoryUrl: server.url,
    trustedRoot: repo.trustedRoot(),
    selfTest: onnxSelfTest,
    fetch: fastLimits,
    ...options,
  });
  await updater.recover();
  return { dir, stateDir, modelsDir, updater };
}

export async function removeDevice(d: Device): Promise<void> {
  await rm(d.dir, { recursive: true, force: true });
}

/** The sha256 of both files of an installed version equals the repository's signed targets. */
export async function installedMatches(repo: TufRepository, modelsDir: string, version: number): Promise<boolean> {
  const paths = releasePaths(MODEL, version);
  for (const [file, path] of [['model.onnx', paths.model] as const, ['manifest.json', paths.manifest] as const]) {
    const bytes = await readFile(join(modelsDir, MODEL, String(version), file)).catch(() => undefined);
    const signed = repo.targets.get(path);
    if (!bytes || !signed || createHash('sha256').update(bytes).digest('hex') !== signed.hashes.sha256) return false;
  }
  return true;
}

export { TufRepository, TufServer };
