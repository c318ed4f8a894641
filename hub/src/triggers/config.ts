/**
 * Configuration of the training triggers. Each kind can be turned off and can override the global
 * debounce and cool-down. The lead merges {@link TriggerConfig} into the hub's `Config` as
 * `triggers` (defaults: {@link defaultTriggerConfig}).
 */

/** The kinds of trigger, in the order the engine prefers when several are ready at once. */
export const TRIGGER_KINDS = ['manual', 'performanceDrop', 'drift', 'labelChange', 'newLabels', 'schedule'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** Per-kind overrides of the global timing. */
export interface TriggerTiming {
  enabled: boolean;
  /** The condition must hold this long before the trigger fires (overrides the global value). */
  debounceMs?: number;
  /** After this kind fired, it does not fire again for this long (overrides the global value). */
  cooldownMs?: number;
}

export interface NewLabelsTrigger extends TriggerTiming {
  /** Fires when at least this many distinct samples were labelled since the last training. */
  minCount: number;
}

export interface LabelChangeTrigger extends TriggerTiming {
  /** Fires when some label gained or lost more than this many files since the last trained snapshot. */
  perLabelK: number;
}

export interface ScheduleTrigger extends TriggerTiming {
  /** Five-field cron expression, evaluated in UTC (`0 3 * * 1`: Mondays at 03:00). */
  cron: string;
}

export interface PerformanceDropTrigger extends TriggerTiming {
  /** Fires when the estimated accuracy is strictly below this. */
  threshold: number;
  /** ...and at least this many reviewed samples back the estimate. */
  minReviewed: number;
  /** Samples received in the last this many days count. */
  windowDays: number;
  /**
   * `reviewed`: every device sample a person reviewed; `audit`: only those the random audit
   * selected. See `performance.ts` for which weighting is exact for which population.
   */
  population: 'audit' | 'reviewed';
  /** `inclusion`: Horvitz-Thompson, each sample weighted by 1 / inclusionProbability; `none`: plain. */
  weighting: 'inclusion' | 'none';
}

export interface DriftTrigger extends TriggerTiming {
  /** Population stability index, or Jensen-Shannon distance (base 2, in [0, 1]). */
  metric: 'psi' | 'js';
  /** Fires when the confidence histogram's or the class mix's distance is above this. */
  threshold: number;
  /** Fewer telemetry windows than this in the lookback: no decision. */
  minWindows: number;
  /** Fewer predictions than this in the lookback: no decision (small counts make noisy distances). */
  minPredictions: number;
  /** Windows that ended within this long before now are compared. */
  lookbackMs: number;
}

export interface ManualTrigger extends TriggerTiming {}

export interface TriggerConfig {
  /** Turns the whole engine off. */
  enabled: boolean;
  /** Default debounce of every kind but `manual`. */
  debounceMs: number;
  /** After any firing, no automatic trigger fires for this long (manual ones still do). */
  cooldownMs: number;
  /** How often `start()` evaluates every trigger. */
  intervalMs: number;
  /** Events arriving through `notify` are coalesced into one evaluation per this interval. */
  eventCoalesceMs: number;
  newLabels: NewLabelsTrigger;
  labelChange: LabelChangeTrigger;
  schedule: ScheduleTrigger;
  performanceDrop: PerformanceDropTrigger;
  drift: DriftTrigger;
  manual: ManualTrigger;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const defaultTriggerConfig: TriggerConfig = {
  enabled: true,
  debounceMs: 5 * MINUTE,
  cooldownMs: 6 * HOUR,
  intervalMs: MINUTE,
  eventCoalesceMs: 5_000,
  newLabels: { enabled: true, minCount: 500 },
  labelChange: { enabled: true, perLabelK: 200 },
  schedule: { enabled: true, cron: '0 3 * * 1', debounceMs: 0 },
  performanceDrop: { enabled: true, threshold: 0.8, minReviewed: 100, windowDays: 7, population: 'reviewed', weighting: 'inclusion' },
  // PSI above 0.2 is the usual "significant shift" rule of thumb; 0.25 keeps it conservative.
  drift: { enabled: true, metric: 'psi', threshold: 0.25, minWindows: 10, minPredictions: 500, lookbackMs: 24 * HOUR },
  manual: { enabled: true, debounceMs: 0, cooldownMs: 0 },
};

type Overrides = { [K in keyof TriggerConfig]?: TriggerConfig[K] extends object ? Partial<TriggerConfig[K]> : TriggerConfig[K] };

/** The defaults with `overrides` merged one level deep (per kind). */
export function triggerConfig(overrides: Overrides = {}): TriggerConfig {
  const merged = { ...defaultTriggerConfig } as Record<string, unknown>;
  for (const [key, value] of Object.entries(overrides)) {
    const base = (defaultTriggerConfig as unknown as Record<string, unknown>)[key];
    merged[key] = typeof base === 'object' && base !== null && value !== undefined ? { ...base, ...(value as object) } : value;
  }
  return merged as unknown as TriggerConfig;
}

/** The debounce and cool-down that apply to `kind`. */
export function timingOf(config: TriggerConfig, kind: TriggerKind): { debounceMs: number; cooldownMs: number } {
  const own = config[kind];
  return { debounceMs: own.debounceMs ?? config.debounceMs, cooldownMs: own.cooldownMs ?? (kind === 'manual' ? 0 : config.cooldownMs) };
}
