/**
 * The repository's bookkeeping without a device: what it writes where, what it refuses, and how
 * it recovers its state from the store alone (a restart, or a second process).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { KeyDir } from './keys.js';
import { parseMetadata } from './metadata.js';
import { ReleaseRepository } from './repository.js';
import { MODEL, openRepoFixture, type RepoFixture, tinyRelease } from './test-support.js';

let fx: RepoFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

/** A release whose model is arbitrary bytes: the hub never runs the model, it signs it. */
const release = (version: number, model = MODEL) => tinyRelease(version, { model, onnxBytes: randomBytes(64) });

describe('ReleaseRepository', () => {
  it('writes consistent-snapshot names, and timestamp.json is the only file it overwrites', async () => {
    fx = await openRepoFixture();
    const before = new Set<string>();
    for await (const key of fx.store.list('tuf/')) before.add(key);
    expect([...before].sort()).toEqual([
      'tuf/metadata/1.root.json',
      'tuf/metadata/1.snapshot.json',
      'tuf/metadata/1.targets.json',
      'tuf/metadata/timestamp.json',
    ]);
    const r = release(1);
    await fx.repo.publishRelease(r);
    const after: string[] = [];
    for await (const key of fx.store.list('tuf/')) if (!before.has(key)) after.push(key);
    after.sort();
    expect(after.slice(0, 2)).toEqual(['tuf/metadata/2.snapshot.json', 'tuf/metadata/2.targets.json']);
    expect(
      after
        .slice(2)
        .map((k) => k.replace(/\/[0-9a-f]{64}\./, '/<sha256>.'))
        .sort(),
    ).toEqual([`tuf/targets/${MODEL}/1/<sha256>.manifest.json`, `tuf/targets/${MODEL}/1/<sha256>.model.onnx`]);
    const ts = parseMetadata<{ meta: Record<string, { version: number; length: number; hashes: { sha256: string } }> }>(
      'timestamp',
      (await fx.store.get('tuf/metadata/timestamp.json'))!,
    );
    expect(ts.signed.meta['snapshot.json']).toMatchObject({
      version: 2,
      length: expect.any(Number),
      hashes: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
  });

  it('another instance over the same store and keys (a restart) carries on from the stored metadata', async () => {
    fx = await openRepoFixture();
    await fx.repo.publishRelease(release(1));
    const again = new ReleaseRepository({ store: fx.store, keyDir: new KeyDir(fx.keyDir.dir) });
    expect(await again.publishRelease(release(2))).toMatchObject({ versions: { root: 1, targets: 3, snapshot: 3, timestamp: 3 } });
    expect(await fx.repo.releases(MODEL)).toEqual([1, 2]);
  });

  it('keeps the newest releases per model listed; other models are untouched', async () => {
    fx = await openRepoFixture({ keepReleases: 2 });
    await fx.repo.publishRelease(release(1, 'other'));
    for (const v of [1, 2, 3, 4]) await fx.repo.publishRelease(release(v));
    expect(await fx.repo.releases(MODEL)).toEqual([3, 4]);
    expect(await fx.repo.releases('other')).toEqual([1]);
  });

  it('refuses to initialise twice, to publish before init, and to sign without the online keys', async () => {
    fx = await openRepoFixture();
    await expect(fx.repo.initialise()).rejects.toMatchObject({ code: 'CONFLICT' });
    const empty = new ReleaseRepository({ store: fx.store, keyDir: fx.keyDir, prefix: 'elsewhere/' });
    await expect(empty.publishRelease(release(1))).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    const noKeys = new ReleaseRepository({ store: fx.store, keyDir: new KeyDir(`${fx.dir}/no-keys`) });
    await expect(noKeys.publishRelease(release(1))).rejects.toMatchObject({
      code: 'BAD_CONFIG',
      message: expect.stringMatching(/holds 0 of the 1 targets keys/),
    });
    await expect(fx.repo.publishRelease({ ...release(1), model: 'bad/name' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('honours configured expiries', async () => {
    const now = new Date('2027-01-01T00:00:00Z');
    fx = await openRepoFixture({ now: () => now, expiries: { timestamp: 3_600_000, snapshot: 86_400_000 } });
    const state = (await fx.repo.state())!;
    expect(state.timestamp.expires).toBe('2027-01-01T01:00:00Z');
    expect(state.snapshot.expires).toBe('2027-01-02T00:00:00Z');
    expect(state.targets.expires).toBe('2027-04-01T00:00:00Z');
    expect(state.root.expires).toBe('2028-01-01T00:00:00Z');
  });
});
