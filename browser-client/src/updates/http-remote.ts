/**
 * A {@link TufRemote} over `fetch`. The size cap is enforced while streaming, so a hostile server
 * cannot make the browser buffer more than `maxBytes` (TUF §5.2.2: the length limit comes before any
 * parsing). Nothing under the repository is cached by the HTTP cache or the service worker: the
 * timestamp must be fresh, and verified bytes live in IndexedDB.
 */
import { TufError, type TufRemote } from './tuf.js';

/** Fetches `base + path`; undefined on 404. */
export function httpRemote(base: string, fetcher: typeof fetch = (...a) => fetch(...a)): TufRemote {
  return {
    async get(path, maxBytes) {
      let res: Response;
      try {
        res = await fetcher(new URL(path, base).href, { cache: 'no-store', credentials: 'same-origin' });
      } catch (cause) {
        throw new TufError('TUF_FETCH_FAILED', `could not fetch ${path}`, { cause });
      }
      if (res.status === 404) return undefined;
      if (!res.ok) throw new TufError('TUF_FETCH_FAILED', `${path}: HTTP ${res.status}`);
      const declared = Number(res.headers.get('content-length') ?? Number.NaN);
      if (declared > maxBytes) throw new TufError('TUF_TOO_LARGE', `${path} is ${declared} bytes, over its ${maxBytes}-byte cap`);
      return readCapped(res, path, maxBytes);
    },
  };
}

async function readCapped(res: Response, path: string, maxBytes: number): Promise<Uint8Array> {
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array(await res.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new TufError('TUF_TOO_LARGE', `${path} is over its ${maxBytes}-byte cap`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
