/**
 * A TUF repository built in memory with WebCrypto Ed25519 keys and the protocol's own canonical
 * JSON, laid out as the hub publishes (consistent snapshots, hash-prefixed targets), for the
 * verifier's unit tests. Every signing step can be bent: other signers, edited `signed` bodies.
 */
import { sha256Hex, toHex, utf8Encoder } from '../src/bytes.js';
import { canonicalJson } from '../src/tuf/canonical-json.js';
import type { TufRemote } from '../src/tuf/types.js';

export type Role = 'root' | 'timestamp' | 'snapshot' | 'targets';
export type Online = Exclude<Role, 'root'>;
const DAY = 86_400_000;
/** The repository's clock starts here; tests inject `now` relative to it. */
export const T0 = new Date('2030-01-01T00:00:00Z');
export const days = (n: number, from = T0) => new Date(from.getTime() + n * DAY);
const LIFETIME: Record<Role, number> = { root: 365, targets: 90, snapshot: 7, timestamp: 1 };

export interface TestKey {
  id: string;
  publicHex: string;
  privateKey: CryptoKey;
  json: { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } };
}

export async function makeKey(): Promise<TestKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicHex = toHex(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)));
  const json = { keytype: 'ed25519' as const, scheme: 'ed25519' as const, keyval: { public: publicHex } };
  return { id: await sha256Hex(canonicalJson(json)), publicHex, privateKey: pair.privateKey, json };
}

export async function signHex(key: TestKey, data: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.privateKey, data as Uint8Array<ArrayBuffer>)));
}

/** `{signed, signatures}` with one signature per key over canonicalJson(signed). */
export async function signEnvelope(signed: object, keys: readonly TestKey[]): Promise<Uint8Array> {
  const data = canonicalJson(signed);
  const signatures = await Promise.all(keys.map(async (k) => ({ keyid: k.id, sig: await signHex(k, data) })));
  return utf8Encoder.encode(JSON.stringify({ signed, signatures }));
}

export async function metaOf(bytes: Uint8Array, version: number) {
  return { version, length: bytes.byteLength, hashes: { sha256: await sha256Hex(bytes) } };
}

// biome-ignore lint/suspicious/noExplicitAny: test bodies are edited freely
export type Body = Record<string, any>;
export interface SignOptions {
  /** Signers per role instead of the repository's keys. */
  signers?: Partial<Record<Role, readonly TestKey[]>>;
  /** Edits a role's `signed` body before it is signed. */
  edit?: Partial<Record<Role, (signed: Body) => void>>;
}

export class TestRepo {
  readonly files = new Map<string, Uint8Array>();
  /** Served instead of `files` (an attacker or a broken mirror). */
  readonly overrides = new Map<string, Uint8Array | undefined>();
  readonly requests: string[] = [];
  clock = T0;
  keys: Record<Role, TestKey[]> = { root: [], timestamp: [], snapshot: [], targets: [] };
  thresholds: Record<Role, number> = { root: 1, timestamp: 1, snapshot: 1, targets: 1 };
  versions: Record<Role, number> = { root: 0, timestamp: 0, snapshot: 0, targets: 0 };
  targets: Record<string, { length: number; hashes: { sha256: string } }> = {};
  latest: Partial<Record<Role, Uint8Array>> = {};

  static async create(): Promise<TestRepo> {
    const repo = new TestRepo();
    for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) repo.keys[role] = [await makeKey()];
    await repo.writeRoot();
    await repo.publish();
    return repo;
  }

  expires(role: Role): string {
    return `${days(LIFETIME[role], this.clock).toISOString().slice(0, 19)}Z`;
  }

  common(role: Role, version: number): Body {
    return { _type: role, spec_version: '1.0.31', version, expires: this.expires(role) };
  }

  /** Root `versions.root + 1` with the current keys, signed by `signers` (default the current root keys). */
  async writeRoot(signers?: readonly TestKey[], o: SignOptions = {}): Promise<Uint8Array> {
    const keys: Body = {};
    const roles: Body = {};
    for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
      for (const k of this.keys[role]) keys[k.id] = k.json;
      roles[role] = { keyids: this.keys[role].map((k) => k.id), threshold: this.thresholds[role] };
    }
    const signed = { ...this.common('root', this.versions.root + 1), consistent_snapshot: true, keys, roles };
    o.edit?.root?.(signed);
    const bytes = await signEnvelope(signed, signers ?? o.signers?.root ?? this.keys.root);
    this.versions.root += 1;
    this.files.set(`${this.versions.root}.root.json`, bytes);
    this.latest.root = bytes;
    return bytes;
  }

  /** Replaces a role's keys in a new root, signed by the old and new root keys (TUF §5.3.4). */
  async rotate(role: Role, keys: TestKey[], threshold = 1): Promise<void> {
    const oldRoot = this.keys.root;
    this.keys[role] = keys;
    this.thresholds[role] = threshold;
    await this.writeRoot(role === 'root' ? [...oldRoot, ...keys] : oldRoot);
  }

  /** Adds target files, then signs `from` and every role below it (targets → snapshot → timestamp). */
  async publish(files: Record<string, Uint8Array> = {}, o: SignOptions & { from?: Online } = {}): Promise<void> {
    const from = o.from ?? 'targets';
    const sign = async (role: Online, body: Body) => {
      const v = this.versions[role] + 1;
      const signed = { ...this.common(role, v), ...body };
      o.edit?.[role]?.(signed);
      const bytes = await signEnvelope(signed, o.signers?.[role] ?? this.keys[role]);
      this.versions[role] = v;
      this.files.set(role === 'timestamp' ? 'timestamp.json' : `${v}.${role}.json`, bytes);
      this.latest[role] = bytes;
      return metaOf(bytes, v);
    };
    if (from === 'targets') {
      for (const [path, bytes] of Object.entries(files)) {
        const sha256 = await sha256Hex(bytes);
        this.targets[path] = { length: bytes.byteLength, hashes: { sha256 } };
        const slash = path.lastIndexOf('/');
        this.files.set(`targets/${path.slice(0, slash + 1)}${sha256}.${path.slice(slash + 1)}`, bytes);
      }
      await sign('targets', { targets: { ...this.targets } });
    }
    if (from !== 'timestamp')
      await sign('snapshot', { meta: { 'targets.json': await metaOf(this.latest.targets!, this.versions.targets) } });
    await sign('timestamp', { meta: { 'snapshot.json': await metaOf(this.latest.snapshot!, this.versions.snapshot) } });
  }

  /** The remote a client uses; a lazy one: it returns whole files even above `maxBytes`. */
  remote(): TufRemote {
    return {
      get: async (path) => {
        this.requests.push(path);
        return this.overrides.has(path) ? this.overrides.get(path) : this.files.get(path);
      },
    };
  }
}
