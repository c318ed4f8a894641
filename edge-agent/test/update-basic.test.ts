/** The update flow end to end against a real TUF repository on 127.0.0.1: install, swap, rollback, boot. */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelUpdater, onnxSelfTest } from '../src/updates/index.js';
import {
  addRelease,
  type Device,
  installedMatches,
  MODEL,
  newDevice,
  removeDevice,
  TufRepository,
  TufServer,
} from './support/update-harness.js';
import { tinyOnnx } from './support/update-onnx.js';

describe('ModelUpdater', () => {
  let repo: TufRepository;
  let server: TufServer;
  let device: Device;

  beforeAll(async () => {
    repo = new TufRepository();
    server = await TufServer.start(repo);
    device = await newDevice(repo, server);
  });
  afterAll(async () => {
    await server.close();
    await removeDevice(device);
  });

  it('starts with no model and finds no release in an empty repository', async () => {
    repo.publish();
    expect(device.updater.currentModel()).toBeUndefined();
    const r = await device.updater.checkForUpdate();
    expect(r).toMatchObject({ status: 'rejected', code: 'UPDATE_NOT_FOUND' });
  });

  it('installs v1, then v2, keeping v1 as previous, and reports progress', async () => {
    addRelease(repo, 1);
    repo.publish();
    const progress: number[] = [];
    device.updater.on('progress', (p) => progress.push(p.received));
    const models: (number | undefined)[] = [];
    device.updater.on('model', (m) => models.push(m?.version));
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 1 } });
    addRelease(repo, 2);
    repo.publish();
    const r = await device.updater.checkForUpdate();
    expect(r).toMatchObject({ status: 'updated', model: { version: 2 }, previous: { version: 1 } });
    expect(device.updater.currentModel()).toEqual({ name: MODEL, version: 2, dir: join(device.modelsDir, MODEL, '2') });
    expect(await installedMatches(repo, device.modelsDir, 2)).toBe(true);
    expect(models).toEqual([1, 2]);
    expect(progress.length).toBeGreaterThan(0);
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date', model: { version: 2 } });
    const pointer = JSON.parse(await readFile(join(device.modelsDir, MODEL, 'current'), 'utf8'));
    expect(pointer).toEqual({ v: 1, current: 2, previous: 1, highest: 2 });
  });

  it('rolls back instantly and does not reinstall the rolled-back version', async () => {
    const requests = server.requests.length;
    expect(await device.updater.rollback()).toMatchObject({ version: 1 });
    expect(server.requests.length).toBe(requests);
    expect(device.updater.currentModel()?.version).toBe(1);
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date', model: { version: 1 } });
    expect(await device.updater.rollback()).toMatchObject({ version: 2 });
  });

  it('boots (recover) on the verified current model, and falls back to previous if it was damaged', async () => {
    const again = new ModelUpdater({
      modelName: MODEL,
      stateDir: device.stateDir,
      modelsDir: device.modelsDir,
      repositoryUrl: server.url,
      selfTest: onnxSelfTest,
    });
    expect(await again.recover()).toMatchObject({ version: 2 });
    const onnx = join(device.modelsDir, MODEL, '2', 'model.onnx');
    const bytes = await readFile(onnx);
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    await writeFile(onnx, bytes);
    const third = new ModelUpdater({
      modelName: MODEL,
      stateDir: device.stateDir,
      modelsDir: device.modelsDir,
      repositoryUrl: server.url,
      selfTest: onnxSelfTest,
    });
    expect(await third.recover()).toMatchObject({ version: 1 });
    expect(await installedMatches(repo, device.modelsDir, 1)).toBe(true);
  });

  it('runs the real self-test: a NaN model is refused', async () => {
    await expect(onnxSelfTest(join(device.modelsDir, MODEL, '1'))).resolves.toBeUndefined();
    expect(tinyOnnx({ nan: true }).byteLength).toBeGreaterThan(100);
  });
});

describe('recover() after a crash at each step of an update', () => {
  let repo: TufRepository;
  let server: TufServer;
  let device: Device;

  beforeAll(async () => {
    repo = new TufRepository();
    server = await TufServer.start(repo);
    device = await newDevice(repo, server);
    addRelease(repo, 1);
    repo.publish();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated' });
    addRelease(repo, 2);
    repo.publish();
  });
  afterAll(async () => {
    await server.close();
    await removeDevice(device);
  });

  const boot = () =>
    new ModelUpdater({
      modelName: MODEL,
      stateDir: device.stateDir,
      modelsDir: device.modelsDir,
      repositoryUrl: server.url,
      selfTest: onnxSelfTest,
    });
  const root = () => join(device.modelsDir, MODEL);

  it('drops leftovers of every stage (download, partial dir, unswapped dir, pointer and metadata temp files)', async () => {
    await mkdir(join(device.stateDir, 'tuf-tmp'), { recursive: true });
    await writeFile(join(device.stateDir, 'tuf-tmp', 'download-1'), 'half a model');
    await mkdir(join(device.stateDir, 'tuf-metadata.work'), { recursive: true });
    await writeFile(join(device.stateDir, 'tuf-metadata', 'timestamp.json.tmp-abc'), '{"sig');
    await mkdir(join(root(), '2.partial'), { recursive: true });
    await writeFile(join(root(), '2.partial', 'model.onnx'), 'partial');
    await mkdir(join(root(), '3'), { recursive: true }); // complete-looking, never swapped in
    await writeFile(join(root(), 'current.tmp-123'), '{"v":1,"current":3');
    const updater = boot();
    expect(await updater.recover()).toMatchObject({ version: 1 });
    expect((await readdir(root())).sort()).toEqual(['1', 'current']);
    expect(await readdir(join(device.stateDir, 'tuf-metadata'))).not.toContain('timestamp.json.tmp-abc');
    expect(await readdir(device.stateDir)).not.toContain('tuf-metadata.work');
    expect(await updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 2 } });
    expect(await installedMatches(repo, device.modelsDir, 2)).toBe(true);
  });

  it('falls back to none when neither current nor previous verifies, and reinstalls nothing older', async () => {
    await writeFile(join(root(), '2', 'manifest.json'), '{}');
    await writeFile(join(root(), '1', 'model.onnx'), 'x');
    const updater = boot();
    expect(await updater.recover()).toBeUndefined();
    expect(JSON.parse(await readFile(join(root(), 'current'), 'utf8'))).toEqual({ v: 1, highest: 2 });
    expect(await updater.checkForUpdate()).toMatchObject({ status: 'up-to-date' });
    addRelease(repo, 3);
    repo.publish();
    expect(await updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 3 } });
  });
});

describe('the quick check (timestamp.json unchanged since the last full check)', () => {
  const DAY = 86_400_000;
  let repo: TufRepository;
  let server: TufServer;
  let device: Device;
  let offsetMs = 0;
  const since = (from: number) => server.requests.slice(from).map((p) => p.replace(/^\/+/, ''));

  beforeAll(async () => {
    repo = new TufRepository();
    server = await TufServer.start(repo);
    device = await newDevice(repo, server, { now: () => new Date(Date.now() + offsetMs) });
    addRelease(repo, 1);
    repo.publish();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 1 } });
  });
  afterAll(async () => {
    await server.close();
    await removeDevice(device);
  });

  it('asks only for the next root and timestamp.json, and touches no file, while nothing was published', async () => {
    const trustedTimestamp = join(device.stateDir, 'tuf-metadata', 'timestamp.json');
    const before = (await stat(trustedTimestamp)).mtimeMs;
    const from = server.requests.length;
    for (let i = 0; i < 3; i++)
      expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date', model: { version: 1 } });
    expect(since(from)).toEqual(Array(3).fill(['metadata/2.root.json', 'metadata/timestamp.json']).flat());
    expect((await stat(trustedTimestamp)).mtimeMs).toBe(before);
  });

  it('runs the full refresh when the timestamp changed, with or without a new release', async () => {
    repo.publish(); // a new timestamp (and snapshot), the same targets
    let from = server.requests.length;
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date', model: { version: 1 } });
    expect(since(from).filter((p) => p.includes('snapshot')).length).toBe(1);
    addRelease(repo, 2);
    repo.publish();
    from = server.requests.length;
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 2 } });
    expect(since(from).some((p) => p.includes('targets.json'))).toBe(true);
    expect(await installedMatches(repo, device.modelsDir, 2)).toBe(true);
  });

  it('still refuses a frozen repository: the same timestamp past its expiry is rejected, not up to date', async () => {
    offsetMs = 2 * DAY; // the timestamp's lifetime is one day; the server keeps serving the same bytes
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'rejected', code: 'UPDATE_EXPIRED' });
    expect(device.updater.currentModel()?.version).toBe(2);
  });

  it('reports a failed fetch as the full refresh would, then recovers', async () => {
    offsetMs = 0;
    repo.publish();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date' });
    server.source = new Map(); // every file 404s
    const from = server.requests.length;
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'rejected' });
    expect(since(from)).toEqual(['metadata/2.root.json', 'metadata/timestamp.json']);
    server.source = repo;
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date', model: { version: 2 } });
  });

  it('keeps what a refresh verified before it failed, and the next check goes on from there', async () => {
    addRelease(repo, 3);
    repo.publish();
    server.fault = (path) => (/snapshot\.json$/.test(path) ? { kind: 'status', status: 500 } : undefined);
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'rejected' });
    const trusted = (f: string) => readFile(join(device.stateDir, 'tuf-metadata', f));
    // The new timestamp was verified before the snapshot failed: it is trusted now (TUF §5.4.5).
    expect((await trusted('timestamp.json')).equals(repo.file('metadata/timestamp.json'))).toBe(true);
    expect(device.updater.currentModel()?.version).toBe(2);
    server.fault = undefined;
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 3 } });
    const signed = async (f: string) => JSON.parse((await trusted(f)).toString('utf8')).signed;
    expect((await signed('timestamp.json')).meta['snapshot.json'].version).toBe((await signed('snapshot.json')).version);
    const snapshotName = `metadata/${(await signed('snapshot.json')).version}.snapshot.json`;
    expect((await trusted('snapshot.json')).equals(repo.file(snapshotName))).toBe(true);
    expect(await installedMatches(repo, device.modelsDir, 3)).toBe(true);
    // A fresh process (recover, then a check) agrees with what this one persisted.
    await device.updater.recover();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'up-to-date', model: { version: 3 } });
  });
});
