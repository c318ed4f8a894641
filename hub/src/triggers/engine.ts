/**
 * The trigger engine: evaluates the configured triggers on a schedule (`start()`) and on events
 * (`evaluate(event)`, or `notify(event)` to coalesce bursts), applies the debounce and cool-downs,
 * stores each firing with its inputs and hands it to the pipeline (`onFire`).
 *
 * - Debounce: a condition must hold at every evaluation for `debounceMs` before it fires; one
 *   evaluation that finds it false starts the wait over. It fires at the first evaluation after the
 *   wait (the schedule tick at the latest). A schedule is an instant, not a condition: no debounce.
 * - Cool-down: after any firing, automatic triggers hold for the global `cooldownMs`; after a kind
 *   fired, that kind holds for its own cool-down. Manual requests skip the global one. Both are read
 *   back from the firing log at the first evaluation, so a restart keeps them.
 * - While `busy()` (a training runs), automatic triggers hold and keep their debounce progress.
 * - When several kinds are ready at once, one firing is made, for the first in `TRIGGER_KINDS`
 *   order; the others ride along in its `others` and start over.
 */
import { randomUUID } from 'node:crypto';
import type { ModelRef } from '@edgeloop/protocol';
import type { OpenDatabase } from '../db/open.js';
import type { TelemetryStore } from '../fleet/telemetry-store.js';
import type { Logger } from '../log.js';
import { TRIGGER_KINDS, type TriggerConfig, type TriggerKind } from './config.js';
import { CronSchedule } from './cron.js';
import { type Evaluation, evaluateManual } from './evaluate.js';
import { TriggerFacts } from './facts.js';
import { type Firing, FiringLog } from './firings.js';
import { TriggerGate } from './gate.js';
import { evaluateKind } from './gather.js';
import type { Reference } from './reference.js';

/** What prompted an evaluation: the schedule tick, new labels, new telemetry. */
export type TriggerEvent = 'schedule' | 'labelled' | 'telemetry';

/** The kinds each event can change (a schedule tick re-checks all of them). */
const KINDS_OF: Record<TriggerEvent, readonly TriggerKind[]> = {
  schedule: ['performanceDrop', 'drift', 'labelChange', 'newLabels', 'schedule'],
  labelled: ['performanceDrop', 'labelChange', 'newLabels'],
  telemetry: ['drift'],
};

/** The last training, as the pipeline knows it: when, and on which snapshot. */
export interface LastTraining {
  at: string | Date;
  datasetId?: string;
}

export interface TriggerEngineOptions {
  db: OpenDatabase;
  config: TriggerConfig;
  telemetry: Pick<TelemetryStore, 'aggregate'>;
  /** The pipeline's last training (`undefined` before the first). */
  lastTraining(): LastTraining | undefined;
  /** The champion's validation reference for drift (`undefined`: drift cannot decide). */
  reference?(): Reference | undefined;
  /** The champion: performance is measured on its predictions only, when given. */
  champion?(): ModelRef | undefined;
  /** True while a training runs: automatic triggers hold. */
  busy?(): boolean;
  /** Called with each firing after it is stored; a throw is logged, the firing stays logged. */
  onFire(firing: Firing): void | Promise<void>;
  log: Logger;
  now?: () => Date;
}

/** The answer to a manual request: the firing, or why none was made. */
export type ManualResult = { fired: true; firing: Firing } | { fired: false; reason: string; retryAfterMs: number };

export class TriggerEngine {
  readonly firings: FiringLog;
  private readonly facts: TriggerFacts;
  private readonly schedule: CronSchedule;
  private readonly now: () => Date;
  private readonly gate: TriggerGate;
  private cronSince: Date | undefined;
  private loaded = false;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private coalesce: NodeJS.Timeout | undefined;
  private queued = new Set<TriggerKind>();

  /** Parses the configuration (a bad cron throws `BAD_CONFIG`); starts no timer. */
  constructor(private readonly options: TriggerEngineOptions) {
    this.firings = new FiringLog(options.db);
    this.facts = new TriggerFacts(options.db);
    this.schedule = new CronSchedule(options.config.schedule.cron);
    this.now = options.now ?? (() => new Date());
    this.gate = new TriggerGate(options.config);
  }

  /** Evaluates the kinds `event` can change (all automatic kinds without one); resolves to the firing, if any. */
  evaluate(event: TriggerEvent = 'schedule'): Promise<Firing | undefined> {
    return this.serial(() => this.run(KINDS_OF[event]));
  }

  /** A person asks for a training. Fires unless manual triggers are off or within their cool-down. */
  manual(request: { actor: string; reason?: string }): Promise<ManualResult> {
    return this.serial(async (): Promise<ManualResult> => {
      this.load();
      if (!this.options.config.enabled || !this.options.config.manual.enabled)
        return { fired: false, reason: 'manual triggers are disabled', retryAfterMs: 0 };
      const verdict = this.gate.check('manual', this.now().getTime());
      if (verdict.state !== 'ready')
        return { fired: false, reason: 'a manual trigger fired less than its cool-down ago', retryAfterMs: verdict.waitMs };
      const firing = await this.fire(evaluateManual(request), [], request.actor);
      return { fired: true, firing };
    });
  }

  /** Queues an evaluation for `event`, coalesced with others into one per `eventCoalesceMs`; only after `start()`. */
  notify(event: TriggerEvent): void {
    if (!this.timer) return;
    for (const kind of KINDS_OF[event]) this.queued.add(kind);
    this.coalesce ??= setTimeout(() => {
      this.coalesce = undefined;
      const kinds = [...this.queued];
      this.queued.clear();
      this.serial(() => this.run(kinds)).catch((err) => this.options.log.error({ err }, 'trigger evaluation failed'));
    }, this.options.config.eventCoalesceMs);
  }

  /** Evaluates every automatic trigger every `intervalMs` until `stop()`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.evaluate().catch((err) => this.options.log.error({ err }, 'trigger evaluation failed'));
    }, this.options.config.intervalMs);
    this.timer.unref();
  }

  /** Stops the timers and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.coalesce);
    this.timer = undefined;
    this.coalesce = undefined;
    this.queued.clear();
    await this.chain.catch(() => undefined);
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Reads the cool-down state and the schedule's last check from the firing log, once. */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    const lastFired = new Map<TriggerKind, number>();
    for (const kind of TRIGGER_KINDS) {
      const last = this.firings.last(kind);
      if (last) lastFired.set(kind, Date.parse(last.at));
    }
    this.gate.restore(lastFired);
    const lastSchedule = lastFired.get('schedule');
    // A schedule missed while the hub was down fires once on restart; the first boot waits for the next one.
    this.cronSince = lastSchedule !== undefined ? new Date(lastSchedule) : this.now();
  }

  private async run(kinds: readonly TriggerKind[]): Promise<Firing | undefined> {
    this.load();
    const { config, log } = this.options;
    if (!config.enabled) return undefined;
    const now = this.now();
    const t = now.getTime();
    const ready: Evaluation[] = [];
    for (const kind of kinds) {
      if (kind === 'manual' || !config[kind].enabled) continue;
      let evaluation: Evaluation;
      try {
        evaluation = evaluateKind(kind, { ...this.options, facts: this.facts, schedule: this.schedule, now, cronSince: this.cronSince! });
      } catch (err) {
        log.error({ err, kind }, 'cannot evaluate trigger');
        continue;
      }
      if (kind === 'schedule') this.cronSince = now;
      if (!evaluation.fire) {
        this.gate.lapse(kind);
        continue;
      }
      const verdict = this.gate.check(kind, t);
      const about = { kind, reason: evaluation.reason };
      if (verdict.state === 'debouncing') log.debug({ ...about, waitMs: verdict.waitMs }, 'trigger condition holds; debouncing');
      else if (verdict.state === 'cooling') log.debug({ ...about, waitMs: verdict.waitMs }, 'trigger ready but cooling down');
      else if (this.options.busy?.()) log.debug(about, 'trigger ready but a training runs');
      else ready.push(evaluation);
      // A schedule slot that could not fire is spent: the next one is the next chance.
      if (kind === 'schedule' && verdict.state !== 'ready') this.gate.lapse(kind);
    }
    if (ready.length === 0) return undefined;
    ready.sort((a, b) => TRIGGER_KINDS.indexOf(a.kind) - TRIGGER_KINDS.indexOf(b.kind));
    const [first, ...others] = ready as [Evaluation, ...Evaluation[]];
    return this.fire(first, others, null);
  }

  private async fire(evaluation: Evaluation, others: Evaluation[], actor: string | null): Promise<Firing> {
    const at = this.now();
    const training = this.options.lastTraining();
    const firing: Firing = {
      id: randomUUID(),
      at: at.toISOString(),
      kind: evaluation.kind,
      reason: evaluation.reason,
      inputs: evaluation.inputs,
      others: others.map(({ kind, reason, inputs }) => ({ kind, reason, inputs })),
      actor,
      sinceTrainingAt: training ? new Date(training.at).toISOString() : null,
      sinceDatasetId: training?.datasetId ?? null,
    };
    this.firings.insert(firing);
    this.gate.fired([evaluation.kind, ...others.map((o) => o.kind)], at.getTime());
    this.options.log.info(
      { firingId: firing.id, kind: firing.kind, reason: firing.reason, others: others.map((o) => o.kind) },
      'training trigger fired',
    );
    try {
      await this.options.onFire(firing);
    } catch (err) {
      this.options.log.error({ err, firingId: firing.id }, 'the pipeline did not take a trigger firing');
    }
    return firing;
  }
}
