/**
 * TUF metadata as the hub writes it (specification 1.0.31, §4): the four top-level roles, Ed25519
 * signatures over canonical JSON (by `@tufjs/models`), consistent snapshots, and every target and
 * every `meta` entry with its `length` and `hashes.sha256`, so clients cap downloads at the signed
 * length and catch mix-and-match by hash. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { Metadata, type MetadataKind, Signature } from '@tufjs/models';
import type { PublicKeyJson, RepoKey } from './keys.js';

export type RoleName = 'root' | 'targets' | 'snapshot' | 'timestamp';
export type OnlineRole = Exclude<RoleName, 'root'>;
export const ROLES: readonly RoleName[] = ['root', 'targets', 'snapshot', 'timestamp'];
export const ONLINE_ROLES: readonly OnlineRole[] = ['targets', 'snapshot', 'timestamp'];
export const SPEC_VERSION = '1.0.31';

const DAY = 86_400_000;
/** How long each role's metadata stays valid once signed. */
export const DEFAULT_EXPIRIES: Readonly<Record<RoleName, number>> = {
  root: 365 * DAY,
  targets: 90 * DAY,
  snapshot: 7 * DAY,
  timestamp: DAY,
};

export interface TargetEntry {
  length: number;
  hashes: { sha256: string };
}

/** A `meta` entry of the snapshot (for targets) or the timestamp (for the snapshot). */
export interface MetaEntry {
  version: number;
  length?: number;
  hashes?: { sha256: string };
}

export interface RootSigned {
  _type: 'root';
  spec_version: string;
  version: number;
  expires: string;
  consistent_snapshot: true;
  keys: Record<string, PublicKeyJson>;
  roles: Record<RoleName, { keyids: string[]; threshold: number }>;
}

export interface SignedEnvelope<T = Record<string, unknown>> {
  signed: T & { _type: RoleName; version: number; expires: string };
  signatures: { keyid: string; sig: string }[];
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** TUF expiry dates: ISO 8601 UTC without fractional seconds. */
export function tufDate(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Serializes `signed` with one signature per key (TUF §4.1); `@tufjs/models` canonicalizes. */
export function signMetadata(role: RoleName, signed: object, keys: readonly RepoKey[]): Buffer {
  const md = Metadata.fromJSON(role as MetadataKind.Root, { signed, signatures: [] } as never);
  for (const key of uniqueKeys(keys)) md.sign((data) => new Signature({ keyID: key.id, sig: key.sign(data) }));
  return Buffer.from(JSON.stringify(md.toJSON()));
}

/** Parses (and checks the shape of) a metadata file of `role` as `@tufjs/models` reads it. */
export function parseMetadata<T = Record<string, unknown>>(role: RoleName, bytes: Uint8Array): SignedEnvelope<T> {
  const json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  Metadata.fromJSON(role as MetadataKind.Root, json); // throws on a malformed or wrong-type file
  return json as SignedEnvelope<T>;
}

/** A snapshot or timestamp `meta` entry for a metadata file. */
export function metaOf(bytes: Uint8Array, version: number): Required<MetaEntry> {
  return { version, length: bytes.byteLength, hashes: { sha256: sha256Hex(bytes) } };
}

/** The file name of a target under consistent snapshots (TUF §5.7.3): the rule clients fetch by. */
export { hashedTargetPath } from '@edgeloop/protocol';

/** The metadata file name of a role version (the timestamp has no version in its name). */
export function metadataFile(role: RoleName, version: number): string {
  return role === 'timestamp' ? 'timestamp.json' : `${version}.${role}.json`;
}

/** The keys of `role` listed in `root`, from those available; `undefined` for missing ones. */
export function keysFor(root: RootSigned, role: RoleName, available: readonly RepoKey[]): RepoKey[] {
  const listed = new Set(root.roles[role].keyids);
  return uniqueKeys(available.filter((k) => listed.has(k.id)));
}

/**
 * The next root: `change` replaces a role's keys and/or threshold; keys no role uses any more
 * leave the `keys` table.
 */
export function nextRoot(
  current: RootSigned,
  expires: Date,
  change?: { role: RoleName; keys?: readonly Pick<RepoKey, 'id' | 'toJSON'>[]; threshold?: number },
): RootSigned {
  const roles = structuredClone(current.roles);
  const keys: Record<string, PublicKeyJson> = { ...current.keys };
  if (change?.keys) {
    roles[change.role].keyids = [...new Set(change.keys.map((k) => k.id))];
    for (const k of change.keys) keys[k.id] = k.toJSON();
  }
  if (change?.threshold !== undefined) roles[change.role].threshold = change.threshold;
  const used = new Set(Object.values(roles).flatMap((r) => r.keyids));
  for (const id of Object.keys(keys)) if (!used.has(id)) delete keys[id];
  return { ...current, version: current.version + 1, expires: tufDate(expires), keys, roles };
}

/** Root version 1: `keys[role]` with `thresholds[role]` (1 for the online roles by default). */
export function firstRoot(keys: Record<RoleName, readonly RepoKey[]>, rootThreshold: number, expires: Date): RootSigned {
  const table: Record<string, PublicKeyJson> = {};
  const roles = {} as RootSigned['roles'];
  for (const role of ROLES) {
    for (const k of keys[role]) table[k.id] = k.toJSON();
    roles[role] = { keyids: [...new Set(keys[role].map((k) => k.id))], threshold: role === 'root' ? rootThreshold : 1 };
  }
  return {
    _type: 'root',
    spec_version: SPEC_VERSION,
    version: 1,
    expires: tufDate(expires),
    consistent_snapshot: true,
    keys: table,
    roles,
  };
}

export function uniqueKeys<K extends { id: string }>(keys: readonly K[]): K[] {
  return [...new Map(keys.map((k) => [k.id, k])).values()];
}
