/**
 * A TUF repository built with `@tufjs/models`: the four top-level roles, Ed25519 keys, thresholds,
 * root rotation (adding and revoking keys), expiry and versions, with consistent snapshots. It keeps
 * every published file in memory, exactly as a static file server would lay it out:
 *
 *   metadata/<N>.root.json, metadata/root.json (latest), metadata/timestamp.json,
 *   metadata/<N>.snapshot.json, metadata/<N>.targets.json,
 *   targets/<dir>/<sha256>.<base>   (consistent snapshot: each target under its hash)
 *
 * Tests craft attacks with it (fork a state, force versions, sign with the wrong keys); the hub can
 * reuse it to publish releases (`writeTo`). Pure: no timers, no I/O except `writeTo`.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Metadata, type MetadataKind, Signature } from '@tufjs/models';

export type RoleName = 'root' | 'targets' | 'snapshot' | 'timestamp';
export const ROLES: readonly RoleName[] = ['root', 'targets', 'snapshot', 'timestamp'];

const DAY = 86_400_000;
const DEFAULT_TTL: Record<RoleName, number> = { root: 365 * DAY, targets: 90 * DAY, snapshot: 7 * DAY, timestamp: DAY };

/** An Ed25519 signing key in TUF form (`keytype`/`scheme` `ed25519`, hex public key). */
export interface RepoKey {
  readonly id: string;
  readonly publicHex: string;
  readonly privateKey: KeyObject;
  /** The key as it appears in root metadata. */
  toJSON(): { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } };
  /** Hex signature over `data` (the canonical JSON of a `signed` object). */
  sign(data: Uint8Array): string;
  /** PKCS#8 PEM of the private key, to keep it between runs (the hub's key store). */
  toPem(): string;
}

/** Wraps an Ed25519 private key; the key id is the sha256 of the key's canonical JSON (TUF §4.2). */
export function repoKeyFrom(privateKey: KeyObject): RepoKey {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicHex = spki.subarray(spki.length - 32).toString('hex');
  // Canonical JSON of this object: keys sorted, no whitespace, ASCII only, so JSON.stringify is canonical.
  const canonical = `{"keytype":"ed25519","keyval":{"public":"${publicHex}"},"scheme":"ed25519"}`;
  const id = createHash('sha256').update(canonical).digest('hex');
  return {
    id,
    publicHex,
    privateKey,
    toJSON: () => ({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } }),
    sign: (data) => sign(null, data, privateKey).toString('hex'),
    toPem: () => privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export function generateKey(): RepoKey {
  return repoKeyFrom(generateKeyPairSync('ed25519').privateKey);
}

export function keyFromPem(pem: string): RepoKey {
  return repoKeyFrom(createPrivateKey(pem));
}

export interface TufRepoOptions {
  /** The clock expiry dates are computed from (default: the real one). */
  now?: () => Date;
  /** How long each role's metadata is valid once signed. */
  ttlMs?: Partial<Record<RoleName, number>>;
  /** Keys per role; default one fresh key each. */
  keys?: Partial<Record<RoleName, RepoKey[]>>;
  thresholds?: Partial<Record<RoleName, number>>;
}

export interface PublishOptions {
  /** Explicit expiry per role (a freeze attack signs one in the past). */
  expires?: Partial<Record<Exclude<RoleName, 'root'>, Date>>;
  /** Force versions instead of bumping them (rollback attacks). */
  versions?: Partial<Record<Exclude<RoleName, 'root'>, number>>;
  /** Sign with these keys instead of the role's own (wrong-key and below-threshold attacks). */
  signWith?: Partial<Record<Exclude<RoleName, 'root'>, RepoKey[]>>;
  /** Leave the length and hashes out of the snapshot's and timestamp's meta (the spec allows it). */
  omitMetaHashes?: boolean;
}

export interface RotateOptions {
  role: RoleName;
  add?: RepoKey[];
  revoke?: RepoKey[];
  threshold?: number;
  expires?: Date;
  /** Sign the new root with these instead of old + new root keys. */
  signWith?: RepoKey[];
}

interface TargetEntry {
  length: number;
  hashes: { sha256: string };
  custom?: Record<string, unknown>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * A target's file name under consistent snapshots: `<dir>/<sha256>.<base>` (TUF §5.7.3). Written
 * here again on purpose, not imported from `@edgeloop/protocol`: this repository is the agent's
 * independent counterpart, so a wrong rule in the client cannot pass its tests by agreeing with
 * itself.
 */
export function hashedTargetPath(path: string, hash: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? `${hash}.${path}` : `${path.slice(0, slash + 1)}${hash}.${path.slice(slash + 1)}`;
}

export class TufRepository {
  /** Everything a static server would hold, by path below the repository base URL. */
  readonly files = new Map<string, Buffer>();
  readonly keys: Record<RoleName, RepoKey[]>;
  readonly thresholds: Record<RoleName, number>;
  readonly versions: Record<RoleName, number> = { root: 0, targets: 0, snapshot: 0, timestamp: 0 };
  readonly targets = new Map<string, TargetEntry>();
  now: () => Date;
  private readonly ttl: Record<RoleName, number>;
  private rootExpires = new Date(0);

  constructor(options: TufRepoOptions = {}, init = true) {
    this.now = options.now ?? (() => new Date());
    this.ttl = { ...DEFAULT_TTL, ...options.ttlMs };
    this.keys = {
      root: options.keys?.root ?? [generateKey()],
      targets: options.keys?.targets ?? [generateKey()],
      snapshot: options.keys?.snapshot ?? [generateKey()],
      timestamp: options.keys?.timestamp ?? [generateKey()],
    };
    this.thresholds = { root: 1, targets: 1, snapshot: 1, timestamp: 1, ...options.thresholds };
    if (init) this.rotate({ role: 'root' });
  }

  /** The initial trusted root a client is provisioned with (version 1). */
  trustedRoot(): Buffer {
    return this.file('metadata/1.root.json');
  }

  file(path: string): Buffer {
    const bytes = this.files.get(path);
    if (!bytes) throw new Error(`no file ${path} in the repository`);
    return bytes;
  }

  /** Stages a target file (published by the next {@link publish}); returns its metadata entry. */
  addTarget(path: string, bytes: Uint8Array, custom?: Record<string, unknown>): TargetEntry {
    const entry: TargetEntry = { length: bytes.byteLength, hashes: { sha256: sha256(bytes) }, ...(custom ? { custom } : {}) };
    this.targets.set(path, entry);
    this.files.set(`targets/${hashedTargetPath(path, entry.hashes.sha256)}`, Buffer.from(bytes));
    return entry;
  }

  removeTarget(path: string): void {
    this.targets.delete(path);
  }

  /** The served path of a target (hash-prefixed). */
  targetFilePath(path: string): string {
    const entry = this.targets.get(path);
    if (!entry) throw new Error(`no target ${path}`);
    return `targets/${hashedTargetPath(path, entry.hashes.sha256)}`;
  }

  /** Signs new targets, snapshot and timestamp metadata (TUF §4.4–4.6), bumping each version. */
  publish(options: PublishOptions = {}): void {
    const targets: Record<string, unknown> = {};
    for (const [path, e] of this.targets) targets[path] = e;
    const targetsBytes = this.put('targets', { targets }, options);
    const metaOf = (bytes: Buffer, version: number) =>
      options.omitMetaHashes ? { version } : { version, length: bytes.length, hashes: { sha256: sha256(bytes) } };
    const snapshotBytes = this.put('snapshot', { meta: { 'targets.json': metaOf(targetsBytes, this.versions.targets) } }, options);
    this.put('timestamp', { meta: { 'snapshot.json': metaOf(snapshotBytes, this.versions.snapshot) } }, options);
  }

  /**
   * Writes root version N+1 (TUF §5.3): keys added to or revoked from a role, or a new threshold.
   * Signed by the old root's keys and the new ones, so clients can chain from the old root.
   */
  rotate(change: RotateOptions): void {
    const oldRootKeys = this.keys.root;
    const set = new Map(this.keys[change.role].map((k) => [k.id, k]));
    for (const k of change.add ?? []) set.set(k.id, k);
    for (const k of change.revoke ?? []) set.delete(k.id);
    this.keys[change.role] = [...set.values()];
    if (change.threshold !== undefined) this.thresholds[change.role] = change.threshold;
    const version = this.versions.root + 1;
    this.rootExpires = change.expires ?? new Date(this.now().getTime() + this.ttl.root);
    const keys: Record<string, unknown> = {};
    const roles: Record<string, unknown> = {};
    for (const role of ROLES) {
      for (const k of this.keys[role]) keys[k.id] = k.toJSON();
      roles[role] = { keyids: this.keys[role].map((k) => k.id), threshold: this.thresholds[role] };
    }
    const signed = {
      _type: 'root',
      spec_version: '1.0.31',
      version,
      expires: iso(this.rootExpires),
      keys,
      roles,
      consistent_snapshot: true,
    };
    const signers = change.signWith ?? uniqueKeys([...oldRootKeys, ...this.keys.root]);
    const bytes = this.signMetadata('root', signed, signers);
    this.versions.root = version;
    this.files.set(`metadata/${version}.root.json`, bytes);
    this.files.set('metadata/root.json', bytes);
  }

  /** Serializes `signed` with signatures by `keys`: the primitive every attack case builds on. */
  signMetadata(role: RoleName, signed: Record<string, unknown>, keys: RepoKey[]): Buffer {
    const md = Metadata.fromJSON(role as MetadataKind.Root, { signed, signatures: [] } as never);
    for (const key of keys) md.sign((data) => new Signature({ keyID: key.id, sig: key.sign(data) }));
    return Buffer.from(JSON.stringify(md.toJSON()));
  }

  /** The `signed` part of the latest metadata of a role, parsed (to craft variants of it). */
  signedOf(role: RoleName): Record<string, unknown> {
    const path = role === 'root' || role === 'timestamp' ? `metadata/${role}.json` : `metadata/${this.versions[role]}.${role}.json`;
    return (JSON.parse(this.file(path).toString('utf8')) as { signed: Record<string, unknown> }).signed;
  }

  /** A copy of the served files, to serve an old state later (freeze, rollback, mix-and-match). */
  snapshotFiles(): Map<string, Buffer> {
    return new Map(this.files);
  }

  /** An independent copy of this repository (same keys), to build an attacker's state. */
  fork(): TufRepository {
    const copy = new TufRepository({ now: this.now, ttlMs: this.ttl, keys: { ...this.keys }, thresholds: this.thresholds }, false);
    for (const [k, v] of this.files) copy.files.set(k, v);
    for (const [k, v] of this.targets) copy.targets.set(k, v);
    Object.assign(copy.versions, this.versions);
    copy.rootExpires = this.rootExpires;
    return copy;
  }

  /** Writes every file below `dir` (each atomically: temporary file, then rename). */
  async writeTo(dir: string): Promise<void> {
    for (const [path, bytes] of this.files) {
      const dest = join(dir, path);
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(`${dest}.tmp`, bytes);
      await rename(`${dest}.tmp`, dest);
    }
  }

  private put(role: Exclude<RoleName, 'root'>, body: Record<string, unknown>, options: PublishOptions): Buffer {
    const version = options.versions?.[role] ?? this.versions[role] + 1;
    const expires = options.expires?.[role] ?? new Date(this.now().getTime() + this.ttl[role]);
    const signed = { _type: role, spec_version: '1.0.31', version, expires: iso(expires), ...body };
    const bytes = this.signMetadata(role, signed, options.signWith?.[role] ?? this.keys[role]);
    this.versions[role] = version;
    this.files.set(role === 'timestamp' ? 'metadata/timestamp.json' : `metadata/${version}.${role}.json`, bytes);
    return bytes;
  }
}

function uniqueKeys(keys: RepoKey[]): RepoKey[] {
  return [...new Map(keys.map((k) => [k.id, k])).values()];
}

/** TUF expiry dates: ISO 8601 UTC without fractional seconds. */
function iso(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

export { type Fault, type FileSource, TufServer } from './tuf-server.js';
