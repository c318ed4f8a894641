/** The checks every role shares, each named for the TUF §5 steps that use it. */
import { sha256Hex } from '../bytes.js';
import { TufError } from '../errors.js';
import type { MetaFile } from './schema.js';
import type { TufRemote } from './types.js';

/**
 * Fetches `path` with at most `maxBytes` (§5.2.1, §5.4.1, §5.5.1, §5.6.1: an upper bound on every
 * download). A 404 is `undefined` here; the caller decides whether the file was required. A remote
 * that returns more than it was allowed is refused before anything parses the bytes.
 */
export async function download(remote: TufRemote, path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await remote.get(path, maxBytes);
  } catch (cause) {
    if (cause instanceof TufError) throw cause;
    throw new TufError('TUF_FETCH_FAILED', `cannot fetch ${path}`, { cause });
  }
  if (bytes && bytes.byteLength > maxBytes)
    throw new TufError('TUF_TOO_LARGE', `${path} is ${bytes.byteLength} bytes, over the cap of ${maxBytes}`);
  return bytes;
}

/** Like {@link download}, for a file the repository must have: a 404 is `TUF_NOT_FOUND`. */
export async function downloadRequired(remote: TufRemote, path: string, maxBytes: number): Promise<Uint8Array> {
  const bytes = await download(remote, path, maxBytes);
  if (!bytes) throw new TufError('TUF_NOT_FOUND', `the repository has no ${path}`);
  return bytes;
}

/** The download cap for a file its parent describes: the signed length when given (§5.5.1, §5.6.1). */
export function capFor(meta: MetaFile, roleCap: number): number {
  return meta.length === undefined ? roleCap : Math.min(meta.length, roleCap);
}

/**
 * §5.5.2 (snapshot against the timestamp), §5.6.2 (targets against the snapshot), §5.7.3
 * (targets): the length, then the sha256 the parent signed. Catches mix-and-match of files from
 * different repository states before their signatures are even read.
 */
export async function checkLengthAndHash(what: string, bytes: Uint8Array, expected: { length?: number; sha256?: string }): Promise<void> {
  if (expected.length !== undefined && bytes.byteLength !== expected.length)
    throw new TufError('TUF_BAD_LENGTH', `${what} is ${bytes.byteLength} bytes; ${expected.length} were signed`);
  if (expected.sha256 !== undefined && (await sha256Hex(bytes)) !== expected.sha256)
    throw new TufError('TUF_BAD_HASH', `${what} does not have the signed sha256 ${expected.sha256}`);
}

/** §5.3.10, §5.4.4, §5.5.6, §5.6.5 (freeze attacks): expired metadata, by the injected clock. */
export function checkNotExpired(what: string, signed: { expires: string }, now: Date): void {
  if (Date.parse(signed.expires) <= now.getTime())
    throw new TufError('TUF_EXPIRED', `${what} expired at ${signed.expires} (now ${now.toISOString()})`);
}

/**
 * §5.3.5 (root N+1), §5.5.4 (snapshot = the timestamp's), §5.6.4 (targets = the snapshot's): the
 * version must be exactly the one named. Lower is a rollback (an old file served under a new name);
 * higher is a file the signing parent does not describe.
 */
export function checkVersionIs(what: string, actual: number, expected: number): void {
  if (actual < expected) throw new TufError('TUF_ROLLBACK', `${what} is version ${actual}; expected ${expected}`);
  if (actual > expected) throw new TufError('TUF_BAD_METADATA', `${what} is version ${actual}; expected ${expected}`);
}

/** §5.4.3, §5.5.5: a trusted version never goes down. */
export function checkNotLower(what: string, actual: number, trusted: number): void {
  if (actual < trusted) throw new TufError('TUF_ROLLBACK', `${what} is version ${actual}, below the trusted ${trusted}`);
}
