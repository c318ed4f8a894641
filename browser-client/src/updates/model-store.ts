/**
 * The installed model and the trusted TUF metadata, in the `model` store. An install writes the
 * model bytes, its manifest, its version and the newly trusted metadata in ONE transaction, so a
 * crash or a closed tab leaves either the old state or the new one, never a mix.
 *
 * The model record is also the model's offline cache: a reload without network loads it from here.
 */
import { decodeJson, type ModelManifest } from '@edgeloop/protocol';
import { request, transact } from '../storage/idb.js';
import type { TufTrustedBytes } from './tuf.js';

export interface InstalledModel {
  version: number;
  manifest: ModelManifest;
  modelBytes: Uint8Array;
  installedAt: string;
}

interface ModelRecord {
  version: number;
  manifestBytes: Uint8Array;
  modelBytes: Uint8Array;
  installedAt: string;
}

const CURRENT = 'current';
const TRUSTED = 'trusted';

/** The installed model, if any and if its stored manifest still decodes. */
export async function loadInstalled(db: IDBDatabase): Promise<InstalledModel | undefined> {
  const r = await transact(db, 'model', 'readonly', (tx) =>
    request(tx.objectStore('model').get(CURRENT) as IDBRequest<ModelRecord | undefined>),
  );
  if (!r) return undefined;
  const manifest = decodeJson('manifest', r.manifestBytes);
  if (!manifest.ok) return undefined;
  return { version: r.version, manifest: manifest.value, modelBytes: r.modelBytes, installedAt: r.installedAt };
}

/** The trusted TUF metadata, if this browser has any yet. */
export function loadTrusted(db: IDBDatabase): Promise<TufTrustedBytes | undefined> {
  return transact(db, 'model', 'readonly', (tx) =>
    request(tx.objectStore('model').get(TRUSTED) as IDBRequest<TufTrustedBytes | undefined>),
  );
}

/**
 * Trust on first use: stores the initial root only when no root is trusted yet. After that the
 * root changes only through TUF root rotation (a verified refresh), never from the network again.
 */
export function trustInitialRoot(db: IDBDatabase, root: Uint8Array): Promise<TufTrustedBytes> {
  return transact(db, 'model', 'readwrite', async (tx) => {
    const store = tx.objectStore('model');
    const existing = (await request(store.get(TRUSTED))) as TufTrustedBytes | undefined;
    if (existing) return existing;
    const trusted = { root };
    store.put(trusted, TRUSTED);
    return trusted;
  });
}

/** Persists refreshed metadata on its own (a check that found nothing new still moves time on). */
export function saveTrusted(db: IDBDatabase, trusted: TufTrustedBytes): Promise<void> {
  return transact(db, 'model', 'readwrite', (tx) => {
    tx.objectStore('model').put(trusted, TRUSTED);
  });
}

/** Installs a verified, self-tested release and the metadata that vouched for it, atomically. */
export function installModel(
  db: IDBDatabase,
  release: { version: number; manifestBytes: Uint8Array; modelBytes: Uint8Array },
  trusted: TufTrustedBytes,
): Promise<void> {
  return transact(db, 'model', 'readwrite', async (tx) => {
    const store = tx.objectStore('model');
    const current = (await request(store.get(CURRENT))) as ModelRecord | undefined;
    // Checked again inside the transaction: another tab may have installed a newer one meanwhile.
    if (current && current.version >= release.version) return;
    const record: ModelRecord = { ...release, installedAt: new Date().toISOString() };
    store.put(record, CURRENT);
    store.put(trusted, TRUSTED);
  });
}
