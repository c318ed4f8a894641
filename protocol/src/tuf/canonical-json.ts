/**
 * Canonical JSON as TUF signs it (the OLPC form securesystemslib and `@tufjs/canonical-json`
 * write): object keys sorted by UTF-16 code units, no whitespace, integers only, and strings with
 * only `\` and `"` escaped (every other character, control characters included, is written as is).
 */
import { utf8Encoder } from '../bytes.js';

/** Canonical JSON (OLPC / securesystemslib form that TUF signs) of a JSON value, as UTF-8 bytes. */
export function canonicalJson(value: unknown): Uint8Array {
  return utf8Encoder.encode(canonicalString(value));
}

/** The canonical JSON text of a value; throws a TypeError on anything JSON cannot hold or TUF forbids (floats). */
export function canonicalString(value: unknown): string {
  if (value === null || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    // OLPC canonical JSON has no floats; TUF metadata holds integers only.
    if (!Number.isInteger(value)) throw new TypeError(`canonical JSON has no non-integer numbers (${value})`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalString).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const parts = Object.keys(obj)
      .sort()
      .map((k) => `${quote(k)}:${canonicalString(obj[k])}`);
    return `{${parts.join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
