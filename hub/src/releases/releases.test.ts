/**
 * The hub's release repository end to end: served by the hub's own API (Hono on 127.0.0.1) and
 * consumed by the real edge-agent updater (tuf-js, onnxruntime self-test). Releases install and
 * update; root 1→2 and the timestamp key rotate while devices keep updating; the online roles are
 * re-signed before they expire; a rollback is a new, higher version with the older bytes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelUpdater, onnxSelfTest } from '@edgeloop/edge-agent';
import { ANNOUNCE_FILTER, decodeJson } from '@edgeloop/protocol';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, openApiFixture } from '../api/test-support.js';
import { announce } from './announce.js';
import { generateKey, KeyDir } from './keys.js';
import { ReleaseRepository } from './repository.js';
import { MODEL, tinyRelease } from './test-support.js';

const DAY = 86_400_000;
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);

let f: ApiFixture;
let server: ReturnType<typeof serve>;
let base: string;
let repo: ReleaseRepository;
let deviceDir: string;
let updater: ModelUpdater;
/** Every release published, by version (tfjs names layers uniquely, so a rebuild differs). */
const published = new Map<number, ReturnType<typeof tinyRelease>>();

function release(version: number, options: Parameters<typeof tinyRelease>[1] = {}) {
  const r = tinyRelease(version, options);
  published.set(version, r);
  return repo.publishRelease(r);
}

async function check() {
  return updater.checkForUpdate();
}

async function trustedVersion(role: 'root' | 'timestamp'): Promise<number> {
  const doc = JSON.parse(await readFile(join(deviceDir, 'state', 'tuf-metadata', `${role}.json`), 'utf8'));
  return doc.signed.version;
}

beforeAll(async () => {
  f = await openApiFixture();
  server = serve({ fetch: f.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keyDir = new KeyDir(join(f.dir, 'keys'));
  await keyDir.init(1);
  repo = new ReleaseRepository({ store: f.store, keyDir, now });
  await repo.initialise();
  deviceDir = await mkdtemp(join(tmpdir(), 'edgeloop-device-'));
  updater = new ModelUpdater({
    modelName: MODEL,
    stateDir: join(deviceDir, 'state'),
    modelsDir: join(deviceDir, 'models'),
    repositoryUrl: `${base}/tuf/`,
    trustedRoot: await repo.rootFile(1),
    selfTest: onnxSelfTest,
    now,
    fetch: { timeoutMs: 10_000, stallTimeoutMs: 5_000 },
  });
  await updater.recover();
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  await f.close();
  await rm(deviceDir, { recursive: true, force: true });
});

describe('releases through /tuf/ to the real edge-agent updater', () => {
  it('an empty repository verifies but has no release', async () => {
    expect(await check()).toMatchObject({ status: 'rejected', code: 'UPDATE_NOT_FOUND' });
  });

  it('a release installs, a second one updates', async () => {
    expect(await release(1)).toMatchObject({
      version: 1,
      alreadyPublished: false,
      versions: { root: 1, targets: 2, snapshot: 2, timestamp: 2 },
    });
    expect(await check()).toMatchObject({ status: 'updated', model: { version: 1 } });
    expect(await readFile(join(deviceDir, 'models', MODEL, '1', 'model.onnx'))).toEqual(Buffer.from(published.get(1)!.onnxBytes));
    await release(2);
    expect(await check()).toMatchObject({ status: 'updated', model: { version: 2 }, previous: { version: 1 } });
    expect(await check()).toMatchObject({ status: 'up-to-date' });
  });

  it('serves static-file semantics: lengths, cache policies, HEAD, JSON 404s', async () => {
    const ts = await fetch(`${base}/tuf/metadata/timestamp.json`);
    const tsBytes = new Uint8Array(await ts.arrayBuffer());
    expect(ts.status).toBe(200);
    expect(ts.headers.get('cache-control')).toBe('no-cache');
    expect(Number(ts.headers.get('content-length'))).toBe(tsBytes.byteLength);
    const state = (await repo.state())!;
    const snap = await fetch(`${base}/tuf/metadata/${state.snapshot.version}.snapshot.json`);
    expect(snap.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(snap.headers.get('content-type')).toBe('application/json');
    const entry = state.targets.targets[`${MODEL}/2/model.onnx`]!;
    const target = await fetch(`${base}/tuf/targets/${MODEL}/2/${entry.hashes.sha256}.model.onnx`, { method: 'HEAD' });
    expect(target.status).toBe(200);
    expect(Number(target.headers.get('content-length'))).toBe(entry.length);
    for (const path of [
      'metadata/99.root.json',
      'metadata/root.json',
      `targets/${MODEL}/2/model.onnx`,
      'metadata/..%2F..%2Fhub.db',
      `targets/${MODEL}/02/${entry.hashes.sha256}.model.onnx`,
    ]) {
      const res = await fetch(`${base}/tuf/${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it('refuses a release that does not describe itself, and a version that does not go up; a retry is a no-op', async () => {
    const v3 = tinyRelease(3);
    const other = tinyRelease(4);
    await expect(repo.publishRelease({ ...v3, manifestBytes: other.manifestBytes })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(repo.publishRelease({ ...v3, onnxBytes: other.onnxBytes })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(repo.publishRelease(tinyRelease(1, { seed: 9 }))).rejects.toMatchObject({ code: 'CONFLICT' });
    const before = (await repo.state())!.timestamp.version;
    expect(await repo.publishRelease(published.get(2)!)).toMatchObject({ alreadyPublished: true });
    expect((await repo.state())!.timestamp.version).toBe(before);
  });

  it('root 1→2 (1 key → 3 keys, threshold 2): devices chain to the new root and keep updating', async () => {
    const keys = [generateKey(), generateKey(), generateKey()];
    expect(await repo.rotateRoot(keys, 2)).toMatchObject({ root: 2 });
    const root2 = JSON.parse(Buffer.from(await repo.rootFile(2)).toString());
    expect(root2.signed.roles.root).toEqual({ keyids: keys.map((k) => k.id), threshold: 2 });
    expect(root2.signatures).toHaveLength(4); // the old key and the three new ones
    await release(3);
    expect(await check()).toMatchObject({ status: 'updated', model: { version: 3 } });
    expect(await trustedVersion('root')).toBe(2);
  });

  it('rotating the timestamp key never makes devices reject the repository', async () => {
    const oldTimestampKeys = (await repo.state())!.root.signed.roles.timestamp.keyids;
    expect(await repo.rotateOnlineKey('timestamp')).toMatchObject({ root: 3 });
    expect(await check()).toMatchObject({ status: 'up-to-date' }); // no release yet: the new root and timestamp verify
    expect(await trustedVersion('root')).toBe(3);
    const state = (await repo.state())!;
    expect(state.root.signed.roles.timestamp.keyids).not.toEqual(oldTimestampKeys);
    await release(4);
    expect(await check()).toMatchObject({ status: 'updated', model: { version: 4 } });
    const ts = JSON.parse(Buffer.from((await f.store.get('tuf/metadata/timestamp.json'))!).toString());
    expect(ts.signatures.map((s: { keyid: string }) => s.keyid)).toEqual(state.root.signed.roles.timestamp.keyids);
  });

  it('re-signs snapshot and timestamp before they expire; a device whose clock passed them refuses until then', async () => {
    expect(await repo.resignOnline()).toMatchObject({ resigned: [] }); // all fresh
    offsetMs += 2 * DAY;
    expect(await check()).toMatchObject({ status: 'rejected', code: 'UPDATE_EXPIRED' });
    expect(await repo.resignOnline()).toMatchObject({ resigned: ['timestamp'] });
    expect(await check()).toMatchObject({ status: 'up-to-date' });
    offsetMs += 6 * DAY;
    expect(await repo.resignOnline()).toMatchObject({ resigned: ['snapshot', 'timestamp'] });
    expect(await check()).toMatchObject({ status: 'up-to-date' });
    expect(await repo.resignOnline({ force: true })).toMatchObject({ resigned: ['targets', 'snapshot', 'timestamp'] });
    expect(await check()).toMatchObject({ status: 'up-to-date' });
  });

  it('a rollback is a new, higher version with the older bytes; devices install it', async () => {
    const v3 = published.get(3)!;
    await release(5, { onnxBytes: v3.onnxBytes });
    expect(await check()).toMatchObject({ status: 'updated', model: { version: 5 } });
    expect(await readFile(join(deviceDir, 'models', MODEL, '5', 'model.onnx'))).toEqual(Buffer.from(v3.onnxBytes));
    expect(await repo.releases(MODEL)).toEqual([1, 2, 3, 4, 5]);
  });

  it('renews the root (same keys, new version and expiry); devices follow', async () => {
    expect(await repo.rotateRoot('keep')).toMatchObject({ root: 4 });
    expect(await check()).toMatchObject({ status: 'up-to-date' });
    expect(await trustedVersion('root')).toBe(4);
  });

  it('announces the release on the retained announce topic (a hint, decodable by the protocol)', async () => {
    const messages: { topic: string; payload: Uint8Array; retain: boolean }[] = [];
    // A recording stand-in for the broker (announce only calls publish).
    const recorder = {
      publish: async (topic: string, payload: Uint8Array, o: { retain: boolean }) =>
        void messages.push({ topic, payload, retain: o.retain }),
    };
    const state = (await repo.state())!;
    const topic = await announce(recorder, { model: MODEL, version: 5, timestampVersion: state.timestamp.version });
    expect(topic).toBe(ANNOUNCE_FILTER.replace('+', MODEL));
    expect(messages[0]?.retain).toBe(true);
    const decoded = decodeJson('announcement', messages[0]!.payload);
    expect(decoded.ok && decoded.value).toMatchObject({
      v: 1,
      model: MODEL,
      version: 5,
      timestampVersion: state.timestamp.version,
      repository: '/tuf/',
    });
  });
});
