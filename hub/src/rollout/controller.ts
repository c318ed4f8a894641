/**
 * The rollout controller: publishes a promoted model to the canary track, watches the cohort
 * (`health.ts`) and, at the end of the watch, promotes the release to the stable track or rolls
 * it back: a new, higher release with the previous model's bytes, on both tracks, and the
 * `champion` alias moved back (actor `system:rollout`). A person can promote, pause, resume or
 * roll back through the API. Each rollout is a `rollouts` row; every change is written there
 * before the next step, and publishing is idempotent, so a restart continues where it stopped.
 */
import { randomUUID } from 'node:crypto';
import { and, desc, eq, inArray } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { rollouts } from '../db/schema-pipeline.js';
import { HubError } from '../errors.js';
import type { TelemetryStore } from '../fleet/telemetry-store.js';
import type { Logger } from '../log.js';
import type { ModelRegistry } from '../registry/models.js';
import type { RolloutConfig } from './config.js';
import { judgeCanary, measureCanary } from './health.js';
import type { ReleaseTracks } from './tracks.js';

export type RolloutRecord = typeof rollouts.$inferSelect;

export interface RolloutControllerOptions {
  db: OpenDatabase;
  tracks: ReleaseTracks;
  registry: ModelRegistry;
  telemetry: Pick<TelemetryStore, 'aggregate'>;
  config: RolloutConfig;
  log: Logger;
  now?: () => Date;
}

export interface BeginRollout {
  firingId?: string;
  model: string;
  modelVersion: number;
  /** The champion this one replaces (what a rollback returns to). */
  previousModelVersion?: number;
}

export class RolloutController {
  private readonly now: () => Date;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RolloutControllerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get(id: string): RolloutRecord | undefined {
    return this.options.db.db.select().from(rollouts).where(eq(rollouts.id, id)).get();
  }

  require(id: string): RolloutRecord {
    const r = this.get(id);
    if (!r) throw new HubError('NOT_FOUND', `no rollout ${id}`);
    return r;
  }

  byFiring(firingId: string): RolloutRecord | undefined {
    return this.options.db.db.select().from(rollouts).where(eq(rollouts.firingId, firingId)).get();
  }

  list(model?: string, limit = 50): RolloutRecord[] {
    const q = this.options.db.db.select().from(rollouts);
    return (model ? q.where(eq(rollouts.model, model)) : q).orderBy(desc(rollouts.startedAt)).limit(limit).all();
  }

  /** The release the stable track serves (what the whole fleet runs), if any. */
  live(model: string): { releaseVersion: number; modelVersion: number } | undefined {
    const r = this.options.db.db
      .select()
      .from(rollouts)
      .where(and(eq(rollouts.model, model), inArray(rollouts.state, ['promoted', 'rolled-back'])))
      .orderBy(desc(rollouts.updatedAt))
      .get();
    if (!r) return undefined;
    return r.state === 'promoted'
      ? { releaseVersion: r.releaseVersion, modelVersion: r.modelVersion }
      : { releaseVersion: r.rollbackReleaseVersion!, modelVersion: r.previousModelVersion! };
  }

  /** Starts a rollout: allocates the release version, then publishes to the canary track. Idempotent per firing. */
  begin(input: BeginRollout): Promise<RolloutRecord> {
    return this.serial(async () => {
      const { tracks, registry, config } = this.options;
      await tracks.ensureCanary();
      let row = input.firingId ? this.byFiring(input.firingId) : undefined;
      if (!row) {
        const now = this.now();
        const releaseVersion = (await tracks.highest(input.model)) + 1;
        row = {
          id: randomUUID(),
          firingId: input.firingId ?? null,
          model: input.model,
          releaseVersion,
          modelVersion: input.modelVersion,
          previousReleaseVersion: this.live(input.model)?.releaseVersion ?? null,
          previousModelVersion: input.previousModelVersion ?? null,
          state: 'canary',
          cohortPercent: config.canaryPercent,
          startedAt: now.toISOString(),
          watchUntil: new Date(now.getTime() + config.watchMs).toISOString(),
          rollbackReleaseVersion: null,
          decision: null,
          actor: 'system:rollout',
          updatedAt: now.toISOString(),
        };
        this.options.db.db.insert(rollouts).values(row).run();
      }
      if (row.state === 'canary') {
        await tracks.publish('canary', await tracks.releaseOf(registry, row.model, row.modelVersion, row.releaseVersion));
        this.options.log.info(
          { rollout: row.id, model: row.model, release: row.releaseVersion, modelVersion: row.modelVersion },
          'canary release published',
        );
      }
      return this.require(row.id);
    });
  }

  /** Checks every canary whose watch has ended; decides, extends, or pauses. */
  tick(): Promise<void> {
    return this.serial(async () => {
      const now = this.now();
      const due = this.options.db.db.select().from(rollouts).where(eq(rollouts.state, 'canary')).all();
      for (const r of due) {
        if (Date.parse(r.watchUntil) > now.getTime()) continue;
        try {
          await this.decide(r, now);
        } catch (err) {
          this.options.log.error({ err, rollout: r.id }, 'rollout decision failed');
        }
      }
    });
  }

  private async decide(r: RolloutRecord, now: Date): Promise<void> {
    const { config } = this.options;
    const health = measureCanary(this.options, config, {
      model: r.model,
      releaseVersion: r.releaseVersion,
      previousReleaseVersion: r.previousReleaseVersion,
      since: new Date(r.startedAt),
      until: now,
    });
    const verdict = judgeCanary(health, config);
    const decision = { ...verdict, health, at: now.toISOString() } as unknown as Record<string, unknown>;
    if (verdict.action === 'promote') return this.promoteNow(r, 'system:rollout', verdict.reasons.join('; '), decision);
    if (verdict.action === 'rollback') {
      if (r.previousModelVersion === null)
        return this.update(r.id, { state: 'paused', decision: { ...decision, note: 'no previous model to roll back to' } });
      return this.rollbackNow(r, 'system:rollout', verdict.reasons.join('; '), decision);
    }
    const watched = now.getTime() - Date.parse(r.startedAt);
    if (watched >= config.maxWatchMs)
      return this.update(r.id, { state: 'paused', decision: { ...decision, note: 'not enough evidence within maxWatchMs' } });
    this.update(r.id, {
      watchUntil: new Date(now.getTime() + Math.min(config.watchMs, config.maxWatchMs - watched)).toISOString(),
      decision,
    });
  }

  /** Manual promotion of a canary or paused rollout. */
  promote(id: string, actor: string, reason = 'promoted by hand'): Promise<RolloutRecord> {
    return this.serial(async () => {
      const r = this.require(id);
      if (r.state !== 'canary' && r.state !== 'paused') throw new HubError('CONFLICT', `rollout ${id} is ${r.state}`);
      await this.promoteNow(r, actor, reason, { manual: true });
      return this.require(id);
    });
  }

  /** Manual rollback of a canary, paused or promoted rollout. */
  rollback(id: string, actor: string, reason = 'rolled back by hand'): Promise<RolloutRecord> {
    return this.serial(async () => {
      const r = this.require(id);
      if (r.state === 'rolled-back') throw new HubError('CONFLICT', `rollout ${id} is already rolled back`);
      if (r.previousModelVersion === null) throw new HubError('CONFLICT', `rollout ${id} has no previous model to return to`);
      await this.rollbackNow(r, actor, reason, { manual: true });
      return this.require(id);
    });
  }

  /** Stops the automatic decision (the canary stays where it is) or lets it go on. */
  pause(id: string, actor: string, paused: boolean): Promise<RolloutRecord> {
    return this.serial(async () => {
      const r = this.require(id);
      const from = paused ? 'canary' : 'paused';
      if (r.state !== from) throw new HubError('CONFLICT', `rollout ${id} is ${r.state}, not ${from}`);
      this.update(id, { state: paused ? 'paused' : 'canary', actor, ...(paused ? {} : { watchUntil: this.now().toISOString() }) });
      return this.require(id);
    });
  }

  /** Checks on a timer until {@link stop}. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.tick().catch((err) => this.options.log.error({ err }, 'rollout tick failed'));
    }, this.options.config.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.queue.catch(() => undefined);
  }

  private async promoteNow(r: RolloutRecord, actor: string, reason: string, decision: Record<string, unknown>): Promise<void> {
    const { tracks, registry } = this.options;
    await tracks.publish('stable', await tracks.releaseOf(registry, r.model, r.modelVersion, r.releaseVersion));
    this.update(r.id, { state: 'promoted', actor, decision: { ...decision, reason } });
    this.options.log.info({ rollout: r.id, release: r.releaseVersion, actor, reason }, 'release promoted to the fleet');
  }

  private async rollbackNow(r: RolloutRecord, actor: string, reason: string, decision: Record<string, unknown>): Promise<void> {
    const { tracks, registry } = this.options;
    const previous = r.previousModelVersion!;
    // The version is written first, so a retry after a crash republishes the same release.
    const version = r.rollbackReleaseVersion ?? (await tracks.highest(r.model)) + 1;
    if (r.rollbackReleaseVersion === null) this.update(r.id, { rollbackReleaseVersion: version });
    const release = await tracks.releaseOf(registry, r.model, previous, version);
    await tracks.publish('canary', release);
    await tracks.publish('stable', release);
    registry.setAlias(
      r.model,
      'champion',
      previous,
      actor.startsWith('system:') ? actor : `user:${actor}`,
      `rollback of release ${r.releaseVersion}: ${reason}`,
      {
        rollout: r.id,
      },
    );
    this.update(r.id, { state: 'rolled-back', actor, decision: { ...decision, reason } });
    this.options.log.warn({ rollout: r.id, release: r.releaseVersion, rollbackRelease: version, actor, reason }, 'release rolled back');
  }

  private update(id: string, set: Partial<RolloutRecord>): void {
    this.options.db.db
      .update(rollouts)
      .set({ ...set, updatedAt: this.now().toISOString() })
      .where(eq(rollouts.id, id))
      .run();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
