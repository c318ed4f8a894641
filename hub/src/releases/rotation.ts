/**
 * Key rotation. Both kinds write a new root version; clients walk the root chain one version at
 * a time (TUF §5.3), so every root must be signed by the previous root's threshold and its own.
 *
 * - Root keys (§5.3.4): root N+1 lists the new root keys and is signed by the old keys (at least
 *   the old threshold) and the new ones (at least the new threshold).
 * - An online key (timestamp, snapshot or targets): the new key is saved, the role's metadata is
 *   re-signed with the old *and* the new key (clients on root N accept it by the old key), then
 *   root N+1 lists only the new key (clients on N+1 accept the same file by the new key). There is
 *   no instant at which the served metadata is signed by a key the client's root does not list.
 *
 * New key files are written before anything names them, and old ones retired only after the new
 * root is out, so an interrupted rotation never loses a key that is still needed.
 */
import { HubError } from '../errors.js';
import { generateKey, type RepoKey } from './keys.js';
import { nextRoot, type OnlineRole, type RoleName, type RootSigned, signMetadata, uniqueKeys } from './metadata.js';
import type { OperationContext, ReleaseRepository, RepositoryVersions } from './repository.js';

async function writeRoot(repo: ReleaseRepository, root: RootSigned, signers: readonly RepoKey[]): Promise<void> {
  const key = repo.paths.metadata('root', root.version);
  if (await repo.store.head(key)) throw new HubError('CONFLICT', `root version ${root.version} already exists: another process rotated`);
  await repo.store.put(key, signMetadata('root', root, signers), { contentType: 'application/json' });
}

async function retire(repo: ReleaseRepository, role: RoleName, keys: readonly RepoKey[], keep: readonly RepoKey[]): Promise<void> {
  const kept = new Set(keep.map((k) => k.id));
  for (const k of keys) if (!kept.has(k.id)) await repo.keyDir.retire(role, k);
}

export async function rotateRoot(
  repo: ReleaseRepository,
  ctx: OperationContext,
  newKeys: readonly RepoKey[] | 'keep',
  threshold?: number,
): Promise<RepositoryVersions> {
  const old = ctx.state.root.signed;
  const oldSigners = repo.signersFor(ctx, 'root'); // throws below the old threshold
  const expires = new Date(ctx.now.getTime() + repo.expiries.root);
  let root: RootSigned;
  let signers: RepoKey[];
  if (newKeys === 'keep') {
    if (threshold !== undefined && threshold !== old.roles.root.threshold)
      throw new HubError('BAD_REQUEST', 'renewing the root keeps its threshold; rotate the root keys to change it');
    root = nextRoot(old, expires);
    signers = oldSigners;
  } else {
    const fresh = uniqueKeys(newKeys);
    const t = threshold ?? Math.min(old.roles.root.threshold, fresh.length);
    if (fresh.length === 0 || !Number.isInteger(t) || t < 1 || t > fresh.length)
      throw new HubError('BAD_REQUEST', `the new root threshold must be 1 to ${fresh.length} (the new root keys)`);
    for (const k of fresh) await repo.keyDir.save('root', k);
    root = nextRoot(old, expires, { role: 'root', keys: fresh, threshold: t });
    signers = uniqueKeys([...oldSigners, ...fresh]);
  }
  await writeRoot(repo, root, signers);
  if (newKeys !== 'keep') await retire(repo, 'root', ctx.keys.root, newKeys);
  return {
    root: root.version,
    targets: ctx.state.targets.version,
    snapshot: ctx.state.snapshot.version,
    timestamp: ctx.state.timestamp.version,
  };
}

export async function rotateOnlineKey(repo: ReleaseRepository, ctx: OperationContext, role: OnlineRole): Promise<RepositoryVersions> {
  const rootSigners = repo.signersFor(ctx, 'root');
  const oldKeys = repo.signersFor(ctx, role);
  const fresh = generateKey();
  await repo.keyDir.save(role, fresh);
  // 1. The role's metadata (and what names it) signed by the old and the new key.
  const versions = await repo.chain(ctx, role, undefined, { [role]: [fresh] });
  // 2. Root N+1 lists only the new key.
  const expires = new Date(ctx.now.getTime() + repo.expiries.root);
  const root = nextRoot(ctx.state.root.signed, expires, { role, keys: [fresh], threshold: 1 });
  await writeRoot(repo, root, rootSigners);
  // 3. The old key signs nothing any more.
  await retire(repo, role, oldKeys, [fresh]);
  return { ...versions, root: root.version };
}
