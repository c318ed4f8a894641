/**
 * How a model release appears in the TUF repository (see `docs/updates.md`): two targets,
 * `<model>/<version>/model.onnx` and `<model>/<version>/manifest.json`, listed in the top-level
 * targets metadata. The version is read from the signed path, so the targets role's signature
 * covers it; no custom field is needed.
 */

import { decodeJson, type ModelManifest } from '@edgeloop/protocol';
import type { TargetFile, Targets } from '@tufjs/models';
import type { Updater } from 'tuf-js';
import { AgentError } from '../errors.js';
import type { TrustedMetadata } from './trusted-metadata.js';

export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';

/** The two target paths of a release. */
export function releasePaths(name: string, version: number): { model: string; manifest: string } {
  return { model: `${name}/${version}/${MODEL_FILE}`, manifest: `${name}/${version}/${MANIFEST_FILE}` };
}

/** The highest version of `name` the targets metadata lists a model for, if any. */
export function newestRelease(targets: Targets, name: string): number | undefined {
  const prefix = `${name}/`;
  let newest: number | undefined;
  for (const path of Object.keys(targets.targets)) {
    if (!path.startsWith(prefix) || !path.endsWith(`/${MODEL_FILE}`)) continue;
    const middle = path.slice(prefix.length, -MODEL_FILE.length - 1);
    // Canonical decimal only: "007" or "1e3" would name the same version twice.
    if (!/^[1-9][0-9]{0,15}$/.test(middle)) continue;
    const version = Number(middle);
    if (Number.isSafeInteger(version) && (newest === undefined || version > newest)) newest = version;
  }
  return newest;
}

/** The sha256 a target lists; a release without one is refused (we verify models by sha256). */
export function sha256Of(target: Pick<TargetFile, 'hashes' | 'path'>): string {
  const hash = target.hashes.sha256;
  if (!hash || !/^[0-9a-f]{64}$/.test(hash)) throw new AgentError('UPDATE_BAD_METADATA', `target ${target.path} lists no sha256`);
  return hash;
}

/**
 * Decodes a release's manifest and checks it describes this release: same name and version as the
 * path, and the sha256 and length of the model target the targets role signed.
 */
export function checkManifest(bytes: Uint8Array, name: string, version: number, model: TargetFile): ModelManifest {
  const decoded = decodeJson('manifest', bytes);
  if (!decoded.ok) throw new AgentError('UPDATE_MANIFEST_MISMATCH', `manifest of ${name} v${version}: ${decoded.error.message}`);
  const m = decoded.value;
  const problems: string[] = [];
  if (m.name !== name) problems.push(`name ${m.name}`);
  if (m.version !== version) problems.push(`version ${m.version}`);
  if (m.model.sha256 !== sha256Of(model)) problems.push(`model sha256 ${m.model.sha256} (signed target: ${model.hashes.sha256})`);
  if (m.model.length !== model.length) problems.push(`model length ${m.model.length} (signed target: ${model.length})`);
  if (problems.length > 0) {
    throw new AgentError('UPDATE_MANIFEST_MISMATCH', `manifest disagrees with release ${name} v${version}: ${problems.join(', ')}`);
  }
  return m;
}

/**
 * The release to install: the newest one, if it is above `highest` (the highest version ever
 * installed: versions never go down), complete, and within the size the device accepts. Undefined
 * when the device already has the newest.
 */
export async function chooseRelease(
  updater: Updater,
  trusted: TrustedMetadata,
  name: string,
  highest: number,
  maxModelBytes = 2 ** 30,
): Promise<{ version: number; model: TargetFile; manifest: TargetFile } | undefined> {
  const version = trusted.targets ? newestRelease(trusted.targets.signed, name) : undefined;
  if (version === undefined) throw new AgentError('UPDATE_NOT_FOUND', `the repository has no release of ${name}`);
  if (version < highest) throw new AgentError('UPDATE_VERSION_NOT_NEWER', `newest release v${version} is below the installed v${highest}`);
  if (version === highest) return undefined;
  const paths = releasePaths(name, version);
  const model = await updater.getTargetInfo(paths.model);
  const manifest = await updater.getTargetInfo(paths.manifest);
  if (!model || !manifest) throw new AgentError('UPDATE_NOT_FOUND', `release v${version} lacks ${model ? paths.manifest : paths.model}`);
  if (model.length > maxModelBytes) throw new AgentError('UPDATE_TOO_LARGE', `${paths.model} is signed as ${model.length} bytes`);
  return { version, model, manifest };
}
