/**
 * The repository's state, read back from the metadata in the object store: the store is the one
 * source of truth, so a hub restart, a second process (the `keys` CLI) or a copy of the bucket all
 * see the same repository, and nothing in the database can disagree with what clients are served.
 * Reads follow the path a client takes: the newest root, `timestamp.json`, the snapshot it names,
 * the targets the snapshot names.
 */
import { HubError } from '../errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type MetaEntry, metadataFile, parseMetadata, type RoleName, type RootSigned, type TargetEntry } from './metadata.js';

export interface RoleState {
  version: number;
  expires: string;
}

export interface RepositoryState {
  root: RoleState & { signed: RootSigned };
  targets: RoleState & { targets: Record<string, TargetEntry> };
  /** `meta` of the snapshot: what it says about `targets.json`. */
  snapshot: RoleState & { targetsMeta: MetaEntry };
  timestamp: RoleState & { snapshotMeta: MetaEntry };
}

/** Object-store keys of a repository below `prefix` (which ends in `/`). */
export class RepositoryKeys {
  constructor(readonly prefix: string) {}
  metadata(role: RoleName, version: number): string {
    return `${this.prefix}metadata/${metadataFile(role, version)}`;
  }
  target(hashedPath: string): string {
    return `${this.prefix}targets/${hashedPath}`;
  }
}

/** The newest root version in the store, or 0 when there is none. */
export async function latestRootVersion(store: ObjectStore, keys: RepositoryKeys): Promise<number> {
  let latest = 0;
  const prefix = `${keys.prefix}metadata/`;
  for await (const key of store.list(prefix)) {
    const m = /^([1-9][0-9]{0,15})\.root\.json$/.exec(key.slice(prefix.length));
    if (m) latest = Math.max(latest, Number(m[1]));
  }
  return latest;
}

async function read<T>(
  store: ObjectStore,
  key: string,
  role: RoleName,
): Promise<{ bytes: Uint8Array; doc: ReturnType<typeof parseMetadata<T>> }> {
  const bytes = await store.get(key);
  if (!bytes) throw new HubError('STORAGE_FAILED', `the release repository is missing ${key}`);
  try {
    return { bytes, doc: parseMetadata<T>(role, bytes) };
  } catch (cause) {
    throw new HubError('STORAGE_FAILED', `the release repository holds a malformed ${key}`, { cause });
  }
}

/** The current state; `undefined` when the repository was never initialised. */
export async function loadState(store: ObjectStore, keys: RepositoryKeys): Promise<RepositoryState | undefined> {
  const rootVersion = await latestRootVersion(store, keys);
  if (rootVersion === 0) return undefined;
  const root = (await read<RootSigned>(store, keys.metadata('root', rootVersion), 'root')).doc.signed as RootSigned;
  const ts = (await read<{ meta: Record<string, MetaEntry> }>(store, keys.metadata('timestamp', 0), 'timestamp')).doc.signed;
  const snapshotMeta = ts.meta['snapshot.json'];
  if (!snapshotMeta) throw new HubError('STORAGE_FAILED', 'timestamp.json names no snapshot');
  const snap = (await read<{ meta: Record<string, MetaEntry> }>(store, keys.metadata('snapshot', snapshotMeta.version), 'snapshot')).doc
    .signed;
  const targetsMeta = snap.meta['targets.json'];
  if (!targetsMeta) throw new HubError('STORAGE_FAILED', 'the snapshot names no targets');
  const tg = (await read<{ targets: Record<string, TargetEntry> }>(store, keys.metadata('targets', targetsMeta.version), 'targets')).doc
    .signed;
  return {
    root: { version: root.version, expires: root.expires, signed: root },
    targets: { version: tg.version, expires: tg.expires, targets: tg.targets },
    snapshot: { version: snap.version, expires: snap.expires, targetsMeta },
    timestamp: { version: ts.version, expires: ts.expires, snapshotMeta },
  };
}
