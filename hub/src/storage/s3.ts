/**
 * The object store on S3 or an S3-compatible server (MinIO, s3rver). S3 makes a PUT atomic and
 * durable before it answers 200, so the interface's guarantees hold without extra steps here.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { HubError } from '../errors.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import type { ObjectStore } from './object-store.js';

export interface S3StoreOptions {
  bucket: string;
  /** Prepended to every key (a trailing `/` is added when missing). */
  prefix?: string;
  region?: string;
  /** An S3-compatible endpoint such as `http://127.0.0.1:9000`; turns on path-style addressing. */
  endpoint?: string;
  /** Static credentials; without them the SDK's default chain (env, profile, IMDS) applies. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Overrides path-style addressing (default: on when `endpoint` is set). */
  forcePathStyle?: boolean;
}

/** The SDK error's name (`NoSuchKey`, `AccessDenied`...), if it has one. */
export function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

/** The HTTP status of the response an SDK error came from, if any. */
export function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Whether an SDK error means "no such object". A missing bucket is a configuration fault and must
 * not read as an empty store, but HEAD answers 404 without a body for both, so HEAD cannot tell.
 */
function isMissingObject(error: unknown): boolean {
  return errorName(error) === 'NoSuchKey' || (httpStatus(error) === 404 && errorName(error) !== 'NoSuchBucket');
}

/** An {@link ObjectStore} on one bucket, optionally under a key prefix. */
export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  /** `''` or a prefix ending in `/`. */
  readonly prefix: string;
  readonly description: string;

  constructor(options: S3StoreOptions) {
    const raw = options.prefix ?? '';
    this.prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
    if (this.prefix !== '') assertValidPrefix(this.prefix);
    this.bucket = options.bucket;
    const config: S3ClientConfig = { region: options.region ?? 'us-east-1' };
    if (options.endpoint !== undefined) {
      config.endpoint = options.endpoint;
      config.forcePathStyle = options.forcePathStyle ?? true;
      // S3-compatible servers (s3rver, older MinIO) reject the SDK's default streaming
      // checksum trailers; send checksums only where an operation requires them.
      config.requestChecksumCalculation = 'WHEN_REQUIRED';
      config.responseChecksumValidation = 'WHEN_REQUIRED';
    } else if (options.forcePathStyle !== undefined) {
      config.forcePathStyle = options.forcePathStyle;
    }
    if (options.credentials !== undefined) config.credentials = options.credentials;
    this.client = new S3Client(config);
    const where = options.endpoint === undefined ? '' : ` at ${options.endpoint}`;
    this.description = `s3://${this.bucket}/${this.prefix}${where}`;
  }

  private fail(action: string, key: string, cause: unknown): HubError {
    const name = errorName(cause) ?? 'error';
    return new HubError('STORAGE_FAILED', `cannot ${action} ${key} in ${this.description}: ${name}`, { cause });
  }

  async put(key: string, bytes: Uint8Array, options: { contentType?: string } = {}): Promise<void> {
    assertValidKey(key);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: options.contentType ?? 'application/octet-stream',
        }),
      );
    } catch (cause) {
      throw this.fail('store', key, cause);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      if (res.Body === undefined) return new Uint8Array(0);
      return await res.Body.transformToByteArray();
    } catch (cause) {
      if (isMissingObject(cause)) return undefined;
      throw this.fail('read', key, cause);
    }
  }

  async head(key: string): Promise<{ size: number; tag?: string } | undefined> {
    assertValidKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return { size: res.ContentLength ?? 0, ...(res.ETag ? { tag: res.ETag } : {}) };
    } catch (cause) {
      if (isMissingObject(cause)) return undefined;
      throw this.fail('stat', key, cause);
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    try {
      // S3 answers 204 for a missing key too, so delete is idempotent without a HEAD first.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    } catch (cause) {
      if (isMissingObject(cause)) return;
      throw this.fail('delete', key, cause);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      let res: ListObjectsV2CommandOutput;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
        );
      } catch (cause) {
        throw this.fail('list', `${prefix}*`, cause);
      }
      for (const item of res.Contents ?? []) {
        if (item.Key !== undefined) yield item.Key.slice(this.prefix.length);
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
