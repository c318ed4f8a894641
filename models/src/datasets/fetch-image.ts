/**
 * Bounded image download: http(s) only, a timeout per attempt, a byte cap enforced while
 * streaming (not after), an image content type, magic bytes, and retries with exponential backoff
 * for network errors, 429 and 5xx only. Anything else fails at once with the reason.
 */
import { concatBytes } from '../bytes.js';
import { ModelsError } from '../errors.js';
import { sniffImageFormat } from '../preprocess/sniff.js';

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  /** Attempts after the first. */
  retries: number;
  /** First backoff delay; doubles each retry. */
  backoffMs: number;
}

export const defaultFetchLimits: FetchLimits = { timeoutMs: 10_000, maxBytes: 10_000_000, retries: 2, backoffMs: 250 };

class Retryable extends Error {}

async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw new ModelsError('FETCH_FAILED', `content-length ${declared} is over the ${maxBytes}-byte cap`);
  if (!res.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ModelsError('FETCH_FAILED', `body is over the ${maxBytes}-byte cap`);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

async function attempt(url: URL, limits: FetchLimits, fetchImpl: typeof fetch): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetchImpl(url, { signal: AbortSignal.timeout(limits.timeoutMs), redirect: 'follow' });
  } catch (cause) {
    throw new Retryable(`request failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  if (res.status === 429 || res.status >= 500) {
    await res.body?.cancel();
    throw new Retryable(`HTTP ${res.status}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new ModelsError('FETCH_FAILED', `HTTP ${res.status}`);
  }
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!type.startsWith('image/')) {
    await res.body?.cancel();
    throw new ModelsError('FETCH_FAILED', `content type "${type || 'none'}" is not an image`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readCapped(res, limits.maxBytes);
  } catch (e) {
    if (e instanceof ModelsError) throw e;
    throw new Retryable(`body read failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (!sniffImageFormat(bytes)) throw new ModelsError('FETCH_FAILED', 'body is not a PNG, JPEG or WebP image (magic bytes)');
  return bytes;
}

/** Downloads one image within the limits, or throws a `FETCH_FAILED` {@link ModelsError} saying why. */
export async function fetchImage(
  url: string,
  limits: FetchLimits = defaultFetchLimits,
  fetchImpl: typeof fetch = fetch,
): Promise<Uint8Array> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new ModelsError('FETCH_FAILED', `not a URL: ${url}`, { cause });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ModelsError('FETCH_FAILED', `only http(s) URLs are fetched, not ${parsed.protocol}`);
  let lastError: Error | undefined;
  for (let i = 0; i <= limits.retries; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, limits.backoffMs * 2 ** (i - 1)));
    try {
      return await attempt(parsed, limits, fetchImpl);
    } catch (e) {
      if (!(e instanceof Retryable)) throw e;
      lastError = e;
    }
  }
  throw new ModelsError('FETCH_FAILED', `${lastError?.message ?? 'failed'} (after ${limits.retries + 1} attempts)`, { cause: lastError });
}
