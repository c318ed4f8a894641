/**
 * The TUF client workflow (specification §5.2–§5.6) over Web Standards only: the trusted root and
 * its rotation chain, then timestamp, snapshot and targets. Nothing is persisted here: the caller
 * stores `trusted` from the result, all of it or (when this rejects) none of it.
 */
import { type Metadata, parseMetadata } from './metadata.js';
import { type StepContext, updateSnapshot, updateTargets, updateTimestamp } from './online-roles.js';
import { loadTrustedRoot, onlineKeysRotated, updateRoot } from './root-chain.js';
import type { RoleName } from './schema.js';
import { KeyCache, verifyThreshold } from './signatures.js';
import {
  defaultTufLimits,
  type TufLimits,
  type TufRefreshResult,
  type TufRemote,
  type TufTargetInfo,
  type TufTrustedBytes,
} from './types.js';

/** Options of {@link refreshTufMetadata}. */
export interface TufRefreshOptions {
  trusted: TufTrustedBytes;
  remote: TufRemote;
  /** The clock every expiry (freeze) check uses. */
  now: Date;
  limits?: Partial<TufLimits>;
}

/** TUF §5.2–§5.6 client workflow: root rotation chain, timestamp, snapshot, targets. `now` is injected (freeze checks use it). */
export async function refreshTufMetadata(options: TufRefreshOptions): Promise<TufRefreshResult> {
  const limits: TufLimits = { ...defaultTufLimits, ...options.limits };
  const cache = new KeyCache();
  // §5.2 and §5.3: the trusted root, then every newer one; the final root must not be expired.
  const trustedRoot = await loadTrustedRoot(options.trusted.root, limits, cache);
  const root = await updateRoot(trustedRoot, options.remote, options.now, limits, cache);
  const ctx: StepContext = { root: root.signed, remote: options.remote, now: options.now, limits, cache };

  // §5.3.11: new timestamp or snapshot keys drop the trusted timestamp and snapshot.
  const rotated = onlineKeysRotated(trustedRoot.signed, root.signed);
  const old = options.trusted;
  const trustedTimestamp = rotated ? undefined : await loadTrusted(ctx, 'timestamp', old.timestamp, limits.timestampBytes);
  const trustedSnapshot = rotated ? undefined : await loadTrusted(ctx, 'snapshot', old.snapshot, limits.snapshotBytes);
  const trustedTargets = await loadTrusted(ctx, 'targets', old.targets, limits.targetsBytes);

  const timestamp = await updateTimestamp(ctx, trustedTimestamp); // §5.4
  const snapshot = await updateSnapshot(ctx, timestamp, trustedSnapshot); // §5.5
  const targets = await updateTargets(ctx, snapshot, trustedTargets); // §5.6

  const infos: Record<string, TufTargetInfo> = {};
  for (const [path, t] of Object.entries(targets.signed.targets)) {
    infos[path] = { path, length: t.length, sha256: t.hashes.sha256, ...(t.custom === undefined ? {} : { custom: t.custom }) };
  }
  return {
    trusted: { root: root.bytes, timestamp: timestamp.bytes, snapshot: snapshot.bytes, targets: targets.bytes },
    targets: infos,
    versions: {
      root: root.signed.version,
      timestamp: timestamp.signed.version,
      snapshot: snapshot.signed.version,
      targets: targets.signed.version,
    },
  };
}

/**
 * A persisted copy of an online role, if it still parses and a threshold of the (new) root's keys
 * for the role signed it; otherwise it is dropped, as python-tuf drops local metadata that no longer
 * loads. Its expiry is not checked: an expired trusted copy still sets the floor for rollback checks.
 */
async function loadTrusted<R extends Exclude<RoleName, 'root'>>(
  ctx: StepContext,
  role: R,
  bytes: Uint8Array | undefined,
  cap: number,
): Promise<Metadata<R> | undefined> {
  if (!bytes) return undefined;
  try {
    const md = parseMetadata(role, bytes, cap, `the trusted ${role}`);
    await verifyThreshold(ctx.root, role, md, ctx.cache, `the trusted ${role}`);
    return md;
  } catch {
    return undefined;
  }
}
