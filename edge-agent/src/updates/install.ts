/**
 * Downloads a release into `<name>/<version>.partial/` and renames it to `<name>/<version>/` once
 * every file is verified and on disk. Each target goes through tuf-js, which streams it into a
 * temporary file through the bounded fetcher and checks its length and hashes against the trusted
 * targets metadata (TUF §5.7.3) before copying it here; each copy is then fsynced.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelManifest } from '@edgeloop/protocol';
import type { TargetFile } from '@tufjs/models';
import type { Updater } from 'tuf-js';
import { fsyncDir, fsyncFile, renameDurable } from './durable-fs.js';
import { INSTALL_RECORD, type InstallRecord, type ModelStore } from './model-store.js';
import { checkManifest, MANIFEST_FILE, MODEL_FILE, sha256Of } from './release.js';

export interface ReleaseTargets {
  model: TargetFile;
  manifest: TargetFile;
}

/** Installs one release; returns its (complete, verified, durable) directory and manifest. */
export async function installRelease(
  store: ModelStore,
  updater: Updater,
  version: number,
  targets: ReleaseTargets,
): Promise<{ dir: string; manifest: ModelManifest }> {
  const partial = store.partialDirOf(version);
  const dir = store.dirOf(version);
  // A complete directory of this version can be left by a crash before its swap; it is neither
  // current nor previous (its version is above both), so it is rebuilt from scratch.
  await rm(partial, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });

  // The manifest first: it is small, and checking it against the signed model target first spares
  // downloading a model whose release does not hold together.
  await updater.downloadTarget(targets.manifest, join(partial, MANIFEST_FILE));
  const manifest = checkManifest(await readFile(join(partial, MANIFEST_FILE)), store.name, version, targets.model);
  await updater.downloadTarget(targets.model, join(partial, MODEL_FILE));

  const record: InstallRecord = {
    v: 1,
    name: store.name,
    version,
    files: {
      [MODEL_FILE]: { length: targets.model.length, sha256: sha256Of(targets.model) },
      [MANIFEST_FILE]: { length: targets.manifest.length, sha256: sha256Of(targets.manifest) },
    },
  };
  await writeFile(join(partial, INSTALL_RECORD), `${JSON.stringify(record)}\n`);
  for (const f of [MANIFEST_FILE, MODEL_FILE, INSTALL_RECORD]) await fsyncFile(join(partial, f));
  await fsyncDir(partial);
  await renameDurable(partial, dir);
  return { dir, manifest };
}
