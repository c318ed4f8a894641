/**
 * Downloads a release into `<name>/<version>.partial/` and renames it to `<name>/<version>/` once
 * every file is verified and on disk.
 *
 * Each target is streamed straight into its place through the bounded fetcher (capped at the
 * length the targets role signed), hashed as it arrives with every algorithm the targets metadata
 * lists, checked for exactly that length and those hashes (TUF §5.7.3), and fsynced. That is the
 * check tuf-js's `downloadTarget` makes; doing it here spares its temporary file, its second read
 * of the file to hash it and its synchronous copy into place. Under consistent snapshots a target
 * is fetched under its sha256 (the protocol's `tufTargetDownloadPath`, as the browser client does).
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ModelManifest, tufTargetDownloadPath } from '@edgeloop/protocol';
import type { TargetFile } from '@tufjs/models';
import { AgentError } from '../errors.js';
import { fsyncDir, renameDurable, writeFileDurable } from './durable-fs.js';
import type { BoundedFetcher } from './fetcher.js';
import { INSTALL_RECORD, type InstallRecord, type ModelStore } from './model-store.js';
import { checkManifest, MANIFEST_FILE, MODEL_FILE, sha256Of } from './release.js';

export interface ReleaseTargets {
  model: TargetFile;
  manifest: TargetFile;
}

/** Where targets are fetched from. */
export interface TargetSource {
  fetcher: BoundedFetcher;
  /** The repository's base URL, with a trailing slash. */
  repositoryUrl: string;
  /** The trusted root's `consistent_snapshot`. */
  consistentSnapshot: boolean;
}

/** Installs one release; returns its (complete, verified, durable) directory and manifest. */
export async function installRelease(
  store: ModelStore,
  source: TargetSource,
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
  const manifestBytes = await downloadTarget(source, targets.manifest, join(partial, MANIFEST_FILE), true);
  const manifest = checkManifest(manifestBytes, store.name, version, targets.model);
  await downloadTarget(source, targets.model, join(partial, MODEL_FILE), false);

  const record: InstallRecord = {
    v: 1,
    name: store.name,
    version,
    files: {
      [MODEL_FILE]: { length: targets.model.length, sha256: sha256Of(targets.model) },
      [MANIFEST_FILE]: { length: targets.manifest.length, sha256: sha256Of(targets.manifest) },
    },
  };
  await writeFileDurable(join(partial, INSTALL_RECORD), `${JSON.stringify(record)}\n`);
  await fsyncDir(partial);
  await renameDurable(partial, dir);
  return { dir, manifest };
}

/**
 * Downloads one target to `file` and checks its length and every listed hash (TUF §5.7.3); returns
 * its bytes when `keep` is set (the manifest), an empty array otherwise.
 */
async function downloadTarget(source: TargetSource, target: TargetFile, file: string, keep: boolean): Promise<Uint8Array> {
  const remote = source.consistentSnapshot
    ? tufTargetDownloadPath({ path: target.path, length: target.length, sha256: sha256Of(target) })
    : `targets/${target.path}`;
  const url = `${source.repositoryUrl}${remote}`;
  const digests: [string, Hash][] = Object.keys(target.hashes).map((algorithm) => {
    try {
      return [algorithm, createHash(algorithm)];
    } catch {
      throw new AgentError('UPDATE_HASH_MISMATCH', `${target.path}: hash algorithm ${algorithm} not supported`);
    }
  });
  if (digests.length === 0) throw new AgentError('UPDATE_BAD_METADATA', `target ${target.path} lists no hashes`);
  const kept: Uint8Array[] = [];
  const length = await source.fetcher.downloadToFile(url, target.length, file, (chunk) => {
    for (const [, digest] of digests) digest.update(chunk);
    if (keep) kept.push(chunk);
  });
  if (length !== target.length) {
    throw new AgentError('UPDATE_HASH_MISMATCH', `${target.path}: expected length ${target.length}, got ${length}`);
  }
  for (const [algorithm, digest] of digests) {
    const actual = digest.digest('hex');
    if (actual !== target.hashes[algorithm]) {
      throw new AgentError('UPDATE_HASH_MISMATCH', `${target.path}: expected ${algorithm} ${target.hashes[algorithm]}, got ${actual}`);
    }
  }
  return keep ? Buffer.concat(kept) : new Uint8Array();
}
