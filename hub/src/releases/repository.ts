/**
 * The hub's signed releases: a TUF repository (see `docs/releases.md`) kept in the object store
 * below `tuf/`, so the same files can be served by the hub (`/tuf/*`), by S3 or by a CDN. A
 * release is two targets, `<model>/<version>/model.onnx` and `<model>/<version>/manifest.json`.
 *
 * Every operation re-reads the state from the store and the keys from the key directory, then
 * writes new files only (consistent snapshots) and `timestamp.json` last. Operations of one
 * instance run one at a time; run one hub (or one CLI command) per repository at a time.
 */
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ObjectStore } from '../storage/object-store.js';
import { initialiseRepository } from './initialise.js';
import type { KeyDir, KeySet, RepoKey } from './keys.js';
import { DEFAULT_EXPIRIES, keysFor, ONLINE_ROLES, type OnlineRole, type RoleName, type TargetEntry } from './metadata.js';
import { checkRelease, type PublishedRelease, publish, type ReleaseInput, versionsOf } from './publish.js';
import { releasesOf } from './release-paths.js';
import { rotateOnlineKey, rotateRoot } from './rotation.js';
import { TUF_PREFIX } from './serve.js';
import { loadState, RepositoryKeys, type RepositoryState } from './state.js';
import { type OnlineVersions, writeOnlineChain } from './writer.js';

export type { PublishedRelease, ReleaseInput } from './publish.js';

export interface ReleaseRepositoryOptions {
  store: ObjectStore;
  keyDir: KeyDir;
  /** Object-store prefix of the repository (default `tuf/`): it is the repository's base URL. */
  prefix?: string;
  now?: () => Date;
  /** Validity of each role's metadata once signed, in ms (defaults: 365, 90, 7 and 1 days). */
  expiries?: Partial<Record<RoleName, number>>;
  /** Releases per model kept listed in the targets metadata (default 20). */
  keepReleases?: number;
  log?: Logger;
}

export interface RepositoryVersions extends OnlineVersions {
  root: number;
}

/** What an operation works on: the current state and the keys at hand. */
export interface OperationContext {
  state: RepositoryState;
  keys: KeySet;
  now: Date;
}

export class ReleaseRepository {
  readonly store: ObjectStore;
  readonly keyDir: KeyDir;
  readonly paths: RepositoryKeys;
  readonly expiries: Record<RoleName, number>;
  private readonly now: () => Date;
  /** Releases per model kept listed. */
  readonly keepReleases: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ReleaseRepositoryOptions) {
    this.store = options.store;
    this.keyDir = options.keyDir;
    this.paths = new RepositoryKeys(options.prefix ?? TUF_PREFIX);
    this.expiries = { ...DEFAULT_EXPIRIES, ...options.expiries };
    this.now = options.now ?? (() => new Date());
    this.keepReleases = options.keepReleases ?? 20;
  }

  /** The current state, or `undefined` before {@link initialise}. */
  state(): Promise<RepositoryState | undefined> {
    return loadState(this.store, this.paths);
  }

  /** A root's bytes, to provision devices with (version 1 by default). */
  async rootFile(version = 1): Promise<Uint8Array> {
    const bytes = await this.store.get(this.paths.metadata('root', version));
    if (!bytes) throw new HubError('NOT_FOUND', `no root version ${version}`);
    return bytes;
  }

  /**
   * Writes root version 1, signed by every root key in the key directory (threshold
   * `rootThreshold`), then empty targets, snapshot and timestamp metadata (see `initialise.ts`).
   */
  initialise(options: { rootThreshold?: number } = {}): Promise<RepositoryVersions> {
    return this.serial(async () => {
      const versions = await initialiseRepository(this, await this.keyDir.load(), this.now(), options.rootThreshold ?? 1);
      this.options.log?.info({ versions }, 'release repository initialised');
      return versions;
    });
  }

  /**
   * Publishes a release: stores both target files, then signs new targets, snapshot and
   * timestamp metadata. Versions only go up per model (a rollback is a new, higher version with
   * the older model's bytes); publishing the same release again is a no-op.
   */
  publishRelease(release: ReleaseInput): Promise<PublishedRelease> {
    return this.serial(async () => {
      checkRelease(release);
      const result = await publish(this, await this.context(), release);
      if (!result.alreadyPublished)
        this.options.log?.info({ model: release.model, version: release.version, versions: result.versions }, 'release published');
      return result;
    });
  }

  /** The versions of `model` listed in the targets metadata, oldest first. */
  async releases(model: string): Promise<number[]> {
    const state = await this.state();
    return state ? releasesOf(state.targets.targets, model) : [];
  }

  /**
   * Re-signs the online roles whose metadata is past half its validity (or all, with `force`),
   * cascading down to the timestamp. Run it on a timer well inside the timestamp's validity.
   */
  resignOnline(options: { force?: boolean } = {}): Promise<{ resigned: OnlineRole[]; versions: RepositoryVersions }> {
    return this.serial(async () => {
      const ctx = await this.context();
      const due = (role: OnlineRole) => options.force || Date.parse(ctx.state[role].expires) - ctx.now.getTime() < this.expiries[role] / 2;
      const from = ONLINE_ROLES.find(due);
      if (!from) return { resigned: [], versions: versionsOf(ctx.state) };
      const versions = await this.chain(ctx, from);
      const resigned = ONLINE_ROLES.slice(ONLINE_ROLES.indexOf(from));
      this.options.log?.info({ resigned, versions }, 'online metadata re-signed');
      return { resigned, versions };
    });
  }

  /**
   * Root N→N+1 with new root keys (saved to the key directory first) and threshold, signed by
   * the old root's threshold and the new one's (TUF §5.3.4); the old key files are then retired.
   * `'keep'` renews the root (new version and expiry) with the same keys.
   */
  rotateRoot(newKeys: readonly RepoKey[] | 'keep', threshold?: number): Promise<RepositoryVersions> {
    return this.serial(async () => rotateRoot(this, await this.context(), newKeys, threshold));
  }

  /**
   * Replaces the key of an online role (the timestamp key by default) without a moment where
   * clients would reject the repository: see `rotation.ts`. Needs the root keys.
   */
  rotateOnlineKey(role: OnlineRole = 'timestamp'): Promise<RepositoryVersions> {
    return this.serial(async () => rotateOnlineKey(this, await this.context(), role));
  }

  /** Signs `from` and the roles below it with the keys the root lists (plus `extra` signers). */
  async chain(
    ctx: OperationContext,
    from: OnlineRole,
    targets?: Record<string, TargetEntry>,
    extra?: Partial<Record<OnlineRole, RepoKey[]>>,
  ) {
    const signers = {} as Record<OnlineRole, RepoKey[]>;
    for (const role of ONLINE_ROLES) signers[role] = [...this.signersFor(ctx, role), ...(extra?.[role] ?? [])];
    const online = await writeOnlineChain({
      store: this.store,
      keys: this.paths,
      state: ctx.state,
      signers,
      now: ctx.now,
      expiries: this.expiries,
      from,
      targets,
    });
    return { root: ctx.state.root.version, ...online };
  }

  /** The keys of `role` the current root lists, from the key directory; at least its threshold. */
  signersFor(ctx: OperationContext, role: RoleName): RepoKey[] {
    const root = ctx.state.root.signed;
    const keys = keysFor(root, role, ctx.keys[role]);
    const { threshold } = root.roles[role];
    if (keys.length < threshold)
      throw new HubError(
        'BAD_CONFIG',
        `${this.keyDir.dir} holds ${keys.length} of the ${threshold} ${role} keys root v${root.version} requires`,
      );
    return keys;
  }

  private async context(): Promise<OperationContext> {
    const state = await this.state();
    if (!state)
      throw new HubError(
        'BAD_CONFIG',
        `no release repository at ${this.paths.prefix} in ${this.store.description}: run \`edgeloop-hub keys init\``,
      );
    return { state, keys: await this.keyDir.load(), now: this.now() };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}
