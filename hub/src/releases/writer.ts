/**
 * Writes new online metadata into the store, in the order that keeps the repository consistent for
 * a reader at every instant: a new targets file, then the snapshot that names it, then
 * `timestamp.json` last. Only `timestamp.json` is ever overwritten (one atomic put), and every file
 * it can name is already in place, so a client sees either the old repository or the new one.
 */
import type { ObjectStore } from '../storage/object-store.js';
import type { RepoKey } from './keys.js';
import {
  type MetaEntry,
  metaOf,
  type OnlineRole,
  type RoleName,
  SPEC_VERSION,
  signMetadata,
  type TargetEntry,
  tufDate,
} from './metadata.js';
import type { RepositoryKeys, RepositoryState } from './state.js';

export interface ChainOptions {
  store: ObjectStore;
  keys: RepositoryKeys;
  state: RepositoryState;
  /** Signing keys per role (more than the root lists while a key rotates: old and new). */
  signers: Record<OnlineRole, readonly RepoKey[]>;
  now: Date;
  expiries: Record<RoleName, number>;
  /** The first role to re-sign; the ones below it follow (targets → snapshot → timestamp). */
  from: OnlineRole;
  /** The new target list, when `from` is `targets` (default: the current one). */
  targets?: Record<string, TargetEntry>;
}

export interface OnlineVersions {
  targets: number;
  snapshot: number;
  timestamp: number;
}

const JSON_TYPE = { contentType: 'application/json' };

/** Signs and writes `from` and every role below it; returns the new versions. */
export async function writeOnlineChain(o: ChainOptions): Promise<OnlineVersions> {
  const expires = (role: RoleName) => tufDate(new Date(o.now.getTime() + o.expiries[role]));
  const put = async (role: OnlineRole, version: number, body: object): Promise<Uint8Array> => {
    const signed = { _type: role, spec_version: SPEC_VERSION, version, expires: expires(role), ...body };
    const bytes = signMetadata(role, signed, o.signers[role]);
    await o.store.put(o.keys.metadata(role, version), bytes, JSON_TYPE);
    return bytes;
  };
  const versions: OnlineVersions = {
    targets: o.state.targets.version,
    snapshot: o.state.snapshot.version,
    timestamp: o.state.timestamp.version,
  };
  let targetsMeta: MetaEntry = o.state.snapshot.targetsMeta;
  let snapshotMeta: MetaEntry = o.state.timestamp.snapshotMeta;
  if (o.from === 'targets') {
    versions.targets += 1;
    targetsMeta = metaOf(await put('targets', versions.targets, { targets: o.targets ?? o.state.targets.targets }), versions.targets);
  }
  if (o.from !== 'timestamp') {
    versions.snapshot += 1;
    snapshotMeta = metaOf(await put('snapshot', versions.snapshot, { meta: { 'targets.json': targetsMeta } }), versions.snapshot);
  }
  versions.timestamp += 1;
  await put('timestamp', versions.timestamp, { meta: { 'snapshot.json': snapshotMeta } });
  return versions;
}
