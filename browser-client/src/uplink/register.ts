/**
 * Device credentials. A browser registers once (`POST /browser/register`) and keeps its device id
 * and secret in IndexedDB for good; it registers again only when the broker refuses them (the hub
 * revoked the device).
 */
import { isDeviceId } from '@edgeloop/protocol';
import { ClientError } from '../errors.js';
import { kvGet, kvPut } from '../storage/idb.js';

export interface Credentials {
  deviceId: string;
  secret: string;
}

const KEY = 'credentials';

/** The stored credentials, if this browser ever registered. */
export async function storedCredentials(db: IDBDatabase): Promise<Credentials | undefined> {
  const c = await kvGet<Credentials>(db, KEY);
  return c && isDeviceId(c.deviceId) && typeof c.secret === 'string' ? c : undefined;
}

/** Registers with the hub and stores the new credentials (replacing revoked ones). */
export async function register(db: IDBDatabase, registerUrl: string, fetcher: typeof fetch = fetch): Promise<Credentials> {
  let res: Response;
  try {
    res = await fetcher(registerUrl, { method: 'POST', cache: 'no-store', credentials: 'same-origin' });
  } catch (cause) {
    throw new ClientError('REGISTER_FAILED', 'could not reach the hub to register', { cause });
  }
  if (res.status !== 201 && res.status !== 200) throw new ClientError('REGISTER_FAILED', `registration refused (HTTP ${res.status})`);
  const body = (await res.json().catch(() => undefined)) as Partial<Credentials> | undefined;
  if (!body || typeof body.deviceId !== 'string' || !isDeviceId(body.deviceId) || typeof body.secret !== 'string' || !body.secret) {
    throw new ClientError('REGISTER_FAILED', 'registration answer has no valid deviceId and secret');
  }
  const creds = { deviceId: body.deviceId, secret: body.secret };
  await kvPut(db, KEY, creds);
  return creds;
}

/** The stored credentials, registering first when there are none. */
export async function ensureCredentials(db: IDBDatabase, registerUrl: string): Promise<Credentials> {
  return (await storedCredentials(db)) ?? register(db, registerUrl);
}
