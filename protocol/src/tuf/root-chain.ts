/**
 * TUF §5.2 and §5.3: the trusted root, then every newer root the repository has, one version at a
 * time, each signed by the previous root's threshold and its own. Ends with the freeze check of
 * the final root (§5.3.10).
 */
import { checkNotExpired, checkVersionIs, download } from './checks.js';
import { type Metadata, parseMetadata } from './metadata.js';
import type { RootSigned } from './schema.js';
import { checkKeyIds, type KeyCache, verifyThreshold } from './signatures.js';
import type { TufLimits, TufRemote } from './types.js';

export type RootMetadata = Metadata<'root'>;

async function parseRoot(bytes: Uint8Array, limits: TufLimits, what: string): Promise<RootMetadata> {
  const md = parseMetadata('root', bytes, limits.rootBytes, what);
  await checkKeyIds(md.signed, md.rawSigned, what);
  return md;
}

/** §5.2: the root the client was provisioned with (or last persisted) must be signed by itself. */
export async function loadTrustedRoot(bytes: Uint8Array, limits: TufLimits, cache: KeyCache): Promise<RootMetadata> {
  const root = await parseRoot(bytes, limits, 'the trusted root');
  await verifyThreshold(root.signed, 'root', root, cache, 'the trusted root');
  return root;
}

/** Walks the root chain from `trusted` (§5.3.2–§5.3.9) and checks the final root is not expired. */
export async function updateRoot(
  trusted: RootMetadata,
  remote: TufRemote,
  now: Date,
  limits: TufLimits,
  cache: KeyCache,
): Promise<RootMetadata> {
  let root = trusted;
  // §5.3.3: at most maxRootRotations newer roots in one refresh, so a repository cannot keep us here.
  for (let i = 0; i < limits.maxRootRotations; i++) {
    const next = root.signed.version + 1;
    const what = `root v${next}`;
    // §5.3.2: fetch N+1; a 404 means the trusted root is the newest.
    const bytes = await download(remote, `${next}.root.json`, limits.rootBytes);
    if (!bytes) break;
    const candidate = await parseRoot(bytes, limits, what);
    // §5.3.4: a threshold of the trusted root's root keys, then of the new root's own root keys.
    await verifyThreshold(root.signed, 'root', candidate, cache, `${what} (by the keys of root v${root.signed.version})`);
    await verifyThreshold(candidate.signed, 'root', candidate, cache, `${what} (by its own keys)`);
    // §5.3.5: exactly N+1, so an old root (v1 served again) is a rollback.
    checkVersionIs(what, candidate.signed.version, next);
    // §5.3.6–§5.3.8: the new root is trusted (expiry is only checked on the final one, §5.3.10).
    root = candidate;
  }
  // §5.3.10: the final root is not expired (freeze attack).
  checkNotExpired(`root v${root.signed.version}`, root.signed, now);
  return root;
}

/**
 * §5.3.11: when the timestamp or snapshot keys changed between the old and new root, the trusted
 * timestamp and snapshot are dropped, so a repository can recover from a fast-forward attack made
 * with a stolen key (the versions an attacker pinned do not block the rebuilt ones).
 */
export function onlineKeysRotated(before: RootSigned, after: RootSigned): boolean {
  const same = (a: RootSigned['roles']['timestamp'], b: RootSigned['roles']['timestamp']) =>
    a.threshold === b.threshold && a.keyids.length === b.keyids.length && a.keyids.every((k) => b.keyids.includes(k));
  return !same(before.roles.timestamp, after.roles.timestamp) || !same(before.roles.snapshot, after.roles.snapshot);
}
