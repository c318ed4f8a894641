/**
 * 1,000 seeded random bit flips, each in one file the device needs for a pending release (the model,
 * its manifest, or the timestamp, snapshot or targets metadata, freshly signed for every try), all
 * refused, the running model untouched; the release installs once the flips stop. One repository
 * and one server; the server flips the bit on the fly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UpdateResult } from '../src/updates/index.js';
import { releasePaths } from '../src/updates/index.js';
import { addRelease, type Device, MODEL, newDevice, removeDevice, TufRepository, TufServer } from './support/update-harness.js';

const FLIPS = 1_000;

/** mulberry32: a small seeded generator, so a failing flip can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('random bit flips', () => {
  let repo: TufRepository;
  let server: TufServer;
  let device: Device;

  beforeAll(async () => {
    repo = new TufRepository();
    server = await TufServer.start(repo);
    device = await newDevice(repo, server, { fetch: { timeoutMs: 2_000, stallTimeoutMs: 1_000 } });
    addRelease(repo, 1);
    repo.publish();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 1 } });
    addRelease(repo, 2);
  });
  afterAll(async () => {
    await server.close();
    await removeDevice(device);
  });

  it(`refuses all ${FLIPS} flips of model or metadata`, async () => {
    const random = rng(0x5eed);
    const codes: Record<string, number> = {};
    const paths = releasePaths(MODEL, 2);
    for (let i = 0; i < FLIPS; i++) {
      repo.publish(); // new timestamp, snapshot and targets: the device must fetch all three again
      const files = [
        repo.targetFilePath(paths.model),
        repo.targetFilePath(paths.manifest),
        'metadata/timestamp.json',
        `metadata/${repo.versions.snapshot}.snapshot.json`,
        `metadata/${repo.versions.targets}.targets.json`,
      ];
      const target = files[Math.floor(random() * files.length)]!;
      const bit = Math.floor(random() * repo.file(target).length * 8);
      server.fault = (p) => (p === target ? { kind: 'flip', bit } : undefined);
      const r: UpdateResult = await device.updater.checkForUpdate();
      if (r.status !== 'rejected') throw new Error(`flip ${i} (bit ${bit} of ${target}) was not refused: ${r.status}`);
      codes[r.code] = (codes[r.code] ?? 0) + 1;
      expect(device.updater.currentModel()?.version).toBe(1);
    }
    // Every flip is named by the check that caught it; nothing fell through to an unrelated failure.
    expect(
      Object.keys(codes).every((c) =>
        ['UPDATE_HASH_MISMATCH', 'UPDATE_UNSIGNED', 'UPDATE_BAD_METADATA', 'UPDATE_EXPIRED', 'UPDATE_ROLLBACK'].includes(c),
      ),
    ).toBe(true);
    expect(Object.values(codes).reduce((a, b) => a + b, 0)).toBe(FLIPS);

    server.fault = undefined;
    repo.publish();
    expect(await device.updater.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 2 } });
  });
});
