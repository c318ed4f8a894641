/**
 * Release tracks: how one fleet gets a canary with TUF and an agent that installs the newest
 * release it can verify.
 *
 * Two TUF repositories, signed by the same keys: `stable` (object-store prefix `tuf/`, served at
 * `/tuf/`) and `canary` (`tuf-canary/`, served at `/tuf-canary/`). A device is provisioned with the
 * repository URL and the root of its track (`cohort.ts`), and stays on it. A release goes to the
 * canary repository first; promotion publishes the same files to the stable one; a rollback is a
 * new, higher release carrying the previous model's bytes, published to both. Version numbers are
 * drawn from one counter across both repositories, so a version names the same bytes everywhere
 * and never goes down on any device. The agent needs no change: each repository is a plain TUF
 * repository of the documented layout.
 *
 * Both repositories need the online roles re-signed on schedule and every key rotation applied to
 * both (`ReleaseTracks.each`).
 */
import { encodeJson } from '@edgeloop/protocol';
import type { ModelRegistry } from '../registry/models.js';
import type { AnnounceBroker } from '../releases/announce.js';
import { announce } from '../releases/announce.js';
import type { KeyDir } from '../releases/keys.js';
import { type PublishedRelease, type ReleaseInput, ReleaseRepository, type ReleaseRepositoryOptions } from '../releases/repository.js';
import type { ObjectStore } from '../storage/object-store.js';

export const STABLE_PREFIX = 'tuf/';
export const CANARY_PREFIX = 'tuf-canary/';
export const STABLE_PATH = '/tuf/';
export const CANARY_PATH = '/tuf-canary/';

export interface ReleaseTracksOptions extends Omit<ReleaseRepositoryOptions, 'store' | 'keyDir' | 'prefix'> {
  store: ObjectStore;
  keyDir: KeyDir;
  /** The stable repository, when the hub already has one (it is shared with the releases API). */
  stable?: ReleaseRepository;
  /** Publishes the retained MQTT announcement; absent: devices find releases by polling. */
  broker?: AnnounceBroker;
}

export class ReleaseTracks {
  readonly stable: ReleaseRepository;
  readonly canary: ReleaseRepository;

  constructor(private readonly options: ReleaseTracksOptions) {
    const { broker: _b, stable, ...repo } = options;
    this.stable = stable ?? new ReleaseRepository({ ...repo, prefix: STABLE_PREFIX });
    this.canary = new ReleaseRepository({ ...repo, prefix: CANARY_PREFIX });
  }

  /** Creates the canary repository (same keys and root threshold as the stable one) if it is missing. */
  async ensureCanary(): Promise<void> {
    if (await this.canary.state()) return;
    const stable = await this.stable.state();
    const threshold = stable?.root.signed.roles.root.threshold ?? 1;
    await this.canary.initialise({ rootThreshold: threshold });
  }

  /** Both repositories, for re-signing and key rotation. */
  each(): ReleaseRepository[] {
    return [this.stable, this.canary];
  }

  /** The highest release version of `model` in either repository (0 before the first). */
  async highest(model: string): Promise<number> {
    const [a, b] = await Promise.all([this.stable.releases(model), this.canary.releases(model)]);
    return Math.max(0, a.at(-1) ?? 0, b.at(-1) ?? 0);
  }

  /** Registry version `modelVersion`'s files as release `releaseVersion` (the manifest names the release version). */
  async releaseOf(registry: ModelRegistry, model: string, modelVersion: number, releaseVersion: number): Promise<ReleaseInput> {
    const { manifest, onnx } = await registry.files(model, modelVersion);
    return {
      model,
      version: releaseVersion,
      onnxBytes: onnx,
      manifestBytes: encodeJson('manifest', { ...manifest, name: model, version: releaseVersion }),
    };
  }

  /** Publishes `release` to `track` (idempotent) and announces it. */
  async publish(track: 'canary' | 'stable', release: ReleaseInput): Promise<PublishedRelease> {
    const repo = track === 'canary' ? this.canary : this.stable;
    const published = await repo.publishRelease(release);
    if (this.options.broker) {
      await announce(this.options.broker, {
        model: release.model,
        version: release.version,
        timestampVersion: published.versions.timestamp,
        repository: track === 'canary' ? CANARY_PATH : STABLE_PATH,
        ...(track === 'canary' ? { cohort: 'canary' } : {}),
      });
    }
    return published;
  }
}
