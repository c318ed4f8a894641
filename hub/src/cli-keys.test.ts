/**
 * `edgeloop-hub keys …` as documented in `docs/releases.md`: init with a root threshold, the hub
 * publishing with the root keys moved offline, root rotation with only a threshold of the old
 * root keys brought back, timestamp key rotation and root renewal; a real edge-agent updater
 * follows every step.
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelUpdater, onnxSelfTest } from '@edgeloop/edge-agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { KeyDir } from './releases/keys.js';
import { ReleaseRepository } from './releases/repository.js';
import { MODEL, RepoServer, tinyRelease } from './releases/test-support.js';
import { FsObjectStore } from './storage/fs.js';

let dir: string;
let keysDir: string;
let offline: string;
let store: FsObjectStore;
let server: RepoServer;
let updater: ModelUpdater;

async function cli(...args: string[]): Promise<{ code: number; out: unknown; err: string }> {
  let out = '';
  let err = '';
  const io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } };
  const code = await runCli([...args, '--data-dir', dir, '--objects', `file://${join(dir, 'objects')}`, '--dir', keysDir], io);
  return { code, out: out ? JSON.parse(out) : undefined, err };
}

const hub = () => new ReleaseRepository({ store, keyDir: new KeyDir(keysDir) });
const rootKeyFiles = async (d: string) => (await readdir(d)).filter((n) => n.startsWith('root-'));
async function trustedRoot(): Promise<number> {
  return JSON.parse(await readFile(join(dir, 'device', 'state', 'tuf-metadata', 'root.json'), 'utf8')).signed.version;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-cli-keys-'));
  keysDir = join(dir, 'keys');
  offline = join(dir, 'usb-stick');
  await mkdir(offline);
  store = await FsObjectStore.open(join(dir, 'objects'));
  server = await RepoServer.start(store);
});

afterAll(async () => {
  await server?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('edgeloop-hub keys', () => {
  it('init: 3 root keys (threshold 2) and the online keys, each its own 0600 file; root v1 written', async () => {
    const rootOut = join(dir, 'root.json');
    const { code, out, err } = await cli('keys', 'init', '--root-keys', '3', '--root-threshold', '2', '--out', rootOut);
    expect(code, err).toBe(0);
    expect(out).toMatchObject({ rootThreshold: 2, versions: { root: 1, targets: 1, snapshot: 1, timestamp: 1 } });
    const files = (await readdir(keysDir)).sort();
    expect(files).toHaveLength(6);
    expect(await rootKeyFiles(keysDir)).toHaveLength(3);
    for (const f of files) expect((await stat(join(keysDir, f))).mode & 0o777, f).toBe(0o600);
    expect((await stat(keysDir)).mode & 0o777).toBe(0o700);
    const root = JSON.parse(await readFile(rootOut, 'utf8'));
    expect(root.signed.roles.root.threshold).toBe(2);
    expect(root.signatures).toHaveLength(3);

    updater = new ModelUpdater({
      modelName: MODEL,
      stateDir: join(dir, 'device', 'state'),
      modelsDir: join(dir, 'device', 'models'),
      repositoryUrl: server.url,
      trustedRoot: await readFile(rootOut),
      selfTest: onnxSelfTest,
    });
    await updater.recover();
  });

  it('init refuses a directory that already holds keys', async () => {
    const { code, err } = await cli('keys', 'init');
    expect(code).toBe(1);
    expect(err).toMatch(/CONFLICT/);
  });

  it('the hub publishes with the root keys offline; rotations need them', async () => {
    for (const f of await rootKeyFiles(keysDir)) await rename(join(keysDir, f), join(offline, f));
    await hub().publishRelease(tinyRelease(1));
    expect(await updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 1 } });
    const { code, err } = await cli('keys', 'rotate-timestamp');
    expect(code).toBe(1);
    expect(err).toMatch(/BAD_CONFIG: .* holds 0 of the 2 root keys/);
  });

  it('rotate-root with 2 of the 3 old root keys brought back: root v2 with 2 new keys; the old ones retired', async () => {
    for (const f of (await rootKeyFiles(offline)).slice(0, 2)) await rename(join(offline, f), join(keysDir, f));
    const { code, out, err } = await cli('keys', 'rotate-root', '--root-keys', '2', '--root-threshold', '2');
    expect(code, err).toBe(0);
    expect(out).toMatchObject({ versions: { root: 2 } });
    expect(await rootKeyFiles(keysDir)).toHaveLength(2);
    expect(await rootKeyFiles(join(keysDir, 'retired'))).toHaveLength(2);
    await hub().publishRelease(tinyRelease(2));
    expect(await updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 2 } });
    expect(await trustedRoot()).toBe(2);
  });

  it('rotate-timestamp and renew-root; status reports versions, expiries and the keys present', async () => {
    expect((await cli('keys', 'rotate-timestamp')).out).toMatchObject({ versions: { root: 3 } });
    expect((await cli('keys', 'renew-root')).out).toMatchObject({ versions: { root: 4 } });
    await hub().publishRelease(tinyRelease(3));
    expect(await updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 3 } });
    expect(await trustedRoot()).toBe(4);
    const { out } = await cli('keys', 'status');
    expect(out).toMatchObject({
      initialised: true,
      versions: { root: { version: 4 }, timestamp: { version: expect.any(Number) } },
      roles: { root: { threshold: 2, presentHere: 2 }, timestamp: { threshold: 1, presentHere: 1 } },
    });
    expect((await readdir(join(keysDir, 'retired'))).filter((n) => n.startsWith('timestamp-'))).toHaveLength(1);
  });
});
