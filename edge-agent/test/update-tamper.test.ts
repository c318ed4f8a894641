/**
 * The tamper matrix (issue #5): every case is refused with its own error code, the running model and
 * the `current` pointer stay exactly as they were, and the next legitimate update then succeeds.
 * One repository, one server and one device run through all cases in order, like a device in the
 * field that meets one attack after another.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeJson } from '@edgeloop/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentErrorCode } from '../src/errors.js';
import { releasePaths } from '../src/updates/index.js';
import { type Fault, generateKey, ROLES } from './support/tuf-repo.js';
import { addRelease, type Device, MODEL, newDevice, removeDevice, TufRepository, TufServer } from './support/update-harness.js';
import { tinyManifest, tinyOnnx } from './support/update-onnx.js';

const DAY = 86_400_000;
let repo: TufRepository;
let server: TufServer;
let device: Device;
let version = 0;
let clockOffsetMs = 0;
const forks: TufRepository[] = [];
let firstState: Map<string, Buffer>;

/** Publishes a legitimate new release; returns its version. */
function release(options: Parameters<typeof addRelease>[2] = {}): number {
  addRelease(repo, ++version, options);
  repo.publish();
  return version;
}

/** Publishes a legitimate release, then has the server tamper with the files the case names. */
function releaseWithFault(fault: (path: string) => Fault | undefined): void {
  release();
  server.fault = fault;
}

function serve(source: TufRepository | Map<string, Buffer>): void {
  server.source = source;
}

/** An attacker's copy of the repository state (same keys as the hub unless the case says otherwise). */
function fork(): TufRepository {
  const f = repo.fork();
  forks.push(f);
  return f;
}

const onPath = (suffix: string, fault: Fault) => (p: string) => (p.endsWith(suffix) ? fault : undefined);
const past = () => new Date(Date.now() - DAY);
const inDays = (d: number) => new Date(Date.now() + d * DAY);
/** The served files of the legit repository, with some replaced (mix-and-match). */
const legitWith = (replace: Record<string, Buffer>) => new Map([...repo.files, ...Object.entries(replace)]);

interface Case {
  name: string;
  code: AgentErrorCode;
  attack: () => void | Promise<void>;
}

const cases: Case[] = [
  // --- targets: size cap and hash (TUF §5.7.3) ---
  {
    name: 'arbitrary bytes of the signed length for model.onnx',
    code: 'UPDATE_HASH_MISMATCH',
    attack: () => {
      release();
      const length = repo.targets.get(releasePaths(MODEL, version).model)!.length;
      server.fault = onPath('.model.onnx', { kind: 'replace', body: randomBytes(length) });
    },
  },
  {
    name: 'shorter arbitrary bytes for model.onnx',
    code: 'UPDATE_HASH_MISMATCH',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'replace', body: randomBytes(64) })),
  },
  {
    name: 'wrong length: one byte more than signed',
    code: 'UPDATE_TOO_LARGE',
    attack: () => {
      release();
      const signed = repo.file(repo.targetFilePath(releasePaths(MODEL, version).model));
      server.fault = onPath('.model.onnx', { kind: 'replace', body: Buffer.concat([signed, Buffer.from([0])]) });
    },
  },
  {
    name: 'truncated download',
    code: 'UPDATE_HASH_MISMATCH',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'truncate', bytes: 100 })),
  },
  {
    name: 'connection dropped mid-download',
    code: 'UPDATE_FETCH_FAILED',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'cut', bytes: 100 })),
  },
  {
    name: 'oversize stream without Content-Length (endless data)',
    code: 'UPDATE_TOO_LARGE',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'oversize', extra: 5_000_000 })),
  },
  {
    name: 'oversize stream with a declared Content-Length',
    code: 'UPDATE_TOO_LARGE',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'oversize', extra: 5_000_000, declareLength: true })),
  },
  {
    name: 'one bit flipped in model.onnx',
    code: 'UPDATE_HASH_MISMATCH',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'flip', bit: 1234 })),
  },
  {
    name: "another release's manifest.json",
    code: 'UPDATE_HASH_MISMATCH',
    attack: () => {
      const old = repo.file(repo.targetFilePath(releasePaths(MODEL, version).manifest));
      release();
      server.fault = onPath('.manifest.json', { kind: 'replace', body: old });
    },
  },
  {
    name: 'missing target file (404)',
    code: 'UPDATE_FETCH_FAILED',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'status', status: 404 })),
  },
  {
    name: 'slow retrieval: the model download stalls',
    code: 'UPDATE_TIMEOUT',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'stall', afterBytes: 10 })),
  },
  {
    name: 'slow retrieval: the model trickles past the deadline',
    code: 'UPDATE_TIMEOUT',
    attack: () => releaseWithFault(onPath('.model.onnx', { kind: 'slow', chunkBytes: 4, delayMs: 100 })),
  },
  {
    name: 'redirect to another origin',
    code: 'UPDATE_REDIRECT_REFUSED',
    attack: () => {
      release();
      server.fault = (p) =>
        p.endsWith('.model.onnx') ? { kind: 'redirect', location: `${server.url.replace('127.0.0.1', 'localhost')}${p}` } : undefined;
    },
  },
  { name: 'model bigger than the device accepts (signed)', code: 'UPDATE_TOO_LARGE', attack: () => void release({ padBytes: 300_000 }) },
  // --- metadata transport ---
  {
    name: 'slow retrieval: timestamp.json stalls',
    code: 'UPDATE_TIMEOUT',
    attack: () => releaseWithFault(onPath('timestamp.json', { kind: 'stall', afterBytes: 5 })),
  },
  {
    name: 'timestamp.json: HTTP 500',
    code: 'UPDATE_FETCH_FAILED',
    attack: () => releaseWithFault(onPath('timestamp.json', { kind: 'status', status: 500 })),
  },
  {
    name: 'timestamp.json over the metadata cap',
    code: 'UPDATE_TOO_LARGE',
    attack: () => releaseWithFault(onPath('timestamp.json', { kind: 'oversize', extra: 20_000 })),
  },
  {
    name: 'targets metadata longer than the snapshot says',
    code: 'UPDATE_TOO_LARGE',
    attack: () => releaseWithFault(onPath('.targets.json', { kind: 'oversize', extra: 10 })),
  },
  {
    name: 'malformed JSON timestamp',
    code: 'UPDATE_BAD_METADATA',
    attack: () => releaseWithFault(onPath('timestamp.json', { kind: 'replace', body: Buffer.from('{"signed":') })),
  },
  {
    name: 'snapshot metadata served as timestamp.json',
    code: 'UPDATE_BAD_METADATA',
    attack: () => {
      release();
      server.fault = onPath('timestamp.json', { kind: 'replace', body: repo.file(`metadata/${repo.versions.snapshot}.snapshot.json`) });
    },
  },
  {
    name: 'signature in non-canonical (uppercase) hex',
    code: 'UPDATE_BAD_METADATA',
    attack: () => {
      release();
      const ts = JSON.parse(repo.file('metadata/timestamp.json').toString());
      ts.signatures[0].sig = ts.signatures[0].sig.toUpperCase();
      server.fault = onPath('timestamp.json', { kind: 'replace', body: Buffer.from(JSON.stringify(ts)) });
    },
  },
  // --- signatures (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3) ---
  {
    name: 'unsigned timestamp',
    code: 'UPDATE_UNSIGNED',
    attack: () => serve(attackerRelease({ signWith: { timestamp: [] } })),
  },
  {
    name: 'timestamp signed by a wrong key',
    code: 'UPDATE_UNSIGNED',
    attack: () => serve(attackerRelease({ signWith: { timestamp: [generateKey()] } })),
  },
  {
    name: 'snapshot signed by a wrong key',
    code: 'UPDATE_UNSIGNED',
    attack: () => serve(attackerRelease({ signWith: { snapshot: [generateKey()] } })),
  },
  {
    name: 'targets signed by a wrong key',
    code: 'UPDATE_UNSIGNED',
    attack: () => serve(attackerRelease({ signWith: { targets: [generateKey()] } })),
  },
  {
    name: 'a new root signed only by its own new key',
    code: 'UPDATE_UNSIGNED',
    attack: () => {
      const f = fork();
      const k = generateKey();
      f.rotate({ role: 'root', add: [k], revoke: f.keys.root, signWith: [k] });
      server.source = f;
    },
  },
  {
    name: 'unsigned new root (no signatures)',
    code: 'UPDATE_UNSIGNED',
    attack: () => {
      const f = fork();
      f.rotate({ role: 'targets', add: [generateKey()], signWith: [] });
      server.source = f;
    },
  },
  // --- rollback (TUF §5.3.5, §5.4.3, §5.5.5, §5.6.4) ---
  {
    name: 'rollback: root (root v1 served as the next version)',
    code: 'UPDATE_ROLLBACK',
    attack: () => {
      const f = fork();
      f.files.set(`metadata/${repo.versions.root + 1}.root.json`, repo.file('metadata/1.root.json'));
      server.source = f;
    },
  },
  { name: 'rollback: timestamp (an older repository state)', code: 'UPDATE_ROLLBACK', attack: () => serve(firstState) },
  {
    name: 'rollback: snapshot (new timestamp naming an older snapshot)',
    code: 'UPDATE_ROLLBACK',
    attack: () => {
      const f = fork();
      f.publish({ versions: { snapshot: repo.versions.snapshot - 1 } });
      server.source = f;
    },
  },
  {
    name: 'rollback: targets (new snapshot naming older targets)',
    code: 'UPDATE_ROLLBACK',
    attack: () => {
      const f = fork();
      f.publish({ versions: { targets: repo.versions.targets - 1 } });
      server.source = f;
    },
  },
  // --- freeze (TUF §5.3.10, §5.4.4, §5.5.6, §5.6.5) ---
  {
    name: 'freeze: expired timestamp (wall clock)',
    code: 'UPDATE_EXPIRED',
    attack: () => serve(attackerRelease({ expires: { timestamp: past() } })),
  },
  {
    name: 'freeze: expired snapshot (wall clock)',
    code: 'UPDATE_EXPIRED',
    attack: () => serve(attackerRelease({ expires: { snapshot: past() } })),
  },
  {
    name: 'freeze: expired targets (wall clock)',
    code: 'UPDATE_EXPIRED',
    attack: () => serve(attackerRelease({ expires: { targets: past() } })),
  },
  {
    name: 'freeze: timestamp expired by the injected clock',
    code: 'UPDATE_EXPIRED',
    attack: () => {
      release();
      clockOffsetMs = 2 * DAY;
    },
  },
  {
    name: 'freeze: snapshot expired by the injected clock',
    code: 'UPDATE_EXPIRED',
    attack: () => {
      addRelease(repo, ++version);
      repo.publish({ expires: { timestamp: inDays(30), snapshot: inDays(5), targets: inDays(30) } });
      clockOffsetMs = 10 * DAY;
    },
  },
  {
    name: 'freeze: targets expired by the injected clock',
    code: 'UPDATE_EXPIRED',
    attack: () => {
      addRelease(repo, ++version);
      repo.publish({ expires: { timestamp: inDays(30), snapshot: inDays(30), targets: inDays(5) } });
      clockOffsetMs = 10 * DAY;
    },
  },
  {
    name: 'freeze: root expired by the injected clock',
    code: 'UPDATE_EXPIRED',
    attack: () => {
      repo.rotate({ role: 'root', expires: inDays(5) });
      addRelease(repo, ++version);
      repo.publish({ expires: { timestamp: inDays(30), snapshot: inDays(30), targets: inDays(30) } });
      clockOffsetMs = 10 * DAY;
    },
  },
  // --- mix-and-match (TUF §5.5.2, §5.5.4, §5.6.2) ---
  {
    name: 'mix-and-match: snapshot from another repository state',
    code: 'UPDATE_HASH_MISMATCH',
    attack: () => {
      const other = fork();
      other.addTarget(`${MODEL}/999/model.onnx`, tinyOnnx({ seed: 999 }));
      other.publish();
      release();
      const path = `metadata/${repo.versions.snapshot}.snapshot.json`;
      server.source = legitWith({ [path]: other.file(path) });
    },
  },
  {
    name: 'mix-and-match: older targets under the newer version (no meta hashes)',
    code: 'UPDATE_ROLLBACK',
    attack: () => {
      const old = repo.file(`metadata/${repo.versions.targets}.targets.json`);
      addRelease(repo, ++version);
      repo.publish({ omitMetaHashes: true });
      server.source = legitWith({ [`metadata/${repo.versions.targets}.targets.json`]: old });
    },
  },
  // --- keys rotated by the hub (TUF §5.3.11), then used by an attacker ---
  {
    name: 'revoked targets key',
    code: 'UPDATE_UNSIGNED',
    attack: async () => {
      const old = repo.keys.targets[0]!;
      repo.rotate({ role: 'targets', add: [generateKey()], revoke: [old] });
      repo.publish();
      expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date' });
      server.source = attackerRelease({ signWith: { targets: [old] } });
    },
  },
  {
    name: 'below threshold (1 of 2 targets signatures)',
    code: 'UPDATE_UNSIGNED',
    attack: async () => {
      repo.rotate({ role: 'targets', add: [generateKey()], threshold: 2 });
      repo.publish();
      expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date' });
      server.source = attackerRelease({ signWith: { targets: [repo.keys.targets[0]!] } });
    },
  },
  // --- releases the hub signed but that do not hold together ---
  {
    name: 'newest release below the installed version',
    code: 'UPDATE_VERSION_NOT_NEWER',
    attack: () => {
      const installed = device.updater.currentModel()!.version;
      for (const p of [...repo.targets.keys()]) if (Number(p.split('/')[1]) >= installed) repo.removeTarget(p);
      repo.publish();
    },
  },
  {
    name: "manifest's model sha256 disagrees with the model target",
    code: 'UPDATE_MANIFEST_MISMATCH',
    attack: () => {
      const v = ++version;
      const onnx = tinyOnnx({ seed: v });
      signedRelease(v, onnx, encodeJson('manifest', tinyManifest(MODEL, v, tinyOnnx({ seed: v + 1000 }))));
    },
  },
  {
    name: 'manifest names another version',
    code: 'UPDATE_MANIFEST_MISMATCH',
    attack: () => {
      const v = ++version;
      const onnx = tinyOnnx({ seed: v });
      signedRelease(v, onnx, encodeJson('manifest', tinyManifest(MODEL, v + 1, onnx)));
    },
  },
  { name: 'self-test: a model that outputs NaN', code: 'UPDATE_SELF_TEST_FAILED', attack: () => void release({ nan: true }) },
  {
    name: 'self-test: signed bytes that are not ONNX',
    code: 'UPDATE_SELF_TEST_FAILED',
    attack: () => {
      const v = ++version;
      const junk = randomBytes(500);
      signedRelease(v, junk, encodeJson('manifest', tinyManifest(MODEL, v, junk)));
    },
  },
  {
    name: 'release without a manifest target',
    code: 'UPDATE_NOT_FOUND',
    attack: () => {
      repo.addTarget(releasePaths(MODEL, ++version).model, tinyOnnx({ seed: version }));
      repo.publish();
    },
  },
];

/** The attacker's new release, signed as the case says. */
function attackerRelease(options: Parameters<TufRepository['publish']>[0]): TufRepository {
  const f = fork();
  f.addTarget(releasePaths(MODEL, version + 1).model, tinyOnnx({ seed: 4242 }));
  f.addTarget(
    releasePaths(MODEL, version + 1).manifest,
    encodeJson('manifest', tinyManifest(MODEL, version + 1, tinyOnnx({ seed: 4242 }))),
  );
  f.publish(options);
  return f;
}

function signedRelease(v: number, onnx: Uint8Array, manifest: Uint8Array): void {
  repo.addTarget(releasePaths(MODEL, v).model, onnx);
  repo.addTarget(releasePaths(MODEL, v).manifest, manifest);
  repo.publish();
}

async function runningState() {
  const model = device.updater.currentModel();
  const dir = join(device.modelsDir, MODEL);
  return {
    model,
    pointer: await readFile(join(dir, 'current'), 'utf8'),
    files: model ? [await readFile(join(model.dir, 'model.onnx')), await readFile(join(model.dir, 'manifest.json'))] : [],
  };
}

describe('tamper matrix', () => {
  beforeAll(async () => {
    repo = new TufRepository();
    server = await TufServer.start(repo);
    device = await newDevice(repo, server, {
      now: () => new Date(Date.now() + clockOffsetMs),
      fetch: { timeoutMs: 1_500, stallTimeoutMs: 400 },
      maxModelBytes: 256 * 1024,
    });
    release();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version } });
    firstState = repo.snapshotFiles();
    release();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version } });
  });
  afterAll(async () => {
    await server.close();
    await removeDevice(device);
  });

  it('has at least 30 cases', () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const before = await runningState();
    await c.attack();
    const result = await device.updater.checkForUpdate();
    expect(result.status === 'rejected' ? `${result.code}: ${result.error.message}` : result.status).toMatch(new RegExp(`^${c.code}:`));
    expect(await runningState()).toEqual(before);

    // The hub publishes the next legitimate release; the device takes it.
    server.fault = undefined;
    server.source = repo;
    clockOffsetMs = 0;
    for (const f of forks) for (const role of ROLES.slice(1)) repo.versions[role] = Math.max(repo.versions[role], f.versions[role]);
    forks.length = 0;
    if (String(repo.signedOf('root').expires) < inDays(30).toISOString()) repo.rotate({ role: 'root' });
    const next = release();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: next } });
  });
});
