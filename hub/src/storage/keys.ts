/**
 * The one rule for object keys, shared by every store so that a key valid on one is valid on all:
 * a key that would escape a directory on `fs` or mean something else on S3 is refused before any
 * I/O happens.
 */
import { HubError } from '../errors.js';

/** S3 caps keys at 1024 bytes of UTF-8; we use the same cap everywhere. */
export const MAX_KEY_BYTES = 1024;
/** Most file systems (ext4, xfs, apfs) cap one path segment at 255 bytes. */
export const MAX_SEGMENT_BYTES = 255;

// C0 controls and DEL: NUL ends C strings, and XML 1.0 (S3 listings) cannot carry most others.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `key` is not a valid object key, or `undefined` when it is. */
export function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'it is empty';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  if (CONTROL.test(key)) return 'it contains a control character (NUL included)';
  if (key.includes('\\')) return 'it contains a backslash';
  if (key.startsWith('/')) return 'it starts with "/" (keys are relative)';
  for (const segment of key.split('/')) {
    if (segment === '') return 'it has an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `it has a "${segment}" segment`;
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/**
 * Throws `HubError('BAD_REQUEST')` unless `key` is relative, `/`-separated, with no empty, `.` or
 * `..` segments, no backslash or control character, and at most {@link MAX_KEY_BYTES} bytes.
 */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key);
  if (problem !== undefined) throw new HubError('BAD_REQUEST', `invalid object key ${JSON.stringify(key)}: ${problem}`);
}

/**
 * Throws unless `prefix` could begin a valid key: `''`, `a`, `a/` and `a/b` pass; `../`, `/a`
 * and `a//` do not.
 */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  // A prefix is valid when some key starting with it is: complete it with one harmless character.
  const problem = keyProblem(`${prefix}x`);
  if (problem !== undefined) throw new HubError('BAD_REQUEST', `invalid object key prefix ${JSON.stringify(prefix)}: ${problem}`);
}

/** Compares keys by their UTF-8 bytes, the order S3 lists them in. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
