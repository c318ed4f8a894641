/**
 * How a release appears in the targets metadata (the contract the edge agent reads, see
 * `edge-agent/docs/updates.md`): `<model>/<version>/model.onnx` and `<model>/<version>/manifest.json`,
 * the version in canonical decimal. The version lives in the signed path, so no custom field.
 */
import type { TargetEntry } from './metadata.js';

export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'manifest.json';

export function releaseTargets(model: string, version: number): { model: string; manifest: string } {
  return { model: `${model}/${version}/${MODEL_FILE}`, manifest: `${model}/${version}/${MANIFEST_FILE}` };
}

/** The version a target path belongs to when it is a file of a release of `model`. */
function versionOf(path: string, model: string): number | undefined {
  const prefix = `${model}/`;
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length);
  const slash = rest.indexOf('/');
  const file = rest.slice(slash + 1);
  if (slash < 0 || (file !== MODEL_FILE && file !== MANIFEST_FILE)) return undefined;
  const digits = rest.slice(0, slash);
  return /^[1-9][0-9]{0,15}$/.test(digits) ? Number(digits) : undefined;
}

/** The versions of `model` with a model file listed, oldest first. */
export function releasesOf(targets: Record<string, TargetEntry>, model: string): number[] {
  const versions = new Set<number>();
  for (const path of Object.keys(targets)) {
    if (path.endsWith(`/${MODEL_FILE}`)) {
      const v = versionOf(path, model);
      if (v !== undefined) versions.add(v);
    }
  }
  return [...versions].sort((a, b) => a - b);
}

/**
 * Keeps the newest `keep` releases of `model` listed (devices re-verify their installed files
 * against them; the agent falls back to what it recorded at install for older ones). The files of
 * the dropped ones stay in the store: older snapshots still name them.
 */
export function pruneReleases(targets: Record<string, TargetEntry>, model: string, keep: number): Record<string, TargetEntry> {
  const versions = releasesOf(targets, model);
  const drop = new Set(versions.slice(0, Math.max(0, versions.length - keep)));
  if (drop.size === 0) return targets;
  const out: Record<string, TargetEntry> = {};
  for (const [path, entry] of Object.entries(targets)) {
    const v = versionOf(path, model);
    if (v === undefined || !drop.has(v)) out[path] = entry;
  }
  return out;
}
