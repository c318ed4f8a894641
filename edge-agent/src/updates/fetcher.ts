/**
 * The fetcher tuf-js downloads every metadata and target file through. tuf-js passes the most it
 * will accept (the signed length of a target, a configured cap for metadata); this fetcher refuses a
 * larger declared length outright and aborts the stream the moment it goes past the cap (TUF §5.7.3;
 * the "endless data" attack). A total deadline and a stall deadline bound a slow-retrieval attack.
 * Redirects are followed only within the repository's origin.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseFetcher } from 'tuf-js';
// tuf-js recognises "no newer root" (TUF §5.3.3) only by this class and status 403/404; its index
// does not export it. tuf-js is pinned to 5.0.1.
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { AgentError } from '../errors.js';
import { nonCanonicalSignature } from './signature-form.js';

export interface FetchLimits {
  /** The whole download, from request to last byte. */
  timeoutMs: number;
  /** The longest wait for the next bytes (headers or body). */
  stallTimeoutMs: number;
  /** Same-origin redirects followed; one to another origin is always refused. */
  maxRedirects: number;
}

export const defaultFetchLimits: FetchLimits = { timeoutMs: 120_000, stallTimeoutMs: 15_000, maxRedirects: 3 };

export interface DownloadProgress {
  url: string;
  received: number;
  /** The cap: the signed length for a target. */
  maxLength: number;
}

export interface BoundedFetcherOptions {
  /** Where partial downloads go; `recover()` empties it. */
  tmpDir: string;
  limits?: Partial<FetchLimits>;
  onProgress?: (progress: DownloadProgress) => void;
}

export class BoundedFetcher extends BaseFetcher {
  /**
   * The last failure this fetcher raised. tuf-js flattens errors from the snapshot and targets steps
   * into a message string; this keeps their code.
   */
  lastFailure: AgentError | undefined;
  private readonly limits: FetchLimits;

  constructor(private readonly options: BoundedFetcherOptions) {
    super();
    this.limits = { ...defaultFetchLimits, ...options.limits };
  }

  /** Required by `BaseFetcher`; tuf-js only calls {@link downloadFile}, which does not use it. */
  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const res = await this.open(url, AbortSignal.timeout(this.limits.timeoutMs));
    return res.body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  override async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    await mkdir(this.options.tmpDir, { recursive: true });
    const tmp = join(this.options.tmpDir, `download-${randomBytes(8).toString('hex')}`);
    try {
      await this.stream(url, maxLength, tmp);
      return await handler(tmp);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Metadata bytes, refused unless every signature is in canonical form (see `signature-form.ts`). */
  override async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const bytes = await super.downloadBytes(url, maxLength);
    const problem = nonCanonicalSignature(url, bytes);
    if (problem) {
      this.lastFailure = problem;
      throw problem;
    }
    return bytes;
  }

  private async stream(url: string, maxLength: number, tmp: string): Promise<void> {
    const abort = new AbortController();
    let reason: AgentError | undefined;
    const fail = (error: AgentError) => {
      reason ??= error;
      abort.abort(error);
    };
    const { timeoutMs, stallTimeoutMs } = this.limits;
    const total = setTimeout(() => fail(new AgentError('UPDATE_TIMEOUT', `${url}: not complete within ${timeoutMs} ms`)), timeoutMs);
    let stall: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(stall);
      stall = setTimeout(() => fail(new AgentError('UPDATE_TIMEOUT', `${url}: no data for ${stallTimeoutMs} ms`)), stallTimeoutMs);
    };
    const tooLarge = (n: number) => new AgentError('UPDATE_TOO_LARGE', `${url}: ${n} bytes, over the ${maxLength}-byte signed length`);
    const file = await open(tmp, 'w');
    try {
      arm();
      const res = await this.open(url, abort.signal);
      // Size cap, first check: a declared length beyond the cap is refused before any body is read.
      const declared = Number(res.headers.get('content-length') ?? Number.NaN);
      if (declared > maxLength) throw tooLarge(declared);
      let received = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        received += chunk.byteLength;
        // Size cap, second check: stop reading (and drop the connection) as soon as it goes past.
        if (received > maxLength) throw tooLarge(received);
        await file.write(chunk);
        arm();
        this.options.onProgress?.({ url, received, maxLength });
      }
    } catch (error) {
      abort.abort();
      const failure = reason ?? toFetchError(url, error);
      if (!(failure instanceof DownloadHTTPError)) this.lastFailure = failure as AgentError;
      throw failure;
    } finally {
      clearTimeout(total);
      clearTimeout(stall);
      await file.close();
    }
  }

  /** GETs `url`, following same-origin redirects only. Throws tuf-js's `DownloadHTTPError` on a status. */
  private async open(url: string, signal: AbortSignal): Promise<Response> {
    const origin = new URL(url).origin;
    let current = url;
    for (let hop = 0; ; hop++) {
      const res = await fetch(current, { redirect: 'manual', signal, headers: { 'user-agent': 'edgeloop-agent' } });
      if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
        await res.body?.cancel();
        const next = new URL(res.headers.get('location') as string, current);
        if (next.origin !== origin) {
          throw new AgentError('UPDATE_REDIRECT_REFUSED', `${url}: redirect to another origin (${next.origin}) refused`);
        }
        if (hop >= this.limits.maxRedirects) throw new AgentError('UPDATE_REDIRECT_REFUSED', `${url}: too many redirects`);
        current = next.href;
        continue;
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        throw new DownloadHTTPError(`Failed to download ${url}: HTTP ${res.status}`, res.status);
      }
      return res;
    }
  }
}

function toFetchError(url: string, error: unknown): Error {
  if (error instanceof AgentError || error instanceof DownloadHTTPError) return error;
  return new AgentError('UPDATE_FETCH_FAILED', `${url}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
