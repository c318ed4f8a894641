import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { requirePart } from '@edgeloop/tests/support/ci';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectStoreContract } from './object-store.contract.js';
import { ensureBucket, openObjectStore, parseS3Url } from './open-object-store.js';
import { S3ObjectStore } from './s3.js';

const hubDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// s3rver accepts only its built-in key pair (and checks the key id, not SigV4 signatures).
const S3RVER_CREDS = 'S3RVER:S3RVER';

/**
 * s3rver runs in a child process because its ListObjectsV2 continuation tokens use DES, which
 * OpenSSL 3 only offers with `--openssl-legacy-provider`. It exits when our stdin pipe closes, so
 * it cannot outlive this test file.
 */
const S3RVER_MAIN = `
const S3rver = require('s3rver');
process.stdin.on('end', () => process.exit(0)).resume();
new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: process.argv[1], configureBuckets: [{ name: 'test' }] })
  .run().then((address) => console.log(JSON.stringify(address)), (error) => { console.error(error); process.exit(1); });
`;

let server: ChildProcess | undefined;
let dir: string;
let endpoint: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER_MAIN, dir], {
    cwd: hubDir,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  server = child;
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  endpoint = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
});

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = once(server, 'exit');
    server.stdin?.end();
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

/** Each test gets its own prefix in the shared bucket, so tests never see each other's keys. */
function freshPrefix(): string {
  return `contract-${randomBytes(6).toString('hex')}`;
}

objectStoreContract(
  's3 on s3rver',
  async () => ({
    store: await openObjectStore(`s3://${S3RVER_CREDS}@test/${freshPrefix()}?endpoint=${endpoint}&region=us-east-1`),
    cleanup: async () => {},
  }),
  // s3rver lists in directory-walk order, and racing PUTs of one key mix their bytes (GETs reset).
  { emulatorGaps: ['listing-order', 'racing-overwrites'] },
);

const minioUrl = process.env.EDGELOOP_TEST_MINIO_URL;
const haveMinio = requirePart('MinIO', Boolean(minioUrl), 'run `.ci/minio.sh` and source the file it writes');
describe.runIf(haveMinio)('MinIO', () => {
  objectStoreContract('s3 on MinIO', async () => {
    // Append a fresh prefix to the one in the URL (if any), keeping the query intact.
    const url = new URL(minioUrl!);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${freshPrefix()}`;
    const store = await openObjectStore(url.href);
    await ensureBucket(store);
    return { store, cleanup: async () => {} };
  });
});

describe('S3ObjectStore specifics', () => {
  it('parses s3:// URLs: bucket, prefix, endpoint, region, URL-decoded credentials', () => {
    const options = parseS3Url('s3://AK%2BID:se%2Fcr%3Aet@my-bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1');
    expect(options).toEqual({
      bucket: 'my-bucket',
      prefix: 'some/prefix',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AK+ID', secretAccessKey: 'se/cr:et' },
    });
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
  });

  it('rejects bad s3:// URLs and unknown schemes with BAD_CONFIG, never echoing the secret', async () => {
    for (const url of [
      's3://KEY@bucket/x',
      's3://bucket/x?endpont=http://h',
      's3://B/x',
      's3://b',
      's3://bucket?endpoint=ftp://h',
      's3://bucket/a//b',
      's3://bucket/a%5Cb',
    ]) {
      expect(() => parseS3Url(url), url).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    }
    await expect(openObjectStore('gs://bucket/x')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(openObjectStore('/no/scheme')).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    try {
      parseS3Url('s3://KEY:TOPSECRET@bucket/x?bad=1');
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('TOPSECRET');
    }
  });

  it('describes itself with bucket, prefix and endpoint but no credentials', async () => {
    const store = await openObjectStore(`s3://KEYID:TOPSECRET@test/p?endpoint=${endpoint}`);
    expect(store.description).toBe(`s3://test/p/ at ${endpoint}`);
    expect(store.description).not.toMatch(/KEYID|TOPSECRET/);
    await store.close();
  });

  it('wraps S3 failures in STORAGE_FAILED with the cause: unknown access key, missing bucket', async () => {
    const wrong = await openObjectStore(`s3://NOBODY:TOPSECRET@test/x?endpoint=${endpoint}`);
    const error = await wrong.put('k', new Uint8Array([1])).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'HubError', code: 'STORAGE_FAILED', message: expect.stringContaining('InvalidAccessKeyId') });
    expect((error as Error).cause).toMatchObject({ name: 'InvalidAccessKeyId' });
    expect((error as Error).message).not.toContain('TOPSECRET');
    await wrong.close();

    const missing = await openObjectStore(`s3://${S3RVER_CREDS}@no-such-bucket?endpoint=${endpoint}`);
    await expect(missing.put('k', new Uint8Array([1]))).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    // A missing bucket is a fault, not an empty store.
    await expect(missing.get('k')).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    await expect(
      (async () => {
        for await (const _ of missing.list('')) break;
      })(),
    ).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    await missing.close();
  });

  it('keeps keys under the URL prefix in the bucket, and ensureBucket creates a bucket once', async () => {
    const store = (await openObjectStore(`s3://${S3RVER_CREDS}@fresh-bucket/deep/pre?endpoint=${endpoint}`)) as S3ObjectStore;
    await ensureBucket(store);
    await ensureBucket(store);
    await store.put('a/b', new Uint8Array([5]));
    const root = new S3ObjectStore({ ...parseS3Url(`s3://${S3RVER_CREDS}@fresh-bucket?endpoint=${endpoint}`) });
    const keys: string[] = [];
    for await (const key of root.list('')) keys.push(key);
    expect(keys).toEqual(['deep/pre/a/b']);
    await Promise.all([store.close(), root.close()]);
  });
});
