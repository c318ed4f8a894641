/**
 * Targets: where to download them, the download itself with its length and sha256 checks (TUF
 * §5.7), and the release convention the hub and edge agent share (`<model>/<version>/model.onnx`).
 */
import { checkLengthAndHash, downloadRequired } from './checks.js';
import type { TufRemote, TufTargetInfo } from './types.js';

const MODEL_FILE = 'model.onnx';

/**
 * A target's file name under consistent snapshots (TUF §5.7.3): the sha256 prefixed to the base
 * name, `<dir>/<sha256>.<base>`. The hub stores targets under it and clients fetch them by it.
 */
export function hashedTargetPath(path: string, sha256: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}${sha256}.${path.slice(slash + 1)}`;
}

/** The repository path to download a target from under consistent snapshots: `targets/<dir>/<sha256>.<base>`. */
export function tufTargetDownloadPath(target: TufTargetInfo): string {
  return `targets/${hashedTargetPath(target.path, target.sha256)}`;
}

/** Downloads a target with remote (cap = its signed length) and checks length then sha256 (TUF §5.7). Returns the bytes. */
export async function fetchVerifiedTarget(remote: TufRemote, target: TufTargetInfo): Promise<Uint8Array> {
  // §5.7.2: download at most the signed length (an endless-data attack stops there).
  const bytes = await downloadRequired(remote, tufTargetDownloadPath(target), target.length);
  // §5.7.3: the length, then the sha256, that the targets role signed.
  await checkLengthAndHash(target.path, bytes, { length: target.length, sha256: target.sha256 });
  return bytes;
}

/** The highest canonical-decimal version of `model` with a `<model>/<v>/model.onnx` target, if any. */
export function newestModelRelease(targets: Record<string, TufTargetInfo>, model: string): number | undefined {
  const prefix = `${model}/`;
  let newest: number | undefined;
  for (const path of Object.keys(targets)) {
    if (!path.startsWith(prefix) || !path.endsWith(`/${MODEL_FILE}`)) continue;
    const middle = path.slice(prefix.length, -MODEL_FILE.length - 1);
    // Canonical decimal only: "007" or "1e3" would name the same version twice.
    if (!/^[1-9][0-9]{0,15}$/.test(middle)) continue;
    const version = Number(middle);
    if (Number.isSafeInteger(version) && (newest === undefined || version > newest)) newest = version;
  }
  return newest;
}

/**
 * A remote for a repository that keeps its metadata one directory down, as the hub does
 * (`<base>/metadata/2.root.json`, `<base>/targets/…`): metadata paths get `dir` in front,
 * target paths pass through.
 */
export function withMetadataDir(remote: TufRemote, dir = 'metadata/'): TufRemote {
  return { get: (path, maxBytes) => remote.get(path.startsWith('targets/') ? path : `${dir}${path}`, maxBytes) };
}
