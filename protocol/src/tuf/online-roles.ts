/**
 * The online roles, each checked as TUF §5.4 (timestamp), §5.5 (snapshot) and §5.6 (targets) say,
 * in the spec's order: size cap, length and hash against the parent, signatures, version, then
 * expiry. A role's trusted copy is reused when the parent names its exact version and hash.
 */
import { TufError } from '../errors.js';
import { capFor, checkLengthAndHash, checkNotExpired, checkNotLower, checkVersionIs, downloadRequired } from './checks.js';
import { type Metadata, parseMetadata } from './metadata.js';
import type { MetaFile, RootSigned } from './schema.js';
import { type KeyCache, verifyThreshold } from './signatures.js';
import type { TufLimits, TufRemote } from './types.js';

/** What every step needs: the final root and how to fetch. */
export interface StepContext {
  root: RootSigned;
  remote: TufRemote;
  now: Date;
  limits: TufLimits;
  cache: KeyCache;
}

/** §5.4: the timestamp; a trusted one of the same version is kept (§5.4.3.1). */
export async function updateTimestamp(ctx: StepContext, trusted: Metadata<'timestamp'> | undefined): Promise<Metadata<'timestamp'>> {
  // §5.4.1: `timestamp.json`, at most the timestamp cap.
  const bytes = await downloadRequired(ctx.remote, 'timestamp.json', ctx.limits.timestampBytes);
  const fresh = parseMetadata('timestamp', bytes, ctx.limits.timestampBytes, 'timestamp.json');
  // §5.4.2: a threshold of the root's timestamp keys.
  await verifyThreshold(ctx.root, 'timestamp', fresh, ctx.cache, 'timestamp.json');
  let final = fresh;
  if (trusted) {
    // §5.4.3.1: a lower version than the trusted one is a rollback; an equal one is discarded.
    checkNotLower('timestamp.json', fresh.signed.version, trusted.signed.version);
    if (fresh.signed.version === trusted.signed.version) final = trusted;
    // §5.4.3.2: the snapshot version it names never goes down either.
    else
      checkNotLower(
        'the snapshot timestamp.json names',
        fresh.signed.meta['snapshot.json'].version,
        trusted.signed.meta['snapshot.json'].version,
      );
  }
  // §5.4.4: not expired (freeze attack).
  checkNotExpired(`timestamp v${final.signed.version}`, final.signed, ctx.now);
  return final;
}

/** The trusted copy, if the parent names exactly it (same version, and the same bytes when hashed). */
async function reusable<R extends 'snapshot' | 'targets'>(
  trusted: Metadata<R> | undefined,
  meta: MetaFile,
): Promise<Metadata<R> | undefined> {
  if (!trusted || trusted.signed.version !== meta.version) return undefined;
  try {
    await checkLengthAndHash('trusted', trusted.bytes, { length: meta.length, sha256: meta.hashes?.sha256 });
    return trusted;
  } catch {
    return undefined;
  }
}

/** Downloads `<version>.<role>.json` and runs §5.x.1–§5.x.3: cap, length and hash, signatures. */
async function fetchVersioned<R extends 'snapshot' | 'targets'>(ctx: StepContext, role: R, meta: MetaFile): Promise<Metadata<R>> {
  const path = `${meta.version}.${role}.json`;
  const cap = role === 'snapshot' ? ctx.limits.snapshotBytes : ctx.limits.targetsBytes;
  // §5.5.1 / §5.6.1: consistent snapshots name the version; the signed length caps the download.
  const bytes = await downloadRequired(ctx.remote, path, capFor(meta, cap));
  // §5.5.2 / §5.6.2: the length and hash the parent signed (mix-and-match).
  await checkLengthAndHash(path, bytes, { length: meta.length, sha256: meta.hashes?.sha256 });
  const md = parseMetadata(role, bytes, cap, path);
  // §5.5.3 / §5.6.3: a threshold of the root's keys for this role.
  await verifyThreshold(ctx.root, role, md, ctx.cache, path);
  return md;
}

/** §5.5: the snapshot the timestamp names. */
export async function updateSnapshot(
  ctx: StepContext,
  timestamp: Metadata<'timestamp'>,
  trusted: Metadata<'snapshot'> | undefined,
): Promise<Metadata<'snapshot'>> {
  const meta = timestamp.signed.meta['snapshot.json'];
  const snapshot = (await reusable(trusted, meta)) ?? (await fetchVersioned(ctx, 'snapshot', meta));
  const what = `snapshot v${snapshot.signed.version}`;
  // §5.5.4: the version the timestamp names.
  checkVersionIs(what, snapshot.signed.version, meta.version);
  // §5.5.5: every targets file the trusted snapshot lists is still listed, at no lower version.
  for (const [name, old] of Object.entries(trusted?.signed.meta ?? {})) {
    const now = snapshot.signed.meta[name];
    if (!now) throw new TufError('TUF_ROLLBACK', `${what} no longer lists ${name}`);
    checkNotLower(`${name} in ${what}`, now.version, old.version);
  }
  // §5.5.6: not expired (freeze attack).
  checkNotExpired(what, snapshot.signed, ctx.now);
  return snapshot;
}

/** §5.6: the top-level targets the snapshot names. Delegations are not followed (§5.6.7). */
export async function updateTargets(
  ctx: StepContext,
  snapshot: Metadata<'snapshot'>,
  trusted: Metadata<'targets'> | undefined,
): Promise<Metadata<'targets'>> {
  const meta = snapshot.signed.meta['targets.json']!; // the schema requires it
  const targets = (await reusable(trusted, meta)) ?? (await fetchVersioned(ctx, 'targets', meta));
  const what = `targets v${targets.signed.version}`;
  // §5.6.4: the version the snapshot names.
  checkVersionIs(what, targets.signed.version, meta.version);
  // §5.6.5: not expired (freeze attack).
  checkNotExpired(what, targets.signed, ctx.now);
  return targets;
}
