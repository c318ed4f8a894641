/**
 * Creating the repository: root version 1, signed by every root key present (threshold
 * `rootThreshold`; the online roles get one key each, threshold 1), then empty targets, snapshot
 * and timestamp metadata, so that a client provisioned with root v1 verifies the repository
 * before the first release. A store that already holds a repository is refused; one where only
 * root v1 was written (an interrupted init) is completed.
 */
import { HubError } from '../errors.js';
import type { KeySet } from './keys.js';
import { firstRoot, ONLINE_ROLES, parseMetadata, type RootSigned, signMetadata } from './metadata.js';
import type { ReleaseRepository, RepositoryVersions } from './repository.js';
import { latestRootVersion, type RepositoryState } from './state.js';

export async function initialiseRepository(
  repo: ReleaseRepository,
  keys: KeySet,
  now: Date,
  rootThreshold: number,
): Promise<RepositoryVersions> {
  const where = `${repo.paths.prefix} in ${repo.store.description}`;
  let rootVersion = await latestRootVersion(repo.store, repo.paths);
  if (rootVersion > 0 && (await repo.store.head(repo.paths.metadata('timestamp', 0)))) {
    throw new HubError('CONFLICT', `a release repository already exists at ${where}`);
  }
  let root: RootSigned;
  if (rootVersion === 0) {
    if (!Number.isInteger(rootThreshold) || rootThreshold < 1 || rootThreshold > keys.root.length)
      throw new HubError('BAD_REQUEST', `the root threshold must be 1 to ${keys.root.length} (the root keys present)`);
    for (const role of ONLINE_ROLES) if (keys[role].length === 0) throw new HubError('BAD_CONFIG', `no ${role} key in ${repo.keyDir.dir}`);
    root = firstRoot(keys, rootThreshold, new Date(now.getTime() + repo.expiries.root));
    await repo.store.put(repo.paths.metadata('root', 1), signMetadata('root', root, keys.root), { contentType: 'application/json' });
    rootVersion = 1;
  } else {
    const bytes = await repo.rootFile(rootVersion);
    root = parseMetadata<RootSigned>('root', bytes).signed as RootSigned;
  }
  const empty: RepositoryState = {
    root: { version: rootVersion, expires: root.expires, signed: root },
    targets: { version: 0, expires: '', targets: {} },
    snapshot: { version: 0, expires: '', targetsMeta: { version: 0 } },
    timestamp: { version: 0, expires: '', snapshotMeta: { version: 0 } },
  };
  return repo.chain({ state: empty, keys, now }, 'targets');
}
