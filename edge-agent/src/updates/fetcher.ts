/**
 * The fetcher tuf-js downloads every metadata and target file through. tuf-js passes the most it
 * will accept (the signed length of a target, a configured cap for metadata); this fetcher refuses a
 * larger declared length outright and aborts the stream the moment it goes past the cap (TUF §5.7.3;
 * the "endless data" attack). A total deadline and a stall deadline bound a slow-retrieval attack.
 * Redirects are followed only within the repository's origin.
 *
 * Requests go through `node:http`/`node:https` with keep-alive rather than `fetch`: a device polls
 * the repository every few seconds, and on loopback a small GET through `fetch` (undici and web
 * streams) costs about three times the CPU (`npm run bench:rollout` is bound by that CPU).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
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

/** Downloads are written to their file in batches of about this size. */
const WRITE_BATCH_BYTES = 1 << 20;

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

  /** Required by `BaseFetcher`; tuf-js calls {@link downloadFile} and {@link downloadBytes}, which do not use it. */
  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const res = await this.open(url, AbortSignal.timeout(this.limits.timeoutMs));
    return Readable.toWeb(res) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  override async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    await mkdir(this.options.tmpDir, { recursive: true });
    const tmp = join(this.options.tmpDir, `download-${randomBytes(8).toString('hex')}`);
    try {
      await this.downloadToFile(url, maxLength, tmp, () => {});
      return await handler(tmp);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * Downloads `url` straight into `path` (created or truncated), at most `maxLength` bytes, handing
   * each chunk to `inspect` too, and fsyncs the file before it resolves. Returns the length received.
   */
  async downloadToFile(url: string, maxLength: number, path: string, inspect: (chunk: Uint8Array) => void): Promise<number> {
    const file = await open(path, 'w');
    let received = 0;
    // Network chunks are small (16–64 KiB); they go to the file in writes of about 1 MiB.
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      for (let at = 0; at < bytes.byteLength; ) at += (await file.write(bytes, at)).bytesWritten;
    };
    try {
      await this.stream(url, maxLength, (chunk) => {
        received += chunk.byteLength;
        inspect(chunk);
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        return pendingBytes >= WRITE_BATCH_BYTES ? flush() : undefined;
      });
      if (pendingBytes > 0) await flush();
      await file.sync();
    } finally {
      await file.close();
    }
    return received;
  }

  /**
   * Metadata bytes, refused unless every signature is in canonical form (see `signature-form.ts`).
   * Held in memory under the same caps as {@link downloadFile} (tuf-js's own version goes through a
   * temporary file): metadata is small, and a device polls it often.
   */
  override async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    await this.stream(url, maxLength, (chunk) => {
      chunks.push(chunk);
    });
    const bytes = Buffer.concat(chunks);
    const problem = nonCanonicalSignature(url, bytes);
    if (problem) {
      this.lastFailure = problem;
      throw problem;
    }
    return bytes;
  }

  /** GETs `url` and hands each chunk to `sink`, under the size cap and both deadlines. */
  private async stream(url: string, maxLength: number, sink: (chunk: Uint8Array) => unknown): Promise<void> {
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
    try {
      arm();
      const res = await this.open(url, abort.signal);
      // Size cap, first check: a declared length beyond the cap is refused before any body is read.
      const declared = Number(res.headers['content-length'] ?? Number.NaN);
      if (declared > maxLength) throw tooLarge(declared);
      let received = 0;
      for await (const chunk of res as AsyncIterable<Buffer>) {
        received += chunk.byteLength;
        // Size cap, second check: stop reading (and drop the connection) as soon as it goes past.
        if (received > maxLength) throw tooLarge(received);
        await sink(chunk);
        arm();
        this.options.onProgress?.({ url, received, maxLength });
      }
    } catch (error) {
      // An error status was already discarded by `open` (drained for keep-alive, or cut); anything
      // else may leave a body in flight, which aborting cuts.
      if (!(error instanceof DownloadHTTPError)) abort.abort();
      const failure = reason ?? toFetchError(url, error);
      if (!(failure instanceof DownloadHTTPError)) this.lastFailure = failure as AgentError;
      throw failure;
    } finally {
      clearTimeout(total);
      clearTimeout(stall);
    }
  }

  /** GETs `url`, following same-origin redirects only. Throws tuf-js's `DownloadHTTPError` on a status. */
  private async open(url: string, signal: AbortSignal): Promise<IncomingMessage> {
    const origin = new URL(url).origin;
    let current = new URL(url);
    for (let hop = 0; ; hop++) {
      const res = await get(current, signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location) {
        discard(res);
        const next = new URL(location, current);
        if (next.origin !== origin) {
          throw new AgentError('UPDATE_REDIRECT_REFUSED', `${url}: redirect to another origin (${next.origin}) refused`);
        }
        if (hop >= this.limits.maxRedirects) throw new AgentError('UPDATE_REDIRECT_REFUSED', `${url}: too many redirects`);
        current = next;
        continue;
      }
      if (status < 200 || status >= 300) {
        discard(res);
        throw new DownloadHTTPError(`Failed to download ${url}: HTTP ${status}`, status);
      }
      return res;
    }
  }
}

/** One GET; resolves with the response once its headers are in. Aborting `signal` destroys it. */
function get(url: URL, signal: AbortSignal): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
  if (!request) return Promise.reject(new AgentError('UPDATE_FETCH_FAILED', `${url.href}: only http and https are supported`));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', signal, headers: { 'user-agent': 'edgeloop-agent' } }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** An error or redirect body is read to its end, so the connection can be reused, up to this size and time. */
const DRAIN_MAX_BYTES = 65_536;
const DRAIN_MAX_MS = 5_000;

/** Drops a response we will not read: drained in the background within the limits above, else cut. */
function discard(res: IncomingMessage): void {
  if (Number(res.headers['content-length'] ?? 0) > DRAIN_MAX_BYTES) return void res.destroy();
  let seen = 0;
  const timer = setTimeout(() => res.destroy(), DRAIN_MAX_MS).unref();
  res.on('data', (chunk: Buffer) => {
    seen += chunk.byteLength;
    if (seen > DRAIN_MAX_BYTES) res.destroy();
  });
  res.on('close', () => clearTimeout(timer));
  res.on('error', () => {}); // a cut connection is not our concern any more
}

function toFetchError(url: string, error: unknown): Error {
  if (error instanceof AgentError || error instanceof DownloadHTTPError) return error;
  return new AgentError('UPDATE_FETCH_FAILED', `${url}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
