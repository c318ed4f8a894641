/** Gathers each automatic trigger's inputs (database, telemetry, clock) and evaluates it. */
import type { ModelRef } from '@edgeloop/protocol';
import type { TelemetryStore } from '../fleet/telemetry-store.js';
import type { TriggerConfig, TriggerKind } from './config.js';
import type { CronSchedule } from './cron.js';
import {
  type Evaluation,
  evaluateDrift,
  evaluateLabelChange,
  evaluateNewLabels,
  evaluatePerformanceDrop,
  evaluateSchedule,
} from './evaluate.js';
import type { TriggerFacts } from './facts.js';
import { estimateAccuracy } from './performance.js';
import type { Reference } from './reference.js';

const DAY = 86_400_000;

export interface GatherContext {
  config: TriggerConfig;
  facts: TriggerFacts;
  telemetry: Pick<TelemetryStore, 'aggregate'>;
  schedule: CronSchedule;
  now: Date;
  /** The schedule's previous check. */
  cronSince: Date;
  lastTraining(): { at: string | Date; datasetId?: string } | undefined;
  reference?(): Reference | undefined;
  champion?(): ModelRef | undefined;
}

/** Evaluates one automatic kind (`manual` is not one: it has no inputs to gather). */
export function evaluateKind(kind: Exclude<TriggerKind, 'manual'>, ctx: GatherContext): Evaluation {
  const { config, facts, now } = ctx;
  const training = ctx.lastTraining();
  const since = training ? new Date(training.at).toISOString() : undefined;
  switch (kind) {
    case 'newLabels':
      return evaluateNewLabels(config.newLabels, { newLabelled: facts.newLabelled(since), since: since ?? null });
    case 'labelChange':
      return evaluateLabelChange(config.labelChange, {
        changes: facts.labelChanges(training?.datasetId),
        datasetId: training?.datasetId ?? null,
      });
    case 'schedule':
      return evaluateSchedule(ctx.schedule, { since: ctx.cronSince, now });
    case 'performanceDrop': {
      const cfg = config.performanceDrop;
      const model = ctx.champion?.();
      const rows = facts.reviewedSamples({
        since: new Date(now.getTime() - cfg.windowDays * DAY).toISOString(),
        population: cfg.population,
        ...(model ? { model } : {}),
      });
      const evaluation = evaluatePerformanceDrop(cfg, estimateAccuracy(rows, cfg.weighting));
      return model ? { ...evaluation, inputs: { ...evaluation.inputs, model } } : evaluation;
    }
    case 'drift': {
      const reference = ctx.reference?.();
      const model = reference?.model ?? ctx.champion?.();
      const observed = ctx.telemetry.aggregate({
        since: new Date(now.getTime() - config.drift.lookbackMs),
        until: now,
        ...(model ? { model } : {}),
      });
      return evaluateDrift(config.drift, reference, observed);
    }
  }
}
