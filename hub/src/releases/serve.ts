/**
 * Serving the repository read-only, as a static file server (or S3 behind a CDN) would: the path
 * below the base URL is the object-store key below the prefix. Only names of the published layout
 * are looked up; anything else is simply not found. `timestamp.json` is the one file that changes,
 * so it must be revalidated on every fetch; every other file is named by its version or its hash
 * and never changes.
 */
import type { ObjectStore } from '../storage/object-store.js';

const METADATA = /^metadata\/(?:timestamp|[1-9][0-9]{0,15}\.(?:root|snapshot|targets))\.json$/;
const TARGET = /^targets\/[A-Za-z0-9][A-Za-z0-9._-]{0,63}\/[1-9][0-9]{0,15}\/[0-9a-f]{64}\.(?:model\.onnx|manifest\.json)$/;

/** The object-store prefix of the repository; the hub serves it at `/tuf/`. */
export const TUF_PREFIX = 'tuf/';

/** Cache policies: a CDN may keep versioned files forever; the timestamp only until it changes. */
export const CACHE_MUTABLE = 'no-cache';
export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';

export interface RepositoryFile {
  bytes: Uint8Array;
  headers: Record<string, string>;
}

/** Whether `path` (relative to the repository's base URL) is a name the layout can hold. */
export function isRepositoryPath(path: string): boolean {
  return METADATA.test(path) || TARGET.test(path);
}

/** The file at `path` below the base URL, with its response headers; `undefined` when absent. */
export async function readRepositoryFile(store: ObjectStore, prefix: string, path: string): Promise<RepositoryFile | undefined> {
  if (!isRepositoryPath(path)) return undefined;
  const bytes = await store.get(`${prefix}${path}`);
  if (!bytes) return undefined;
  return {
    bytes,
    headers: {
      'content-type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      'content-length': String(bytes.byteLength),
      'cache-control': path === 'metadata/timestamp.json' ? CACHE_MUTABLE : CACHE_IMMUTABLE,
      'x-content-type-options': 'nosniff',
    },
  };
}
