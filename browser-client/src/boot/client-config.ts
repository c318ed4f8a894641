/**
 * Loading the hub's client config: network first (it may change), else the last good copy from
 * IndexedDB (offline), else the defaults (classify only). The service worker also keeps a copy, so
 * the fetch itself may be answered offline.
 */
import { type ClientConfig, defaultClientConfig, parseClientConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { kvGet, kvPut } from '../storage/idb.js';

const KEY = 'client-config';

export async function loadClientConfig(db: IDBDatabase, url = '/client-config.json'): Promise<{ config: ClientConfig; problem?: string }> {
  try {
    const res = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const config = parseClientConfig(await res.json());
    await kvPut(db, KEY, config).catch(() => undefined);
    return { config };
  } catch (error) {
    const stored = await kvGet<unknown>(db, KEY).catch(() => undefined);
    if (stored !== undefined) {
      try {
        return { config: parseClientConfig(stored) };
      } catch {
        // fall through to the defaults
      }
    }
    return { config: defaultClientConfig, problem: `client-config.json unavailable (${errorMessage(error)})` };
  }
}
