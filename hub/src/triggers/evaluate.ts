/**
 * The trigger conditions as pure functions of their inputs: each returns whether it would fire,
 * why, and the inputs it decided on (stored with a firing). The engine gathers the inputs
 * (`facts.ts`, the telemetry store, the clock) and applies the debounce and cool-downs.
 */
import type { TelemetryAggregate } from '../fleet/telemetry-store.js';
import type { DriftTrigger, LabelChangeTrigger, NewLabelsTrigger, PerformanceDropTrigger, TriggerKind } from './config.js';
import type { CronSchedule } from './cron.js';
import { alignCounts, distance } from './distance.js';
import type { LabelChange } from './facts.js';
import type { AccuracyEstimate } from './performance.js';
import type { Reference } from './reference.js';

export interface Evaluation {
  kind: TriggerKind;
  fire: boolean;
  reason: string;
  inputs: Record<string, unknown>;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** Fires when at least `minCount` distinct samples were labelled since the last training. */
export function evaluateNewLabels(config: NewLabelsTrigger, input: { newLabelled: number; since: string | null }): Evaluation {
  const fire = input.newLabelled >= config.minCount;
  const inputs = { newLabelled: input.newLabelled, minCount: config.minCount, since: input.since };
  const reason = `${input.newLabelled} samples labelled since ${input.since ?? 'the beginning'} (${fire ? '≥' : '<'} ${config.minCount})`;
  return { kind: 'newLabels', fire, reason, inputs };
}

/** Fires when some label gained plus lost more than `perLabelK` files since the last trained snapshot. */
export function evaluateLabelChange(
  config: LabelChangeTrigger,
  input: { changes: Record<string, LabelChange>; datasetId: string | null },
): Evaluation {
  const K = config.perLabelK;
  const ranked = Object.entries(input.changes)
    .map(([label, c]) => ({ label, added: c.added, removed: c.removed, changed: c.added + c.removed }))
    .sort((a, b) => b.changed - a.changed || a.label.localeCompare(b.label));
  const over = ranked.filter((r) => r.changed > K);
  // Every label over K, and the ten largest changes, keep the stored inputs small.
  const shown = over.length >= 10 ? over : ranked.slice(0, 10);
  const inputs = { perLabelK: K, datasetId: input.datasetId, labelsOverK: over.map((r) => r.label), changes: shown };
  const top = ranked[0];
  const reason =
    over.length > 0
      ? `${over.length} label(s) changed by more than ${K} files since the last training (${over
          .slice(0, 3)
          .map((r) => `${r.label}: +${r.added} −${r.removed}`)
          .join(', ')})`
      : `no label changed by more than ${K} files (largest: ${top ? `${top.label} ${top.changed}` : 'none'})`;
  return { kind: 'labelChange', fire: over.length > 0, reason, inputs };
}

/** Fires when a scheduled minute fell in `(since, now]`. */
export function evaluateSchedule(schedule: CronSchedule, input: { since: Date; now: Date }): Evaluation {
  const due = schedule.nextAfter(input.since);
  const fire = due !== undefined && due.getTime() <= input.now.getTime();
  const inputs = { cron: schedule.expression, since: input.since.toISOString(), due: due?.toISOString() ?? null };
  const reason = fire
    ? `schedule ${schedule.expression} was due at ${due!.toISOString()}`
    : `schedule ${schedule.expression} next due at ${due?.toISOString() ?? 'never'}`;
  return { kind: 'schedule', fire, reason, inputs };
}

/** Fires when the accuracy estimate is below `threshold` and rests on at least `minReviewed` samples. */
export function evaluatePerformanceDrop(config: PerformanceDropTrigger, estimate: AccuracyEstimate): Evaluation {
  const enough = estimate.reviewed >= config.minReviewed;
  const fire = enough && estimate.accuracy < config.threshold;
  const inputs = {
    threshold: config.threshold,
    minReviewed: config.minReviewed,
    windowDays: config.windowDays,
    population: config.population,
    ...estimate,
    accuracy: round(estimate.accuracy),
    unweighted: round(estimate.unweighted),
    effectiveSize: round(estimate.effectiveSize),
  };
  const acc = `accuracy ${round(estimate.accuracy)} (${estimate.weighting === 'inclusion' ? '1/π-weighted' : 'unweighted'}) over ${estimate.reviewed} reviewed samples`;
  const reason = !enough
    ? `${estimate.reviewed} reviewed samples, fewer than ${config.minReviewed}: no decision`
    : `${acc} ${fire ? 'is below' : 'is not below'} ${config.threshold}`;
  return { kind: 'performanceDrop', fire, reason, inputs };
}

/**
 * Fires when the distance between the fleet's telemetry and the reference is above `threshold`
 * for the confidence histogram or for the class mix, given enough windows and predictions.
 */
export function evaluateDrift(config: DriftTrigger, reference: Reference | undefined, observed: TelemetryAggregate): Evaluation {
  const base = {
    metric: config.metric,
    threshold: config.threshold,
    windows: observed.windows,
    devices: observed.devices,
    predictions: observed.total,
  };
  if (!reference) return { kind: 'drift', fire: false, reason: 'no reference distribution for the champion', inputs: base };
  if (observed.windows < config.minWindows || observed.total < config.minPredictions) {
    const reason = `${observed.windows} windows with ${observed.total} predictions, fewer than ${config.minWindows} / ${config.minPredictions}: no decision`;
    return { kind: 'drift', fire: false, reason, inputs: base };
  }
  const confidence = round(distance(config.metric, reference.confidenceHistogram, observed.confidenceHistogram));
  const classes = alignCounts(reference.classCounts, observed.classCounts);
  const classMix = round(distance(config.metric, classes.a, classes.b));
  const fire = confidence > config.threshold || classMix > config.threshold;
  const inputs = {
    ...base,
    model: reference.model ?? null,
    distances: { confidence, classMix },
    observed: { confidenceHistogram: observed.confidenceHistogram, classCounts: observed.classCounts },
    reference: { confidenceHistogram: reference.confidenceHistogram, classCounts: reference.classCounts },
  };
  const reason = `${config.metric} confidence ${confidence}, class mix ${classMix} ${fire ? 'above' : 'within'} ${config.threshold}`;
  return { kind: 'drift', fire, reason, inputs };
}

/** A manual request always fires (the engine still applies the manual cool-down). */
export function evaluateManual(request: { actor: string; reason?: string }): Evaluation {
  return { kind: 'manual', fire: true, reason: request.reason ?? `manual trigger by ${request.actor}`, inputs: { actor: request.actor } };
}
