import { describe, expect, it } from 'vitest';
import { type Body, makeKey, T0, TestRepo } from '../../test/tuf-repo.js';
import { utf8Decoder, utf8Encoder } from '../bytes.js';
import { TufError, type TufErrorCode } from '../errors.js';
import { refreshTufMetadata } from './refresh.js';
import { fetchVerifiedTarget } from './targets.js';
import type { TufRemote } from './types.js';

const NOW = new Date(T0.getTime() + 3_600_000);
const refresh = (repo: TestRepo, remote: TufRemote = repo.remote(), limits = {}) =>
  refreshTufMetadata({ trusted: { root: repo.files.get('1.root.json')! }, remote, now: NOW, limits });
async function codeOf(p: Promise<unknown>): Promise<TufErrorCode | 'resolved'> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    expect(e).toBeInstanceOf(TufError);
    return (e as TufError).code;
  }
}
/** The bytes of a metadata file with its JSON edited (signatures untouched). */
function editJson(
  bytes: Uint8Array,
  edit: (doc: { signed: Record<string, unknown>; signatures: { keyid: string; sig: string }[] }) => void,
) {
  const doc = JSON.parse(utf8Decoder.decode(bytes));
  edit(doc);
  return utf8Encoder.encode(JSON.stringify(doc));
}

describe('signatures (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3)', () => {
  it('refuses online metadata signed by a wrong key, by another role’s key, or unsigned', async () => {
    const repo = await TestRepo.create();
    await repo.publish({}, { from: 'timestamp', signers: { timestamp: [await makeKey()] } });
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_SIGNATURE');
    await repo.publish({}, { from: 'timestamp', signers: { timestamp: [] } });
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_SIGNATURE');
    await repo.publish({}, { from: 'snapshot', signers: { snapshot: repo.keys.timestamp } });
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_SIGNATURE');
    await repo.publish({}, { signers: { targets: repo.keys.snapshot } });
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_SIGNATURE');
    await repo.publish();
    expect(await codeOf(refresh(repo))).toBe('resolved');
  });

  it('refuses a signature in uppercase hex (the same bytes, another encoding)', async () => {
    const repo = await TestRepo.create();
    const upper = editJson(repo.files.get('timestamp.json')!, (d) => {
      d.signatures[0]!.sig = d.signatures[0]!.sig.toUpperCase();
    });
    repo.overrides.set('timestamp.json', upper);
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_METADATA');
  });

  it('counts a key once however many signatures carry its id', async () => {
    const repo = await TestRepo.create();
    repo.keys.timestamp = [repo.keys.timestamp[0]!, await makeKey()];
    repo.thresholds.timestamp = 2;
    await repo.writeRoot();
    const [a, b] = repo.keys.timestamp as [never, never];
    await repo.publish({}, { from: 'timestamp', signers: { timestamp: [a, a] } });
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_SIGNATURE');
    await repo.publish({}, { from: 'timestamp', signers: { timestamp: [a, b] } });
    expect(await codeOf(refresh(repo))).toBe('resolved');
  });

  it('refuses a root listing a key under an id that is not the sha256 of its canonical JSON', async () => {
    const repo = await TestRepo.create();
    const other = await makeKey();
    await repo.writeRoot(undefined, {
      edit: {
        root: (s) => {
          // The snapshot key listed (and authorised) under another key's id.
          const id = repo.keys.snapshot[0]!.id;
          s.keys[other.id] = s.keys[id];
          s.roles.snapshot.keyids = [other.id];
        },
      },
    });
    const error = await refresh(repo).catch((e: TufError) => e);
    expect(error).toMatchObject({ code: 'TUF_BAD_METADATA', message: expect.stringMatching(/not the sha256/) });
  });

  it('refuses a trusted root that is not signed by itself (§5.2)', async () => {
    const repo = await TestRepo.create();
    const root = editJson(repo.files.get('1.root.json')!, (d) => {
      d.signed.expires = '2099-01-01T00:00:00Z';
    });
    const p = refreshTufMetadata({ trusted: { root }, remote: repo.remote(), now: NOW });
    expect(await codeOf(p)).toBe('TUF_BAD_SIGNATURE');
  });
});

describe('form (TUF §4), size caps and fetching', () => {
  const forms: [string, (s: Record<string, unknown>) => void][] = [
    [
      'spec_version 2',
      (s) => {
        s.spec_version = '2.0.0';
      },
    ],
    [
      'version 0',
      (s) => {
        s.version = 0;
      },
    ],
    [
      'expires with milliseconds',
      (s) => {
        s.expires = '2030-01-02T00:00:00.000Z';
      },
    ],
    [
      'expires without Z',
      (s) => {
        s.expires = '2030-01-02T00:00:00';
      },
    ],
    [
      'the wrong _type',
      (s) => {
        s._type = 'snapshot';
      },
    ],
    [
      'no snapshot.json in meta',
      (s) => {
        s.meta = {};
      },
    ],
  ];
  it.each(forms)('refuses a timestamp with %s', async (_, edit) => {
    const repo = await TestRepo.create();
    await repo.publish({}, { from: 'timestamp', edit: { timestamp: edit } });
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_METADATA');
  });

  it.each([
    [
      'threshold 0',
      (s) => {
        s.roles.targets.threshold = 0;
      },
    ],
    [
      'an RSA key',
      (s) => {
        (Object.values(s.keys)[0] as Body).keytype = 'rsa';
      },
    ],
    [
      'an uppercase public key',
      (s) => {
        (Object.values(s.keys)[0] as Body).keyval.public = 'AB'.repeat(32);
      },
    ],
    [
      'consistent_snapshot false',
      (s) => {
        s.consistent_snapshot = false;
      },
    ],
    [
      'no timestamp role',
      (s) => {
        delete s.roles.timestamp;
      },
    ],
  ] as [string, (s: Body) => void][])('refuses a root with %s', async (_, edit) => {
    const repo = await TestRepo.create();
    await repo.writeRoot(undefined, { edit: { root: edit } });
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_METADATA');
  });

  it('refuses a float, in a known or an unknown field (canonical JSON has none)', async () => {
    const repo = await TestRepo.create();
    const signed = repo.files.get('timestamp.json')!;
    repo.overrides.set(
      'timestamp.json',
      editJson(signed, (d) => {
        d.signed.version = 1.5;
      }),
    );
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_METADATA');
    repo.overrides.set(
      'timestamp.json',
      editJson(signed, (d) => {
        d.signed.x_extra = 0.5;
      }),
    );
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_METADATA');
    repo.overrides.set(
      'timestamp.json',
      editJson(signed, (d) => {
        d.signed.x_extra = 5;
      }),
    );
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_SIGNATURE'); // an unknown field is signed like any other
  });

  it('refuses files that are not UTF-8 JSON', async () => {
    const repo = await TestRepo.create();
    repo.overrides.set('timestamp.json', utf8Encoder.encode('{"signed":'));
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_METADATA');
    repo.overrides.set('timestamp.json', new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_METADATA');
  });

  it('refuses oversized files before parsing them (garbage over the cap is TOO_LARGE, not BAD_METADATA)', async () => {
    const repo = await TestRepo.create();
    const garbage = new Uint8Array(20_000).fill(0x7b);
    repo.overrides.set('timestamp.json', garbage);
    expect(await codeOf(refresh(repo))).toBe('TUF_TOO_LARGE');
    repo.overrides.set('timestamp.json', garbage.subarray(0, 10_000));
    expect(await codeOf(refresh(repo))).toBe('TUF_BAD_METADATA'); // the same garbage, under the cap
    repo.overrides.clear();
    repo.overrides.set('2.root.json', garbage);
    expect(await codeOf(refresh(repo, repo.remote(), { rootBytes: 10_000 }))).toBe('TUF_TOO_LARGE');
    const p = refreshTufMetadata({ trusted: { root: garbage }, remote: repo.remote(), now: NOW, limits: { rootBytes: 10_000 } });
    expect(await codeOf(p)).toBe('TUF_TOO_LARGE');
  });

  it('reports missing files as NOT_FOUND and remote failures as FETCH_FAILED', async () => {
    const repo = await TestRepo.create();
    repo.overrides.set('timestamp.json', undefined);
    expect(await codeOf(refresh(repo))).toBe('TUF_NOT_FOUND');
    repo.overrides.clear();
    repo.overrides.set('1.snapshot.json', undefined);
    expect(await codeOf(refresh(repo))).toBe('TUF_NOT_FOUND');
    const failing: TufRemote = { get: () => Promise.reject(new Error('network down')) };
    const error = await refresh(repo, failing).catch((e: TufError) => e);
    expect(error).toMatchObject({ code: 'TUF_FETCH_FAILED', cause: { message: 'network down' } });
  });
});

describe('fetchVerifiedTarget (TUF §5.7)', () => {
  it('returns the signed bytes and refuses truncated, flipped, longer or missing ones', async () => {
    const repo = await TestRepo.create();
    const bytes = utf8Encoder.encode('onnx'.repeat(100));
    await repo.publish({ 'm/1/model.onnx': bytes });
    const target = (await refresh(repo)).targets['m/1/model.onnx']!;
    const path = `targets/m/1/${target.sha256}.model.onnx`;
    expect(await fetchVerifiedTarget(repo.remote(), target)).toEqual(bytes);
    expect(repo.requests.at(-1)).toBe(path);
    const flipped = bytes.slice();
    flipped[123]! ^= 1;
    for (const [served, code] of [
      [bytes.subarray(0, 399), 'TUF_BAD_LENGTH'],
      [flipped, 'TUF_BAD_HASH'],
      [new Uint8Array([...bytes, 0]), 'TUF_TOO_LARGE'],
      [undefined, 'TUF_NOT_FOUND'],
    ] as const) {
      repo.overrides.set(path, served);
      expect(await codeOf(fetchVerifiedTarget(repo.remote(), target))).toBe(code);
    }
  });
});
