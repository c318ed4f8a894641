/**
 * The browser's TUF verifier (`@edgeloop/protocol`'s `refreshTufMetadata`, WebCrypto only) run
 * against the HUB's real repository, with the tamper matrix of `tamper.test.ts`: every file the hub
 * published bit-flipped, truncated, swapped for another state's, re-signed with the wrong key,
 * frozen or rolled back, each refused with the expected TufError code while the client keeps its
 * trusted metadata and model; after each one the hub carries on and the client takes the hub's next
 * release, with the exact model bytes the hub published, across root and online key rotations.
 */
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  fetchVerifiedTarget,
  newestModelRelease,
  refreshTufMetadata,
  TufError,
  type TufErrorCode,
  type TufRemote,
  type TufTrustedBytes,
  withMetadataDir,
} from '@edgeloop/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../storage/fs.js';
import { generateKey, type RepoKey } from './keys.js';
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
import { type Fault, MODEL, openRepoFixture, type RepoFixture, tinyRelease } from './test-support.js';

const DAY = 86_400_000;
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);
let fx: RepoFixture;
let version = 0;
let pool: Uint8Array[] = [];
let first: { timestamp: Buffer; snapshotVersion: number };

// --- the attacker's network: files served instead of the hub's, and faults per path ---
const overrides = new Map<string, Uint8Array>();
let fault: ((path: string) => Fault | undefined) | undefined;
const reset = () => {
  overrides.clear();
  fault = undefined;
};

/** A TufRemote over the hub's object store, as a browser's fetch with a byte cap would see it. */
const remote: TufRemote = withMetadataDir({
  async get(path, maxBytes) {
    const f = fault?.(path);
    if (f?.kind === 'status') {
      if (f.status === 404) return undefined;
      throw new Error(`HTTP ${f.status}`);
    }
    let body = overrides.get(path) ?? (await fx.store.get(`tuf/${path}`));
    if (!body) return undefined;
    if (f?.kind === 'replace') body = f.body;
    if (f?.kind === 'truncate') body = body.subarray(0, f.bytes);
    if (f?.kind === 'flip') {
      const copy = Uint8Array.from(body);
      const bits = copy.length * 8;
      const bit = f.bit < 1 ? Math.floor(f.bit * bits) : f.bit % bits;
      copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      body = copy;
    }
    // A streaming reader stops one byte past the cap and refuses the file.
    if (body.byteLength > maxBytes) throw new TufError('TUF_TOO_LARGE', `${path} is over ${maxBytes} bytes`);
    return body;
  },
});

// --- the client: trusted bytes and the installed model change only when a check succeeds ---
let trusted: TufTrustedBytes;
let installed: { version: number; model: Uint8Array } | undefined;
type CheckResult = { status: 'updated' | 'up-to-date'; version: number } | { status: 'rejected'; code: TufErrorCode; message: string };

async function check(): Promise<CheckResult> {
  try {
    const result = await refreshTufMetadata({ trusted, remote, now: now() });
    trusted = result.trusted; // persisted only once the whole refresh verified
    const newest = newestModelRelease(result.targets, MODEL);
    if (newest === undefined || (installed && newest <= installed.version)) return { status: 'up-to-date', version: newest ?? 0 };
    const paths = releaseTargets(MODEL, newest);
    const model = await fetchVerifiedTarget(remote, result.targets[paths.model]!);
    await fetchVerifiedTarget(remote, result.targets[paths.manifest]!);
    installed = { version: newest, model };
    return { status: 'updated', version: newest };
  } catch (error) {
    if (error instanceof TufError) return { status: 'rejected', code: error.code, message: error.message };
    throw error;
  }
}

async function release(): Promise<number> {
  version += 1;
  await fx.repo.publishRelease(tinyRelease(version, { onnxBytes: pool[version % 3]! }));
  return version;
}
const state = async (): Promise<RepositoryState> => (await fx.repo.state())!;
const hubFile = async (path: string) => Buffer.from((await fx.store.get(`tuf/${path}`))!);
async function hubKeys(role: RoleName): Promise<RepoKey[]> {
  return keysFor((await state()).root.signed, role, (await fx.keyDir.load())[role]);
}
async function targetPathOf(v: number, file: 'model' | 'manifest'): Promise<string> {
  const path = releaseTargets(MODEL, v)[file];
  return `targets/${hashedTargetPath(path, (await state()).targets.targets[path]!.hashes.sha256)}`;
}
const onPath = (suffix: string, f: Fault) => (p: string) => (p.endsWith(suffix) ? f : undefined);
async function releaseWithFault(suffix: string, f: Fault): Promise<void> {
  await release();
  fault = onPath(suffix, f);
}

/** Forged online metadata from `from` down, each role signed by `keys[role]` (default: the hub's, stolen). */
async function forgeChain(a: {
  from: OnlineRole;
  keys?: Partial<Record<OnlineRole, RepoKey[]>>;
  targetsMeta?: MetaEntry;
  snapshotMeta?: MetaEntry;
}) {
  const st = await state();
  const expires = tufDate(new Date(now().getTime() + 7 * DAY));
  const sign = async (role: OnlineRole, v: number, body: object) => {
    const signed = { _type: role, spec_version: SPEC_VERSION, version: v, expires, ...body };
    const bytes = signMetadata(role, signed, a.keys?.[role] ?? (await hubKeys(role)));
    overrides.set(`metadata/${role === 'timestamp' ? 'timestamp' : `${v}.${role}`}.json`, bytes);
    return metaOf(bytes, v);
  };
  let targetsMeta = a.targetsMeta ?? st.snapshot.targetsMeta;
  if (a.from === 'targets') {
    const evil = tinyRelease(version + 1, { onnxBytes: pool[(version + 2) % 3]! });
    const targets = { ...st.targets.targets };
    const paths = releaseTargets(MODEL, evil.version);
    for (const [path, bytes] of [
      [paths.model, evil.onnxBytes],
      [paths.manifest, evil.manifestBytes],
    ] as const) {
      targets[path] = { length: bytes.byteLength, hashes: { sha256: sha256Hex(bytes) } };
      overrides.set(`targets/${hashedTargetPath(path, sha256Hex(bytes))}`, bytes);
    }
    targetsMeta = await sign('targets', st.targets.version + 1, { targets });
  }
  let snapshotMeta = a.snapshotMeta ?? st.timestamp.snapshotMeta;
  if (a.from !== 'timestamp') snapshotMeta = await sign('snapshot', st.snapshot.version + 1, { meta: { 'targets.json': targetsMeta } });
  await sign('timestamp', st.timestamp.version + 1, { meta: { 'snapshot.json': snapshotMeta } });
}

/** A forged root N+1 (optionally naming new root keys) signed by `signers`. */
async function forgeRoot(signers: RepoKey[], newRootKeys?: RepoKey[]): Promise<void> {
  const root = (await state()).root.signed;
  const change = newRootKeys ? { role: 'root' as const, keys: newRootKeys, threshold: 1 } : undefined;
  const next = nextRoot(root, new Date(now().getTime() + 365 * DAY), change);
  overrides.set(`metadata/${next.version}.root.json`, signMetadata('root', next, signers));
}

/** Serves `role` at the current version from a forked state of the hub (same version, other content). */
async function mixAndMatch(role: 'snapshot' | 'targets'): Promise<void> {
  const dir = join(fx.dir, `fork-${version}`);
  await cp(join(fx.dir, 'objects'), dir, { recursive: true });
  const store = await FsObjectStore.open(dir);
  const other = new ReleaseRepository({ store, keyDir: fx.keyDir, now });
  await other.publishRelease(tinyRelease(version + 1, { onnxBytes: pool[(version + 2) % 3]! }));
  await release();
  const path = `metadata/${(await state())[role].version}.${role}.json`;
  overrides.set(path, (await store.get(`tuf/${path}`))!);
  await store.close();
}

interface Case {
  name: string;
  codes: TufErrorCode[];
  attack: () => Promise<void>;
}
const SIGNATURE: TufErrorCode[] = ['TUF_BAD_SIGNATURE', 'TUF_BAD_METADATA'];
const HASH: TufErrorCode[] = ['TUF_BAD_HASH'];
const MISMATCH: TufErrorCode[] = ['TUF_BAD_HASH', 'TUF_BAD_LENGTH'];

const cases: Case[] = [
  // --- targets (TUF §5.7): each file the hub signed, damaged in transit ---
  { name: 'model.onnx: one bit flipped early', codes: HASH, attack: () => releaseWithFault('.model.onnx', { kind: 'flip', bit: 8_000 }) },
  {
    name: 'model.onnx: the last bit flipped',
    codes: HASH,
    attack: () => releaseWithFault('.model.onnx', { kind: 'flip', bit: 0.999_999_9 }),
  },
  { name: 'manifest.json: one bit flipped', codes: HASH, attack: () => releaseWithFault('.manifest.json', { kind: 'flip', bit: 300 }) },
  {
    name: 'model.onnx truncated',
    codes: ['TUF_BAD_LENGTH'],
    attack: () => releaseWithFault('.model.onnx', { kind: 'truncate', bytes: 1000 }),
  },
  {
    name: 'manifest.json truncated',
    codes: ['TUF_BAD_LENGTH'],
    attack: () => releaseWithFault('.manifest.json', { kind: 'truncate', bytes: 50 }),
  },
  {
    name: "another release's model.onnx",
    codes: [...MISMATCH, 'TUF_TOO_LARGE'],
    attack: async () => {
      const old = await hubFile(await targetPathOf(version, 'model'));
      await releaseWithFault('.model.onnx', { kind: 'replace', body: old });
    },
  },
  {
    name: 'manifest.json one byte longer than signed',
    codes: ['TUF_TOO_LARGE'],
    attack: async () => {
      await release();
      const signed = await hubFile(await targetPathOf(version, 'manifest'));
      fault = onPath('.manifest.json', { kind: 'replace', body: Buffer.concat([signed, Buffer.from(' ')]) });
    },
  },
  {
    name: 'model.onnx missing (404)',
    codes: ['TUF_NOT_FOUND'],
    attack: () => releaseWithFault('.model.onnx', { kind: 'status', status: 404 }),
  },
  {
    name: 'timestamp.json: HTTP 500',
    codes: ['TUF_FETCH_FAILED'],
    attack: () => releaseWithFault('timestamp.json', { kind: 'status', status: 500 }),
  },
  // --- bit flips in each metadata role ---
  ...[0.2, 0.5, 0.8].map((bit) => ({
    name: `timestamp.json: bit flipped at ${bit * 100}%`,
    codes: SIGNATURE,
    attack: () => releaseWithFault('timestamp.json', { kind: 'flip', bit }),
  })),
  { name: 'snapshot: bit flipped at 30%', codes: HASH, attack: () => releaseWithFault('.snapshot.json', { kind: 'flip', bit: 0.3 }) },
  { name: 'snapshot: bit flipped at 90%', codes: HASH, attack: () => releaseWithFault('.snapshot.json', { kind: 'flip', bit: 0.9 }) },
  { name: 'targets: bit flipped at 30%', codes: HASH, attack: () => releaseWithFault('.targets.json', { kind: 'flip', bit: 0.3 }) },
  { name: 'targets: bit flipped at 90%', codes: HASH, attack: () => releaseWithFault('.targets.json', { kind: 'flip', bit: 0.9 }) },
  {
    name: 'a new root with one bit flipped',
    codes: SIGNATURE,
    attack: async () => {
      const { root } = await fx.repo.rotateRoot('keep');
      fault = onPath(`/${root}.root.json`, { kind: 'flip', bit: 0.6 });
    },
  },
  {
    name: 'malformed timestamp.json',
    codes: ['TUF_BAD_METADATA'],
    attack: () => releaseWithFault('timestamp.json', { kind: 'replace', body: Buffer.from('{"signed":') }),
  },
  {
    name: 'timestamp.json padded past the 16 KiB cap',
    codes: ['TUF_TOO_LARGE'],
    attack: () => releaseWithFault('timestamp.json', { kind: 'replace', body: Buffer.alloc(20_000, 0x20) }),
  },
  // --- signatures (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3) ---
  {
    name: 'timestamp re-signed by a wrong key',
    codes: ['TUF_BAD_SIGNATURE'],
    attack: () => forgeChain({ from: 'timestamp', keys: { timestamp: [generateKey()] } }),
  },
  { name: 'unsigned timestamp', codes: ['TUF_BAD_SIGNATURE'], attack: () => forgeChain({ from: 'timestamp', keys: { timestamp: [] } }) },
  {
    name: 'snapshot re-signed by a wrong key (timestamp key stolen)',
    codes: ['TUF_BAD_SIGNATURE'],
    attack: () => forgeChain({ from: 'snapshot', keys: { snapshot: [generateKey()] } }),
  },
  {
    name: 'targets with an evil release, wrong key (snapshot and timestamp keys stolen)',
    codes: ['TUF_BAD_SIGNATURE'],
    attack: () => forgeChain({ from: 'targets', keys: { targets: [generateKey()] } }),
  },
  {
    name: "targets signed with the hub's snapshot key (roles do not stand in for each other)",
    codes: ['TUF_BAD_SIGNATURE'],
    attack: async () => forgeChain({ from: 'targets', keys: { targets: await hubKeys('snapshot') } }),
  },
  { name: 'root N+1 signed by a wrong key', codes: ['TUF_BAD_SIGNATURE'], attack: () => forgeRoot([generateKey()]) },
  {
    name: "root N+1 naming the attacker's root key, signed only by it",
    codes: ['TUF_BAD_SIGNATURE'],
    attack: async () => {
      const k = generateKey();
      await forgeRoot([k], [k]);
    },
  },
  // --- rollback (TUF §5.3.5, §5.4.3, §5.5.5) ---
  {
    name: 'rollback: timestamp (the first timestamp.json served again)',
    codes: ['TUF_ROLLBACK'],
    attack: async () => void overrides.set('metadata/timestamp.json', first.timestamp),
  },
  {
    name: 'rollback: snapshot (a fresh timestamp naming an older snapshot; timestamp key stolen)',
    codes: ['TUF_ROLLBACK'],
    attack: async () => {
      const old = await hubFile(`metadata/${first.snapshotVersion}.snapshot.json`);
      await forgeChain({ from: 'timestamp', snapshotMeta: metaOf(old, first.snapshotVersion) });
    },
  },
  {
    name: 'rollback: targets (a fresh snapshot naming older targets; snapshot and timestamp keys stolen)',
    codes: ['TUF_ROLLBACK'],
    attack: async () => {
      const v = (await state()).targets.version - 1;
      await forgeChain({ from: 'snapshot', targetsMeta: metaOf(await hubFile(`metadata/${v}.targets.json`), v) });
    },
  },
  {
    name: 'rollback: root (root v1 served as the next version)',
    codes: ['TUF_ROLLBACK'],
    attack: async () => void overrides.set(`metadata/${(await state()).root.version + 1}.root.json`, await hubFile('metadata/1.root.json')),
  },
  {
    name: 'an older snapshot served under the newest name',
    codes: MISMATCH,
    attack: async () => {
      await release();
      const path = `metadata/${(await state()).snapshot.version}.snapshot.json`;
      overrides.set(path, await hubFile(`metadata/${first.snapshotVersion}.snapshot.json`));
    },
  },
  // --- mix-and-match (TUF §5.5.2, §5.6.2) ---
  { name: 'mix-and-match: a snapshot from another state of the repository', codes: MISMATCH, attack: () => mixAndMatch('snapshot') },
  { name: 'mix-and-match: targets from another state of the repository', codes: MISMATCH, attack: () => mixAndMatch('targets') },
  // --- freeze (TUF §5.3.10, §5.4.4, §5.5.6, §5.6.5), by the client's injected clock ---
  {
    name: 'freeze: timestamp expired (the hub stopped re-signing; 2 days pass)',
    codes: ['TUF_EXPIRED'],
    attack: async () => {
      await release();
      offsetMs += 2 * DAY;
    },
  },
  {
    name: 'freeze: snapshot expired under a fresh timestamp (timestamp key stolen; 8 days pass)',
    codes: ['TUF_EXPIRED'],
    attack: async () => {
      offsetMs += 8 * DAY;
      await forgeChain({ from: 'timestamp' });
    },
  },
  {
    name: 'freeze: targets expired under a fresh snapshot (online keys stolen; 91 days pass)',
    codes: ['TUF_EXPIRED'],
    attack: async () => {
      offsetMs += 91 * DAY;
      await forgeChain({ from: 'snapshot' });
    },
  },
  {
    name: 'freeze: root expired (366 days pass; the hub renews the root to recover)',
    codes: ['TUF_EXPIRED'],
    attack: async () => {
      offsetMs += 366 * DAY;
      await forgeChain({ from: 'snapshot' });
    },
  },
  // --- keys the hub rotated, then used by an attacker (TUF §5.3.11) ---
  {
    name: 'a timestamp signed only by the retired timestamp key, after rotation',
    codes: ['TUF_BAD_SIGNATURE'],
    attack: async () => {
      const old = await hubKeys('timestamp');
      await fx.repo.rotateOnlineKey('timestamp');
      expect(await check()).toMatchObject({ status: 'up-to-date' });
      await forgeChain({ from: 'timestamp', keys: { timestamp: old } });
    },
  },
  {
    name: 'a stale timestamp from before the timestamp key rotation',
    codes: ['TUF_BAD_SIGNATURE', 'TUF_ROLLBACK'],
    attack: async () => {
      const stale = await hubFile('metadata/timestamp.json');
      await fx.repo.rotateOnlineKey('timestamp');
      await release();
      overrides.set('metadata/timestamp.json', stale);
    },
  },
  {
    name: 'root N+1 signed by the retired root key, after root rotation',
    codes: ['TUF_BAD_SIGNATURE'],
    attack: async () => {
      const old = await hubKeys('root');
      await fx.repo.rotateRoot([generateKey(), generateKey()], 2);
      expect(await check()).toMatchObject({ status: 'up-to-date' });
      expect(await readdir(join(fx.keyDir.dir, 'retired'))).toContain(fx.keyDir.fileOf('root', old[0]!).split('/').at(-1));
      await forgeRoot(old, old);
    },
  },
];

/** What the client holds: trusted metadata and installed model, unchanged by a refused update. */
const clientState = () => ({ trusted: { ...trusted }, installed });

describe('the web TUF verifier against the hub repository', () => {
  beforeAll(async () => {
    pool = [1, 2, 3].map((seed) => tinyRelease(1, { seed }).onnxBytes);
    fx = await openRepoFixture({ now });
    trusted = { root: await fx.repo.rootFile(1) };
    await release();
    expect(await check()).toEqual({ status: 'updated', version });
    first = { timestamp: await hubFile('metadata/timestamp.json'), snapshotVersion: (await state()).snapshot.version };
    await release();
    expect(await check()).toEqual({ status: 'updated', version });
  }, 120_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('has at least 30 cases', () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    await c.attack();
    const before = clientState(); // after the attack: some attacks first let the client take a legitimate rotation
    const result = await check();
    const got = result.status === 'rejected' ? result.code : result.status;
    expect(c.codes, result.status === 'rejected' ? result.message : got).toContain(got);
    // A refused metadata refresh leaves the trusted bytes as they were; a refused target the model.
    if (result.status === 'rejected' && !c.name.includes('.onnx') && !c.name.includes('manifest.json'))
      expect(clientState().trusted).toEqual(before.trusted);
    expect(clientState().installed).toBe(before.installed);

    // The hub carries on (renews an expiring root, re-signs past pinned versions, releases); the client takes it.
    reset();
    const st = await state();
    if (Date.parse(st.root.expires) - now().getTime() < 30 * DAY) await fx.repo.rotateRoot('keep');
    await fx.repo.resignOnline({ force: true });
    const next = await release();
    expect(await check()).toEqual({ status: 'updated', version: next });
    expect(installed?.model).toEqual(pool[next % 3]);
  });

  it('accepts every rotation the hub makes: root renewal, new root keys, and each online key', async () => {
    reset();
    const rotations: (() => Promise<unknown>)[] = [
      () => fx.repo.rotateRoot('keep'),
      () => fx.repo.rotateRoot([generateKey()], 1),
      () => fx.repo.rotateOnlineKey('timestamp'),
      () => fx.repo.rotateOnlineKey('snapshot'),
      () => fx.repo.rotateOnlineKey('targets'),
    ];
    for (const rotate of rotations) {
      await rotate();
      expect(await check()).toMatchObject({ status: 'up-to-date' });
      const next = await release();
      expect(await check()).toEqual({ status: 'updated', version: next });
      expect(installed?.model).toEqual(Uint8Array.from(await hubFile(await targetPathOf(next, 'model'))));
    }
    expect(trusted.root).toEqual(await fx.repo.rootFile((await state()).root.version));
  });

  it('refuses files over the cap even from a remote that returns them whole', async () => {
    const lazy: TufRemote = withMetadataDir({
      get: async (path) => (path === 'metadata/timestamp.json' ? new Uint8Array(20_000) : fx.store.get(`tuf/${path}`)),
    });
    await expect(refreshTufMetadata({ trusted, remote: lazy, now: now() })).rejects.toMatchObject({ code: 'TUF_TOO_LARGE' });
  });
});
