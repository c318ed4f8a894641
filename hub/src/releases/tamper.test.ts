/**
 * The edge agent's tamper matrix, run against the HUB's repository output: every file the hub
 * published is bit-flipped, truncated, swapped for another state's, re-signed with the wrong key,
 * frozen or rolled back, and the real edge-agent updater refuses each one with the expected code,
 * keeps its running model and `current` pointer, and then takes the hub's next legitimate release.
 * Attacks that need a valid signature use the hub's own keys (a stolen online key) where TUF says
 * the remaining roles must still hold.
 */
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AgentErrorCode, ModelUpdater, onnxSelfTest } from '@edgeloop/edge-agent';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../storage/fs.js';
import { generateKey, keyFromPem, type RepoKey } from './keys.js';
import {
  hashedTargetPath,
  keysFor,
  type MetaEntry,
  metaOf,
  nextRoot,
  type OnlineRole,
  type RoleName,
  SPEC_VERSION,
  sha256Hex,
  signMetadata,
  tufDate,
} from './metadata.js';
import { releaseTargets } from './release-paths.js';
import { ReleaseRepository } from './repository.js';
import type { RepositoryState } from './state.js';
import { type Fault, MODEL, openRepoFixture, type RepoFixture, RepoServer, tinyRelease } from './test-support.js';

const DAY = 86_400_000;
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);
let fx: RepoFixture;
let server: RepoServer;
let updater: ModelUpdater;
let deviceDir: string;
let version = 0;
/** Three different real models; release v carries pool[v % 3]. */
let pool: Uint8Array[] = [];
let first: { timestamp: Buffer; snapshotVersion: number };

async function release(): Promise<number> {
  version += 1;
  await fx.repo.publishRelease(tinyRelease(version, { onnxBytes: pool[version % 3]! }));
  return version;
}
const check = () => updater.checkForUpdate();
const state = async (): Promise<RepositoryState> => (await fx.repo.state())!;
const hubFile = async (path: string) => Buffer.from((await fx.store.get(`tuf/${path}`))!);
/** The hub's current keys of a role (an attacker who stole them). */
async function hubKeys(role: RoleName): Promise<RepoKey[]> {
  return keysFor((await state()).root.signed, role, (await fx.keyDir.load())[role]);
}
async function targetPathOf(v: number, file: 'model' | 'manifest'): Promise<string> {
  const path = releaseTargets(MODEL, v)[file];
  return `targets/${hashedTargetPath(path, (await state()).targets.targets[path]!.hashes.sha256)}`;
}
const onPath = (suffix: string, fault: Fault) => (p: string) => (p.endsWith(suffix) ? fault : undefined);
async function releaseWithFault(suffix: string, fault: Fault): Promise<void> {
  await release();
  server.fault = onPath(suffix, fault);
}

interface ChainAttack {
  from: OnlineRole;
  keys?: Partial<Record<OnlineRole, RepoKey[]>>;
  /** What the forged snapshot says of targets, or the forged timestamp of the snapshot. */
  targetsMeta?: MetaEntry;
  snapshotMeta?: MetaEntry;
}

/**
 * Serves forged online metadata from `from` down (an evil release when `from` is targets), each
 * role signed by `keys[role]`, default the hub's own (stolen) key.
 */
async function forgeChain(a: ChainAttack): Promise<void> {
  const st = await state();
  const expires = tufDate(new Date(now().getTime() + 7 * DAY));
  const sign = async (role: OnlineRole, v: number, body: object) => {
    const bytes = signMetadata(
      role,
      { _type: role, spec_version: SPEC_VERSION, version: v, expires, ...body },
      a.keys?.[role] ?? (await hubKeys(role)),
    );
    server.overrides.set(`metadata/${role === 'timestamp' ? 'timestamp' : `${v}.${role}`}.json`, bytes);
    return metaOf(bytes, v);
  };
  let targetsMeta = a.targetsMeta ?? st.snapshot.targetsMeta;
  if (a.from === 'targets') {
    const evil = tinyRelease(version + 1, { onnxBytes: pool[(version + 2) % 3]! });
    const targets = { ...st.targets.targets };
    for (const [path, bytes] of Object.entries({
      [releaseTargets(MODEL, evil.version).model]: evil.onnxBytes,
      [releaseTargets(MODEL, evil.version).manifest]: evil.manifestBytes,
    })) {
      targets[path] = { length: bytes.byteLength, hashes: { sha256: sha256Hex(bytes) } };
      server.overrides.set(`targets/${hashedTargetPath(path, sha256Hex(bytes))}`, bytes);
    }
    targetsMeta = await sign('targets', st.targets.version + 1, { targets });
  }
  let snapshotMeta = a.snapshotMeta ?? st.timestamp.snapshotMeta;
  if (a.from !== 'timestamp') snapshotMeta = await sign('snapshot', st.snapshot.version + 1, { meta: { 'targets.json': targetsMeta } });
  await sign('timestamp', st.timestamp.version + 1, { meta: { 'snapshot.json': snapshotMeta } });
}

/** Serves a forged root N+1 (optionally changing the root keys) signed by `signers`. */
async function forgeRoot(signers: RepoKey[], newRootKeys?: RepoKey[]): Promise<void> {
  const root = (await state()).root.signed;
  const next = nextRoot(
    root,
    new Date(now().getTime() + 365 * DAY),
    newRootKeys ? { role: 'root', keys: newRootKeys, threshold: 1 } : undefined,
  );
  server.overrides.set(`metadata/${next.version}.root.json`, signMetadata('root', next, signers));
}

/** A state of the hub's repository that forked from this one: a copy of the store with its own release. */
async function forkedState(): Promise<{ file: (path: string) => Promise<Buffer>; close: () => Promise<void> }> {
  const dir = join(fx.dir, `fork-${version}`);
  await cp(join(fx.dir, 'objects'), dir, { recursive: true });
  const store = await FsObjectStore.open(dir);
  const other = new ReleaseRepository({ store, keyDir: fx.keyDir, now });
  await other.publishRelease(tinyRelease(version + 1, { onnxBytes: pool[(version + 2) % 3]! }));
  return { file: async (path) => Buffer.from((await store.get(`tuf/${path}`))!), close: () => store.close() };
}

async function mixAndMatch(role: 'snapshot' | 'targets'): Promise<void> {
  const fork = await forkedState();
  await release();
  const path = `metadata/${(await state())[role].version}.${role}.json`;
  server.overrides.set(path, await fork.file(path));
  await fork.close();
}

interface Case {
  name: string;
  codes: AgentErrorCode[];
  attack: () => Promise<void>;
}
const SIGNATURE: AgentErrorCode[] = ['UPDATE_UNSIGNED', 'UPDATE_BAD_METADATA'];
/**
 * A flipped bit in a versioned metadata file breaks the hash its parent lists; where it lands in a
 * signature's hex digits, the file is refused one step earlier, as not canonical (which byte a
 * fraction of the file hits depends on the versions and dates in it).
 */
const FLIPPED: AgentErrorCode[] = ['UPDATE_HASH_MISMATCH', 'UPDATE_BAD_METADATA'];
const HASH: AgentErrorCode[] = ['UPDATE_HASH_MISMATCH'];

const cases: Case[] = [
  // --- targets (TUF §5.7.3): each file the hub signed, damaged in transit ---
  { name: 'model.onnx: one bit flipped early', codes: HASH, attack: () => releaseWithFault('.model.onnx', { kind: 'flip', bit: 8_000 }) },
  {
    name: 'model.onnx: the last bit flipped',
    codes: HASH,
    attack: () => releaseWithFault('.model.onnx', { kind: 'flip', bit: 0.999_999_9 }),
  },
  { name: 'manifest.json: one bit flipped', codes: HASH, attack: () => releaseWithFault('.manifest.json', { kind: 'flip', bit: 300 }) },
  { name: 'model.onnx truncated', codes: HASH, attack: () => releaseWithFault('.model.onnx', { kind: 'truncate', bytes: 1000 }) },
  { name: 'manifest.json truncated', codes: HASH, attack: () => releaseWithFault('.manifest.json', { kind: 'truncate', bytes: 50 }) },
  {
    name: "another release's model.onnx",
    codes: ['UPDATE_HASH_MISMATCH', 'UPDATE_TOO_LARGE'],
    attack: async () => {
      const old = await hubFile(await targetPathOf(version, 'model'));
      await releaseWithFault('.model.onnx', { kind: 'replace', body: old });
    },
  },
  {
    name: 'manifest.json one byte longer than signed',
    codes: ['UPDATE_TOO_LARGE'],
    attack: async () => {
      await release();
      const signed = await hubFile(await targetPathOf(version, 'manifest'));
      server.fault = onPath('.manifest.json', { kind: 'replace', body: Buffer.concat([signed, Buffer.from(' ')]) });
    },
  },
  {
    name: 'model.onnx missing (404)',
    codes: ['UPDATE_FETCH_FAILED'],
    attack: () => releaseWithFault('.model.onnx', { kind: 'status', status: 404 }),
  },
  // --- bit flips in each metadata role ---
  {
    name: 'timestamp.json: bit flipped at 20%',
    codes: SIGNATURE,
    attack: () => releaseWithFault('timestamp.json', { kind: 'flip', bit: 0.2 }),
  },
  {
    name: 'timestamp.json: bit flipped at 50%',
    codes: SIGNATURE,
    attack: () => releaseWithFault('timestamp.json', { kind: 'flip', bit: 0.5 }),
  },
  {
    name: 'timestamp.json: bit flipped at 80%',
    codes: SIGNATURE,
    attack: () => releaseWithFault('timestamp.json', { kind: 'flip', bit: 0.8 }),
  },
  { name: 'snapshot: bit flipped at 30%', codes: FLIPPED, attack: () => releaseWithFault('.snapshot.json', { kind: 'flip', bit: 0.3 }) },
  { name: 'snapshot: bit flipped at 90%', codes: FLIPPED, attack: () => releaseWithFault('.snapshot.json', { kind: 'flip', bit: 0.9 }) },
  { name: 'targets: bit flipped at 30%', codes: FLIPPED, attack: () => releaseWithFault('.targets.json', { kind: 'flip', bit: 0.3 }) },
  { name: 'targets: bit flipped at 90%', codes: FLIPPED, attack: () => releaseWithFault('.targets.json', { kind: 'flip', bit: 0.9 }) },
  {
    name: 'a new root with one bit flipped',
    codes: SIGNATURE,
    attack: async () => {
      const { root } = await fx.repo.rotateRoot('keep');
      server.fault = onPath(`/${root}.root.json`, { kind: 'flip', bit: 0.6 });
    },
  },
  {
    name: 'malformed timestamp.json',
    codes: ['UPDATE_BAD_METADATA'],
    attack: () => releaseWithFault('timestamp.json', { kind: 'replace', body: Buffer.from('{"signed":') }),
  },
  // --- signatures (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3) ---
  {
    name: 'timestamp re-signed by a wrong key',
    codes: ['UPDATE_UNSIGNED'],
    attack: () => forgeChain({ from: 'timestamp', keys: { timestamp: [generateKey()] } }),
  },
  { name: 'unsigned timestamp', codes: ['UPDATE_UNSIGNED'], attack: () => forgeChain({ from: 'timestamp', keys: { timestamp: [] } }) },
  {
    name: 'snapshot re-signed by a wrong key (timestamp key stolen)',
    codes: ['UPDATE_UNSIGNED'],
    attack: () => forgeChain({ from: 'snapshot', keys: { snapshot: [generateKey()] } }),
  },
  {
    name: 'targets with an evil release, wrong key (snapshot and timestamp keys stolen)',
    codes: ['UPDATE_UNSIGNED'],
    attack: () => forgeChain({ from: 'targets', keys: { targets: [generateKey()] } }),
  },
  {
    name: "targets signed with the hub's snapshot key (roles do not stand in for each other)",
    codes: ['UPDATE_UNSIGNED'],
    attack: async () => forgeChain({ from: 'targets', keys: { targets: await hubKeys('snapshot') } }),
  },
  { name: 'root N+1 signed by a wrong key', codes: ['UPDATE_UNSIGNED'], attack: () => forgeRoot([generateKey()]) },
  {
    name: "root N+1 naming the attacker's root key, signed only by it",
    codes: ['UPDATE_UNSIGNED'],
    attack: async () => {
      const k = generateKey();
      await forgeRoot([k], [k]);
    },
  },
  // --- rollback (TUF §5.3.5, §5.4.3, §5.5.5, §5.6.4) ---
  {
    name: 'rollback: timestamp (the first timestamp.json served again)',
    codes: ['UPDATE_ROLLBACK'],
    attack: async () => void server.overrides.set('metadata/timestamp.json', first.timestamp),
  },
  {
    name: 'rollback: snapshot (a fresh timestamp naming an older snapshot; timestamp key stolen)',
    codes: ['UPDATE_ROLLBACK'],
    attack: async () => {
      const old = await hubFile(`metadata/${first.snapshotVersion}.snapshot.json`);
      await forgeChain({ from: 'timestamp', snapshotMeta: metaOf(old, first.snapshotVersion) });
    },
  },
  {
    name: 'rollback: targets (a fresh snapshot naming older targets; snapshot and timestamp keys stolen)',
    codes: ['UPDATE_ROLLBACK'],
    attack: async () => {
      const v = (await state()).targets.version - 1;
      await forgeChain({ from: 'snapshot', targetsMeta: metaOf(await hubFile(`metadata/${v}.targets.json`), v) });
    },
  },
  {
    name: 'rollback: root (root v1 served as the next version)',
    codes: ['UPDATE_ROLLBACK'],
    attack: async () =>
      void server.overrides.set(`metadata/${(await state()).root.version + 1}.root.json`, await hubFile('metadata/1.root.json')),
  },
  {
    name: 'an older snapshot served under the newest name',
    codes: HASH,
    attack: async () => {
      await release();
      server.overrides.set(
        `metadata/${(await state()).snapshot.version}.snapshot.json`,
        await hubFile(`metadata/${first.snapshotVersion}.snapshot.json`),
      );
    },
  },
  // --- mix-and-match (TUF §5.5.2, §5.6.2): the same versions from a forked state of the hub ---
  { name: 'mix-and-match: a snapshot from another state of the repository', codes: HASH, attack: () => mixAndMatch('snapshot') },
  { name: 'mix-and-match: targets from another state of the repository', codes: HASH, attack: () => mixAndMatch('targets') },
  // --- freeze (TUF §5.3.10, §5.4.4, §5.5.6, §5.6.5), by the device's injected clock ---
  {
    name: 'freeze: timestamp expired (the hub stopped re-signing; 2 days pass)',
    codes: ['UPDATE_EXPIRED'],
    attack: async () => {
      await release();
      offsetMs += 2 * DAY;
    },
  },
  {
    name: 'freeze: snapshot expired under a fresh timestamp (timestamp key stolen; 8 days pass)',
    codes: ['UPDATE_EXPIRED'],
    attack: async () => {
      offsetMs += 8 * DAY;
      await forgeChain({ from: 'timestamp' });
    },
  },
  {
    name: 'freeze: targets expired under a fresh snapshot (online keys stolen; 91 days pass)',
    codes: ['UPDATE_EXPIRED'],
    attack: async () => {
      offsetMs += 91 * DAY;
      await forgeChain({ from: 'snapshot' });
    },
  },
  {
    name: 'freeze: root expired (366 days pass; the hub renews the root to recover)',
    codes: ['UPDATE_EXPIRED'],
    attack: async () => {
      offsetMs += 366 * DAY;
      await forgeChain({ from: 'snapshot' });
    },
  },
  // --- keys the hub rotated, then used by an attacker (TUF §5.3.11) ---
  {
    name: 'a timestamp signed only by the retired timestamp key, after rotation',
    codes: ['UPDATE_UNSIGNED'],
    attack: async () => {
      const old = await hubKeys('timestamp');
      await fx.repo.rotateOnlineKey('timestamp');
      expect(await check()).toMatchObject({ status: 'up-to-date' });
      await forgeChain({ from: 'timestamp', keys: { timestamp: old } });
    },
  },
  {
    name: 'a stale timestamp from before the timestamp key rotation',
    codes: ['UPDATE_UNSIGNED', 'UPDATE_ROLLBACK'],
    attack: async () => {
      const stale = await hubFile('metadata/timestamp.json');
      await fx.repo.rotateOnlineKey('timestamp');
      await release();
      server.overrides.set('metadata/timestamp.json', stale);
    },
  },
  {
    name: 'root N+1 signed by the retired root key, after root rotation',
    codes: ['UPDATE_UNSIGNED'],
    attack: async () => {
      const old = await hubKeys('root');
      await fx.repo.rotateRoot([generateKey(), generateKey()], 2);
      expect(await check()).toMatchObject({ status: 'up-to-date' });
      expect(await readdir(join(fx.keyDir.dir, 'retired'))).toContain(fx.keyDir.fileOf('root', old[0]!).split('/').at(-1));
      await forgeRoot(old, old);
    },
  },
  {
    name: 'a root forged with the retired root key read back from retired/',
    codes: ['UPDATE_UNSIGNED'],
    attack: async () => {
      const dir = join(fx.keyDir.dir, 'retired');
      const retired = await Promise.all(
        (await readdir(dir)).filter((n) => n.startsWith('root-')).map(async (n) => keyFromPem(await readFile(join(dir, n), 'utf8'))),
      );
      await forgeRoot(retired);
    },
  },
];

async function runningState() {
  const model = updater.currentModel();
  return {
    model,
    pointer: await readFile(join(deviceDir, 'models', MODEL, 'current'), 'utf8'),
    files: model ? [await readFile(join(model.dir, 'model.onnx')), await readFile(join(model.dir, 'manifest.json'))] : [],
  };
}

describe('tamper matrix against the hub repository', () => {
  beforeAll(async () => {
    pool = [1, 2, 3].map((seed) => tinyRelease(1, { seed }).onnxBytes);
    fx = await openRepoFixture({ now });
    server = await RepoServer.start(fx.store);
    deviceDir = join(fx.dir, 'device');
    updater = new ModelUpdater({
      modelName: MODEL,
      stateDir: join(deviceDir, 'state'),
      modelsDir: join(deviceDir, 'models'),
      repositoryUrl: server.url,
      trustedRoot: await fx.repo.rootFile(1),
      selfTest: onnxSelfTest,
      now,
      fetch: { timeoutMs: 10_000, stallTimeoutMs: 5_000 },
      maxModelBytes: 4 * 1024 * 1024,
    });
    await updater.recover();
    await release();
    expect(await check()).toMatchObject({ status: 'updated', model: { version } });
    first = { timestamp: await hubFile('metadata/timestamp.json'), snapshotVersion: (await state()).snapshot.version };
    await release();
    expect(await check()).toMatchObject({ status: 'updated', model: { version } });
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await fx?.close();
  });

  it('has at least 30 cases', () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const before = await runningState();
    await c.attack();
    const result = await check();
    const got = result.status === 'rejected' ? result.code : result.status;
    expect(c.codes, result.status === 'rejected' ? result.error.message : got).toContain(got);
    expect(await runningState()).toEqual(before);

    // The hub carries on: renew the root when it is about to expire, re-sign past any versions
    // an attacker pinned with a stolen key, and publish the next release; the device takes it.
    server.reset();
    const st = await state();
    if (Date.parse(st.root.expires) - now().getTime() < 30 * DAY) await fx.repo.rotateRoot('keep');
    await fx.repo.resignOnline({ force: true });
    const next = await release();
    expect(await check()).toMatchObject({ status: 'updated', model: { version: next } });
  });
});
