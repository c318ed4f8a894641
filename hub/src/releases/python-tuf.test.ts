/**
 * An independent TUF client accepts the hub's repository: python-tuf's ngclient
 * (`hub/test/python_tuf_client.py`, in the venv `EDGELOOP_PYTHON_TUF` names; `.ci/python-tuf.sh`
 * makes it) refreshes from the hub's own `/tuf/` route and downloads a release, across a root
 * rotation (3 keys, threshold 2 → 2 new keys) and a timestamp key rotation; and it refuses a
 * tampered model.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { requirePart } from '@edgeloop/tests/support/ci';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, openApiFixture } from '../api/test-support.js';
import { generateKey, KeyDir } from './keys.js';
import { type ReleaseInput, ReleaseRepository } from './repository.js';
import { MODEL, RepoServer, tinyRelease } from './test-support.js';

const python = process.env.EDGELOOP_PYTHON_TUF;
const available = !!python && existsSync(python) && spawnSync(python, ['-c', 'import tuf.ngclient'], { timeout: 60_000 }).status === 0;
const script = fileURLToPath(new URL('../../test/python_tuf_client.py', import.meta.url));

interface ClientResult {
  ok: boolean;
  error?: string;
  message?: string;
  trusted?: Record<'root' | 'timestamp' | 'snapshot' | 'targets', number>;
  release?: { version: number; model: { length: number; sha256: string }; manifest: { length: number; sha256: string } };
}

async function runClient(url: string, root: string, dir: string): Promise<ClientResult> {
  const out = await promisify(execFile)(python!, [script, '--url', url, '--root', root, '--dir', dir, '--model', MODEL], {
    timeout: 120_000,
  }).catch((error: { stdout?: string; stderr?: string }) => {
    if (!error.stdout) throw error;
    return { stdout: error.stdout };
  });
  return JSON.parse(out.stdout) as ClientResult;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.runIf(
  requirePart('python-tuf', available, 'run `export EDGELOOP_PYTHON_TUF="$(.ci/python-tuf.sh)"` (pip install tuf into .cache/tuf-venv)'),
)('python-tuf against the hub repository', () => {
  let f: ApiFixture;
  let server: ReturnType<typeof serve>;
  let url: string;
  let repo: ReleaseRepository;
  let work: string;
  let rootFile: string;

  beforeAll(async () => {
    f = await openApiFixture();
    server = serve({ fetch: f.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tuf/`;
    const keyDir = new KeyDir(join(f.dir, 'keys'));
    await keyDir.init(3);
    repo = new ReleaseRepository({ store: f.store, keyDir });
    await repo.initialise({ rootThreshold: 2 });
    work = await mkdtemp(join(tmpdir(), 'edgeloop-python-tuf-'));
    rootFile = join(work, '1.root.json');
    await writeFile(rootFile, await repo.rootFile(1));
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      server?.close(() => resolve());
      (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
    });
    await f?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const expectRelease = (result: ClientResult, release: ReleaseInput) =>
    expect(result, result.message).toMatchObject({
      ok: true,
      release: {
        version: release.version,
        model: { length: release.onnxBytes.byteLength, sha256: sha256(release.onnxBytes) },
        manifest: { length: release.manifestBytes.byteLength, sha256: sha256(release.manifestBytes) },
      },
    });

  it('verifies and downloads a release', async () => {
    const v1 = tinyRelease(1);
    await repo.publishRelease(v1);
    const result = await runClient(url, rootFile, join(work, 'client'));
    expectRelease(result, v1);
    expect(result.trusted).toEqual({ root: 1, timestamp: 2, snapshot: 2, targets: 2 });
  });

  it('follows a root rotation (threshold 2 of 3 → 2 of 2 new keys) and a timestamp key rotation', async () => {
    await repo.rotateRoot([generateKey(), generateKey()], 2);
    await repo.rotateOnlineKey('timestamp');
    const v2 = tinyRelease(2);
    await repo.publishRelease(v2);
    const result = await runClient(url, rootFile, join(work, 'client')); // starts from the root v1 it trusted
    expectRelease(result, v2);
    expect(result.trusted?.root).toBe(3);
  });

  it('refuses a tampered model (one bit flipped in transit)', async () => {
    const tampering = await RepoServer.start(f.store);
    try {
      tampering.fault = (p) => (p.endsWith('.model.onnx') ? { kind: 'flip', bit: 0.5 } : undefined);
      const result = await runClient(tampering.url, rootFile, join(work, 'fresh-client'));
      expect(result).toMatchObject({ ok: false, error: 'LengthOrHashMismatchError' });
    } finally {
      await tampering.close();
    }
  });
});
