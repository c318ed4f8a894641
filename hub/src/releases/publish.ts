/**
 * Publishing one release: the two target files go into the store under their hashes (new names
 * only), then new targets, snapshot and timestamp metadata are signed (see `writer.ts`). Versions
 * of a model only go up; the same release published again is a no-op, so a pipeline step that is
 * retried after a crash never signs twice.
 */
import { decodeJson, isModelName } from '@edgeloop/protocol';
import { HubError } from '../errors.js';
import { hashedTargetPath, sha256Hex, type TargetEntry } from './metadata.js';
import { pruneReleases, releasesOf, releaseTargets } from './release-paths.js';
import type { OperationContext, ReleaseRepository, RepositoryVersions } from './repository.js';

export interface ReleaseInput {
  model: string;
  version: number;
  onnxBytes: Uint8Array;
  /** The protocol's model manifest (`encodeJson('manifest', …)`) describing exactly `onnxBytes`. */
  manifestBytes: Uint8Array;
}

export interface PublishedRelease {
  model: string;
  version: number;
  /** The two target paths (`<model>/<version>/model.onnx`, `…/manifest.json`). */
  paths: { model: string; manifest: string };
  versions: RepositoryVersions;
  /** True when this exact release was already listed (a retry): nothing was signed. */
  alreadyPublished: boolean;
}

export function versionsOf(state: OperationContext['state']): RepositoryVersions {
  return { root: state.root.version, targets: state.targets.version, snapshot: state.snapshot.version, timestamp: state.timestamp.version };
}

/** A release must describe itself: the manifest's name, version, sha256 and length are the release's. */
export function checkRelease(r: ReleaseInput): void {
  if (!isModelName(r.model)) throw new HubError('BAD_REQUEST', `invalid model name ${JSON.stringify(r.model)}`);
  if (!Number.isSafeInteger(r.version) || r.version < 1) throw new HubError('BAD_REQUEST', `invalid version ${r.version}`);
  if (r.onnxBytes.byteLength === 0) throw new HubError('BAD_REQUEST', 'the model is empty');
  const decoded = decodeJson('manifest', r.manifestBytes);
  if (!decoded.ok) throw new HubError('BAD_REQUEST', `the manifest is invalid: ${decoded.error.message}`);
  const m = decoded.value;
  const problems: string[] = [];
  if (m.name !== r.model) problems.push(`name ${m.name}`);
  if (m.version !== r.version) problems.push(`version ${m.version}`);
  if (m.model.sha256 !== sha256Hex(r.onnxBytes)) problems.push('model sha256');
  if (m.model.length !== r.onnxBytes.byteLength) problems.push('model length');
  if (problems.length > 0)
    throw new HubError('BAD_REQUEST', `the manifest disagrees with ${r.model} v${r.version}: ${problems.join(', ')}`);
}

export async function publish(repo: ReleaseRepository, ctx: OperationContext, release: ReleaseInput): Promise<PublishedRelease> {
  const paths = releaseTargets(release.model, release.version);
  const files: [string, Uint8Array][] = [
    [paths.model, release.onnxBytes],
    [paths.manifest, release.manifestBytes],
  ];
  const result = (alreadyPublished: boolean, versions: RepositoryVersions): PublishedRelease => ({
    model: release.model,
    version: release.version,
    paths,
    versions,
    alreadyPublished,
  });
  const listed = ctx.state.targets.targets;
  if (files.every(([path, bytes]) => listed[path]?.hashes.sha256 === sha256Hex(bytes))) return result(true, versionsOf(ctx.state));
  const highest = releasesOf(listed, release.model).at(-1) ?? 0;
  if (release.version <= highest)
    throw new HubError('CONFLICT', `${release.model} v${release.version} is not above the newest release v${highest}: versions only go up`);
  const targets: Record<string, TargetEntry> = { ...listed };
  for (const [path, bytes] of files) {
    const entry = { length: bytes.byteLength, hashes: { sha256: sha256Hex(bytes) } };
    const contentType = path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    await repo.store.put(repo.paths.target(hashedTargetPath(path, entry.hashes.sha256)), bytes, { contentType });
    targets[path] = entry;
  }
  return result(false, await repo.chain(ctx, 'targets', pruneReleases(targets, release.model, repo.keepReleases)));
}
