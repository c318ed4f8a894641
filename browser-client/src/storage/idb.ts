/**
 * A small promise layer over IndexedDB, and the client's one database. Stores:
 * - `outbox`: sample frames waiting for the hub's ack, keyed by sample id (index `byAge`);
 * - `kv`: small JSON values (device credentials, sampler state, the last client config);
 * - `model`: the installed model (bytes, manifest, version) and the trusted TUF metadata, written
 *   together in one transaction so they can never disagree.
 */
import { ClientError } from '../errors.js';

export const DB_NAME = 'edgeloop';
const DB_VERSION = 1;
export type StoreName = 'outbox' | 'kv' | 'model';

/** Opens (and on first use creates) the client database. */
export function openDatabase(name = DB_NAME): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('outbox')) {
        db.createObjectStore('outbox', { keyPath: 'sampleId' }).createIndex('byAge', 'seq');
      }
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
      if (!db.objectStoreNames.contains('model')) db.createObjectStore('model');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new ClientError('STORAGE_FAILED', 'IndexedDB could not be opened', { cause: req.error }));
    // Another tab holds an older version open; it closes on `versionchange` (below).
    req.onblocked = () => undefined;
  });
}

/** A request's result as a promise. */
export function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Runs `body` in one transaction and resolves with its value once the transaction COMMITs (not
 * when the last request succeeds: only `complete` means durable).
 */
export function transact<T>(
  db: IDBDatabase,
  stores: StoreName | StoreName[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => T | Promise<T>,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(stores, mode, { durability: 'strict' });
    let value: T;
    tx.oncomplete = () => resolve(value);
    tx.onerror = () => reject(new ClientError('STORAGE_FAILED', `IndexedDB ${mode} transaction failed`, { cause: tx.error }));
    tx.onabort = () => reject(new ClientError('STORAGE_FAILED', 'IndexedDB transaction aborted', { cause: tx.error }));
    Promise.resolve()
      .then(() => body(tx))
      .then(
        (v) => {
          value = v;
        },
        (error) => {
          tx.abort();
          reject(error);
        },
      );
  });
}

/** Reads one `kv` value. */
export async function kvGet<T>(db: IDBDatabase, key: string): Promise<T | undefined> {
  return transact(db, 'kv', 'readonly', (tx) => request(tx.objectStore('kv').get(key) as IDBRequest<T | undefined>));
}

/** Writes one `kv` value. */
export function kvPut(db: IDBDatabase, key: string, value: unknown): Promise<void> {
  return transact(db, 'kv', 'readwrite', (tx) => {
    tx.objectStore('kv').put(value, key);
  });
}
