/**
 * The few hub HTTP calls the simulator makes, through the hub's public admin API (never its
 * internals), so it drives an in-process hub and a remote one alike.
 */
import { LoadtestsError } from './errors.js';

export interface HubClientOptions {
  hubUrl: string;
  adminToken: string;
  /** Sent as `x-edgeloop-actor`: who the hub's audit log records for each admin action. */
  actor?: string;
}

export interface HubClient {
  /** A JSON admin call; throws `HUB_REQUEST_FAILED` (with `status`) on a non-2xx answer. */
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Issues device credentials (`POST /devices`). */
  createDevice(deviceId: string): Promise<{ deviceId: string; secret: string }>;
}

/** A failed call keeps the hub's status, so callers can tell a 409 from an outage. */
export class HubRequestError extends LoadtestsError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('HUB_REQUEST_FAILED', message);
  }
}

export function hubClient(o: HubClientOptions): HubClient {
  const base = o.hubUrl.replace(/\/+$/, '');
  const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${o.adminToken}` };
    if (o.actor) headers['x-edgeloop-actor'] = o.actor;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new HubRequestError(res.status, `${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    request,
    createDevice: (deviceId) => request('POST', '/devices', { deviceId, note: 'fleet simulator' }),
  };
}

/**
 * The first root of a TUF repository (`<repositoryUrl>metadata/1.root.json`). A real device is
 * provisioned with it at manufacture; the simulator fetches it from the hub it is about to trust,
 * which is trust on first use: fine for a simulation, never for a fleet.
 */
export async function fetchInitialRoot(repositoryUrl: string): Promise<Uint8Array> {
  const url = new URL('metadata/1.root.json', repositoryUrl).href;
  const res = await fetch(url);
  if (!res.ok) throw new LoadtestsError('HUB_REQUEST_FAILED', `GET ${url}: ${res.status} (is the release repository initialised?)`);
  return new Uint8Array(await res.arrayBuffer());
}
