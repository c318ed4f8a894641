/**
 * The one place an object store is chosen: by the scheme of its URL.
 *
 * - `file:///abs/dir`, or a path relative to the cwd such as `file://./data/objects`.
 * - `s3://[KEY:SECRET@]bucket[/prefix][?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true]`;
 *   the key and secret are URL-decoded (write `/` as `%2F`); without them the SDK's default
 *   credential chain applies.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubError } from '../errors.js';
import { FsObjectStore } from './fs.js';
import { keyProblem } from './keys.js';
import type { ObjectStore } from './object-store.js';
import type { S3StoreOptions } from './s3.js';

const S3_PARAMS = new Set(['endpoint', 'region', 'forcePathStyle']);

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch (cause) {
    throw new HubError('BAD_CONFIG', `the object store URL's ${what} is not valid percent-encoding`, { cause });
  }
}

/** The directory a `file:` URL names; a non-absolute one is resolved against the cwd. */
export function fileUrlToRoot(url: string): string {
  const rest = url.replace(/^file:(\/\/)?/i, '');
  if (rest === '') throw new HubError('BAD_CONFIG', 'the file: object store URL names no directory');
  if (rest.startsWith('/') || rest.startsWith('localhost/')) {
    try {
      return fileURLToPath(`file://${rest}`);
    } catch (cause) {
      throw new HubError('BAD_CONFIG', `invalid file: object store URL ${url}`, { cause });
    }
  }
  // `file://./x` is not a standard file URL (its "host" would be "."), but it is how a
  // relative data directory ends up in a config, so accept it as a path.
  return resolve(decode(rest, 'path'));
}

/** Parses an `s3:` URL into store options. Errors never echo the URL, which may hold a secret. */
export function parseS3Url(url: string): S3StoreOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new HubError('BAD_CONFIG', 'the s3: object store URL does not parse', { cause });
  }
  const bucket = decode(parsed.hostname, 'bucket');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new HubError('BAD_CONFIG', `the s3: object store URL needs a valid bucket name, got "${bucket}"`);
  }
  const prefix = decode(parsed.pathname.replace(/^\/+/, ''), 'prefix');
  const problem = prefix === '' ? undefined : keyProblem(`${prefix.replace(/\/$/, '')}/x`);
  if (problem !== undefined) throw new HubError('BAD_CONFIG', `the s3: object store URL's key prefix is invalid: ${problem}`);
  const options: S3StoreOptions = { bucket, prefix };
  for (const name of parsed.searchParams.keys()) {
    if (!S3_PARAMS.has(name)) throw new HubError('BAD_CONFIG', `unknown s3: object store URL parameter "${name}"`);
  }
  const endpoint = parsed.searchParams.get('endpoint');
  if (endpoint !== null) {
    if (!/^https?:\/\/[^/]/.test(endpoint)) throw new HubError('BAD_CONFIG', 'the s3: endpoint must be an http(s) URL');
    options.endpoint = endpoint;
  }
  const region = parsed.searchParams.get('region');
  if (region !== null) options.region = region;
  const pathStyle = parsed.searchParams.get('forcePathStyle');
  if (pathStyle !== null) {
    if (pathStyle !== 'true' && pathStyle !== 'false') throw new HubError('BAD_CONFIG', 'forcePathStyle must be true or false');
    options.forcePathStyle = pathStyle === 'true';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    if (parsed.username === '' || parsed.password === '') {
      throw new HubError('BAD_CONFIG', 'the s3: object store URL needs both an access key and a secret, or neither');
    }
    options.credentials = { accessKeyId: decode(parsed.username, 'access key'), secretAccessKey: decode(parsed.password, 'secret') };
  }
  return options;
}

/**
 * Creates the bucket of an S3 store when it does not exist; a no-op for other stores. For tests
 * and development: production buckets are provisioned outside the hub.
 */
export async function ensureBucket(store: ObjectStore): Promise<void> {
  // Checked by description first so that a file:// hub never loads the AWS SDK.
  if (!store.description.startsWith('s3://')) return;
  const { ensureS3Bucket } = await import('./s3-bucket.js');
  await ensureS3Bucket(store);
}

/**
 * Opens the object store that `url` names (see the module comment for the forms). The `fs` root is
 * created if missing; an S3 bucket is not (see `ensureBucket`). Unknown schemes throw
 * `HubError('BAD_CONFIG')`.
 */
export async function openObjectStore(url: string): Promise<ObjectStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file') return FsObjectStore.open(fileUrlToRoot(url));
  if (scheme === 's3') {
    const options = parseS3Url(url);
    // Loaded on demand: the AWS SDK is large, and a hub on `file://` never needs it.
    const { S3ObjectStore } = await import('./s3.js');
    return new S3ObjectStore(options);
  }
  throw new HubError('BAD_CONFIG', `unsupported object store URL scheme "${scheme ?? ''}" (use file:// or s3://)`);
}
