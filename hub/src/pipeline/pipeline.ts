/**
 * The training pipeline: one run per trigger firing (`pipeline_runs`, keyed by the firing id),
 * advanced step by step (`steps.ts`) on a timer and whenever something it waits for happens (a
 * job ends). Runs go one at a time, oldest first; each step's outcome is written before the next
 * step starts, so a restarted hub resumes at the recorded step.
 *
 * For the trigger engine: `onFire` takes a firing, `lastTraining()` is the snapshot of the last
 * run that trained a model, `busy()` is true while any run is active (a canary included), and
 * `champion()` is the release the fleet runs.
 */
import type { ModelRef } from '@edgeloop/protocol';
import type { Logger } from '../log.js';
import type { LastTraining } from '../triggers/engine.js';
import type { Firing } from '../triggers/firings.js';
import { runStep, type StepDeps } from './steps.js';
import { type PipelineRunRecord, PipelineStore, type StepOutputs } from './store.js';

export type TrainingPipelineOptions = Omit<StepDeps, 'now'> & { now?: () => Date; log: Logger };

export class TrainingPipeline {
  readonly store: PipelineStore;
  private readonly deps: StepDeps;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private pending = false;

  constructor(options: TrainingPipelineOptions) {
    const now = options.now ?? (() => new Date());
    this.deps = { ...options, now };
    this.store = new PipelineStore(options.db, now);
  }

  /** The trigger engine's `onFire`: records the run and starts it (or queues it behind the active one). */
  onFire(firing: Pick<Firing, 'id' | 'kind' | 'reason'>): PipelineRunRecord {
    const run = this.store.add(firing.id, this.deps.config.model, { reason: `${firing.kind}: ${firing.reason}` });
    this.deps.log.info({ firingId: firing.id, kind: firing.kind }, 'pipeline run queued');
    void this.kick();
    return run;
  }

  /** The last run that trained a model: its snapshot and when it was taken. */
  lastTraining(): LastTraining | undefined {
    const run = this.store.trained()[0];
    if (!run) return undefined;
    const out = run.outputs as StepOutputs;
    return { at: out.snapshotAt ?? run.createdAt, ...(out.datasetId ? { datasetId: out.datasetId } : {}) };
  }

  busy(): boolean {
    return this.store.nextActive() !== undefined;
  }

  /** The release the whole fleet runs (what devices report), for the triggers' performance measure. */
  champion(): ModelRef | undefined {
    const live = this.deps.rollout.live(this.deps.config.model);
    return live ? { name: this.deps.config.model, version: live.releaseVersion } : undefined;
  }

  /** Advances the active runs as far as they go now; concurrent calls coalesce. */
  kick(): Promise<void> {
    if (this.pending) return this.chain.then(() => undefined);
    this.pending = true;
    const next = this.chain.then(async () => {
      this.pending = false;
      await this.advanceAll();
    });
    this.chain = next.catch((err) => this.deps.log.error({ err }, 'pipeline advance failed'));
    return this.chain.then(() => undefined);
  }

  /** Advances on a timer (and the rollout controller's ticks) until {@link stop}. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.config.tickMs);
    this.timer.unref();
  }

  /** One timer tick: expire job leases, let the rollout decide, advance. */
  async tick(): Promise<void> {
    try {
      this.deps.jobs.expireLeases();
      await this.deps.rollout.tick();
    } catch (err) {
      this.deps.log.error({ err }, 'pipeline tick failed');
    }
    await this.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
  }

  private async advanceAll(): Promise<void> {
    for (let guard = 0; guard < 100; guard++) {
      const run = this.store.nextActive();
      if (!run) return;
      let result: Awaited<ReturnType<typeof runStep>>;
      try {
        result = await runStep(this.deps, run);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.deps.log.error({ err, firingId: run.firingId, step: run.step }, 'pipeline step failed');
        this.store.advance(run.firingId, { state: 'failed', error: `${run.step}: ${message}` });
        continue;
      }
      if (result.kind === 'wait') return;
      const after = this.store.advance(run.firingId, {
        step: result.step,
        ...(result.state ? { state: result.state } : {}),
        ...(result.outputs ? { outputs: result.outputs } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
      });
      if (after.step !== run.step || after.state !== run.state)
        this.deps.log.info({ firingId: run.firingId, from: run.step, to: after.step, state: after.state }, 'pipeline step');
    }
  }
}
