import { describe, expect, it } from 'vitest';
import { days, makeKey, T0, TestRepo } from '../../test/tuf-repo.js';
import { utf8Encoder } from '../bytes.js';
import { TufError, type TufErrorCode } from '../errors.js';
import { refreshTufMetadata } from './refresh.js';
import { fetchVerifiedTarget } from './targets.js';
import type { TufTrustedBytes } from './types.js';

const NOW = new Date(T0.getTime() + 3_600_000);
const model = (n: number) => utf8Encoder.encode(`model bytes ${n}`.repeat(n));
const refresh = (repo: TestRepo, trusted?: TufTrustedBytes, now = NOW) =>
  refreshTufMetadata({ trusted: trusted ?? { root: repo.files.get('1.root.json')! }, remote: repo.remote(), now });
async function rejects(p: Promise<unknown>, code: TufErrorCode): Promise<TufError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TufError);
  expect((error as TufError).code, (error as Error).message).toBe(code);
  return error as TufError;
}

describe('refreshTufMetadata: the happy path', () => {
  it('verifies a fresh repository from root v1, then a release, and returns bytes to persist', async () => {
    const repo = await TestRepo.create();
    const first = await refresh(repo);
    expect(first.versions).toEqual({ root: 1, timestamp: 1, snapshot: 1, targets: 1 });
    expect(first.targets).toEqual({});
    await repo.publish({ 'digits/1/model.onnx': model(1) });
    const second = await refresh(repo, first.trusted);
    expect(second.versions).toEqual({ root: 1, timestamp: 2, snapshot: 2, targets: 2 });
    expect(second.trusted.timestamp).toEqual(repo.files.get('timestamp.json'));
    expect(second.trusted.targets).toEqual(repo.files.get('2.targets.json'));
    const target = second.targets['digits/1/model.onnx']!;
    expect(target).toMatchObject({ path: 'digits/1/model.onnx', length: model(1).byteLength });
    expect(await fetchVerifiedTarget(repo.remote(), target)).toEqual(model(1));
  });

  it('reuses trusted snapshot and targets the timestamp still names (no download)', async () => {
    const repo = await TestRepo.create();
    const first = await refresh(repo);
    repo.requests.length = 0;
    const again = await refresh(repo, first.trusted);
    expect(again.versions).toEqual(first.versions);
    expect(repo.requests).toEqual(['2.root.json', 'timestamp.json']);
  });

  it('never follows delegations: only top-level targets are returned', async () => {
    const repo = await TestRepo.create();
    const evil = await makeKey();
    await repo.publish(
      { 'a/1/model.onnx': model(1) },
      {
        edit: {
          targets: (s) => {
            s.delegations = {
              keys: { [evil.id]: evil.json },
              roles: [{ name: 'r', keyids: [evil.id], threshold: 1, paths: ['*'], terminating: true }],
            };
          },
          snapshot: (s) => {
            s.meta['r.json'] = { version: 1 };
          },
        },
      },
    );
    const result = await refresh(repo);
    expect(Object.keys(result.targets)).toEqual(['a/1/model.onnx']);
    expect(repo.requests.some((p) => p.includes('r.json'))).toBe(false);
  });
});

describe('root rotation (TUF §5.3)', () => {
  it('walks the chain to the newest root, then refuses a root signed by the rotated-out key', async () => {
    const repo = await TestRepo.create();
    const trusted = (await refresh(repo)).trusted;
    const oldRoot = repo.keys.root;
    await repo.rotate('root', [await makeKey(), await makeKey()], 2);
    await repo.writeRoot(); // v3 by the new keys only
    const rotated = await refresh(repo, trusted);
    expect(rotated.versions.root).toBe(3);
    expect(rotated.trusted.root).toEqual(repo.files.get('3.root.json'));
    // v4 signed by the key root v3 no longer lists.
    await repo.writeRoot(oldRoot);
    await rejects(refresh(repo, rotated.trusted), 'TUF_BAD_SIGNATURE');
    // …and by one of the two new keys: below root v3's threshold of 2.
    repo.files.delete('4.root.json');
    repo.versions.root = 3;
    await repo.writeRoot([repo.keys.root[0]!]);
    await rejects(refresh(repo, rotated.trusted), 'TUF_BAD_SIGNATURE');
  });

  it('needs N+1 signed by its own new keys too, not only by the old ones', async () => {
    const repo = await TestRepo.create();
    const oldRoot = repo.keys.root;
    repo.keys.root = [await makeKey()];
    await repo.writeRoot(oldRoot);
    await rejects(refresh(repo), 'TUF_BAD_SIGNATURE');
  });

  it('refuses an old root served as N+1 (rollback) and one that skips versions', async () => {
    const repo = await TestRepo.create();
    repo.overrides.set('2.root.json', repo.files.get('1.root.json'));
    await rejects(refresh(repo), 'TUF_ROLLBACK');
    repo.overrides.clear();
    await repo.writeRoot(undefined, {
      edit: {
        root: (s) => {
          s.version = 5;
        },
      },
    });
    await rejects(refresh(repo), 'TUF_BAD_METADATA');
  });

  it('stops after maxRootRotations newer roots', async () => {
    const repo = await TestRepo.create();
    for (let i = 0; i < 3; i++) await repo.writeRoot();
    const result = await refreshTufMetadata({
      trusted: { root: repo.files.get('1.root.json')! },
      remote: repo.remote(),
      now: NOW,
      limits: { maxRootRotations: 2 },
    });
    expect(result.versions.root).toBe(3);
  });

  it('drops the trusted timestamp and snapshot when their keys rotate (§5.3.11)', async () => {
    const repo = await TestRepo.create();
    // A fast-forward attack with the stolen timestamp key: the client trusted timestamp v999.
    await repo.publish(
      {},
      {
        from: 'timestamp',
        edit: {
          timestamp: (s) => {
            s.version = 999;
          },
        },
      },
    );
    const pinned = (await refresh(repo)).trusted;
    repo.versions.timestamp = 5;
    await repo.publish({}, { from: 'timestamp' });
    await rejects(refresh(repo, pinned), 'TUF_ROLLBACK');
    // The repository adds a timestamp key (the old one stays listed, so the pinned v999 still
    // verifies): the changed key set alone drops the pinned timestamp, and v7 is accepted.
    const oldKeys = repo.keys.timestamp;
    const fresh = await makeKey();
    await repo.rotate('timestamp', [...oldKeys, fresh]);
    await repo.publish({}, { from: 'timestamp' });
    expect((await refresh(repo, pinned)).versions).toMatchObject({ root: 2, timestamp: 7 });
    // Then the old key is rotated out: it no longer signs anything.
    await repo.rotate('timestamp', [fresh]);
    await repo.publish({}, { from: 'timestamp', signers: { timestamp: oldKeys } });
    await rejects(refresh(repo, pinned), 'TUF_BAD_SIGNATURE');
  });
});

describe('rollback (TUF §5.4.3, §5.5.5)', () => {
  it('refuses an older timestamp, and keeps the trusted one on an equal version', async () => {
    const repo = await TestRepo.create();
    const old = repo.files.get('timestamp.json')!;
    await repo.publish({}, { from: 'timestamp' });
    const trusted = (await refresh(repo)).trusted;
    repo.overrides.set('timestamp.json', old);
    await rejects(refresh(repo, trusted), 'TUF_ROLLBACK');
    // Same version 2, other content (re-signed by the timestamp key): discarded, trusted kept.
    repo.overrides.clear();
    repo.versions.timestamp = 1;
    await repo.publish(
      {},
      {
        from: 'timestamp',
        edit: {
          timestamp: (s) => {
            s.expires = '2030-01-01T12:00:00Z';
          },
        },
      },
    );
    const kept = await refresh(repo, trusted);
    expect(kept.trusted.timestamp).toEqual(trusted.timestamp);
  });

  it('refuses a timestamp naming an older snapshot', async () => {
    const repo = await TestRepo.create();
    await repo.publish();
    const trusted = (await refresh(repo)).trusted;
    await repo.publish(
      {},
      {
        from: 'timestamp',
        edit: {
          timestamp: (s) => {
            s.meta['snapshot.json'].version = 1;
          },
        },
      },
    );
    await rejects(refresh(repo, trusted), 'TUF_ROLLBACK');
  });

  it('refuses a snapshot naming older targets, or dropping a file the trusted one listed', async () => {
    const repo = await TestRepo.create();
    await repo.publish(
      {},
      {
        edit: {
          snapshot: (s) => {
            s.meta['r.json'] = { version: 3 };
          },
        },
      },
    );
    const trusted = (await refresh(repo)).trusted;
    await repo.publish(
      {},
      {
        from: 'snapshot',
        edit: {
          snapshot: (s) => {
            s.meta['targets.json'] = { version: 1 };
          },
        },
      },
    );
    await rejects(refresh(repo, trusted), 'TUF_ROLLBACK');
    await repo.publish({}, { from: 'snapshot' }); // lists targets.json but no longer r.json
    await rejects(refresh(repo, trusted), 'TUF_ROLLBACK');
  });

  it('refuses snapshot and targets whose version is not the one their parent names', async () => {
    const repo = await TestRepo.create();
    const noHash = (s: Record<string, { version: number; length?: number; hashes?: unknown }>) => {
      for (const m of Object.values(s)) {
        delete m.length;
        delete m.hashes;
      }
    };
    await repo.publish({}, { edit: { snapshot: (s) => noHash(s.meta), timestamp: (s) => noHash(s.meta) } });
    repo.overrides.set('2.snapshot.json', repo.files.get('1.snapshot.json'));
    await rejects(refresh(repo), 'TUF_ROLLBACK');
    repo.overrides.clear();
    repo.overrides.set('2.targets.json', repo.files.get('1.targets.json'));
    await rejects(refresh(repo), 'TUF_ROLLBACK');
  });
});

describe('mix-and-match and freeze', () => {
  it('refuses snapshot and targets from another state of the repository (§5.5.2, §5.6.2)', async () => {
    const repo = await TestRepo.create();
    await repo.publish({ 'm/1/model.onnx': model(1) });
    const forkTargets = repo.files.get('2.targets.json')!;
    const forkSnapshot = repo.files.get('2.snapshot.json')!;
    repo.versions = { ...repo.versions, targets: 1, snapshot: 1, timestamp: 1 };
    await repo.publish({ 'm/1/model.onnx': model(2) });
    repo.overrides.set('2.targets.json', forkTargets);
    await rejects(refresh(repo), 'TUF_BAD_HASH');
    repo.overrides.set('2.targets.json', repo.files.get('2.targets.json')!.subarray(1));
    await rejects(refresh(repo), 'TUF_BAD_LENGTH');
    repo.overrides.clear();
    repo.overrides.set('2.snapshot.json', forkSnapshot);
    await rejects(refresh(repo), 'TUF_BAD_HASH'); // same length, other targets hash inside
  });

  it.each([
    ['timestamp', 2, undefined],
    ['snapshot', 8, 'timestamp'],
    ['targets', 91, 'snapshot'],
    ['root', 366, 'targets'],
  ] as const)('refuses an expired %s by the injected clock (§5.3.10–§5.6.5)', async (role, after, from) => {
    const repo = await TestRepo.create();
    const now = days(after, NOW);
    if (from) {
      repo.clock = days(after, T0);
      await repo.publish({}, { from });
    }
    const error = await rejects(refresh(repo, undefined, now), 'TUF_EXPIRED');
    expect(error.message).toMatch(new RegExp(`^${role}`));
    expect((await refresh(repo, undefined, NOW)).versions.root).toBe(1); // the same files, before the expiry
  });
});
