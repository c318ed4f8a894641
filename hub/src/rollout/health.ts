/**
 * The canary's health: the cohort's telemetry on the new release against the rest of the fleet's
 * on the release it replaces, over the same period, plus the cohort devices that still report
 * another version (they failed to update). A pure decision over those numbers.
 */
import type { OpenDatabase } from '../db/open.js';
import type { TelemetryAggregate, TelemetryStore } from '../fleet/telemetry-store.js';
import { inCanaryCohort } from './cohort.js';
import type { RolloutConfig } from './config.js';

export interface CanaryHealth {
  /** The cohort on the new release. */
  canary: Pick<TelemetryAggregate, 'windows' | 'devices' | 'total' | 'lowConfidenceRate' | 'meanConfidence'>;
  /** Everyone on the previous release (absent for a first release). */
  baseline?: Pick<TelemetryAggregate, 'windows' | 'devices' | 'total' | 'lowConfidenceRate' | 'meanConfidence'>;
  /** Cohort devices heard from since the start, and those whose latest window is not the new release. */
  cohortDevices: number;
  staleDevices: string[];
}

export type Verdict = { action: 'promote' | 'rollback' | 'wait'; reasons: string[] };

const pick = (a: TelemetryAggregate) => ({
  windows: a.windows,
  devices: a.devices,
  total: a.total,
  lowConfidenceRate: a.lowConfidenceRate,
  meanConfidence: a.meanConfidence,
});

export interface HealthQuery {
  model: string;
  releaseVersion: number;
  previousReleaseVersion: number | null;
  since: Date;
  until: Date;
}

/** Gathers the numbers from the telemetry table. */
export function measureCanary(
  deps: { db: OpenDatabase; telemetry: Pick<TelemetryStore, 'aggregate'> },
  config: Pick<RolloutConfig, 'canaryPercent' | 'cohortSalt'>,
  q: HealthQuery,
): CanaryHealth {
  // The newest window of every device heard from since the start, with its model version.
  const latest = deps.db.sqlite
    .prepare<[string, string, string], { device_id: string; model_version: number }>(
      `SELECT device_id, model_version FROM telemetry_windows t
       WHERE model_name = ? AND window_end > ? AND window_end <= ?
         AND window_end = (SELECT max(window_end) FROM telemetry_windows u WHERE u.device_id = t.device_id AND u.model_name = t.model_name)`,
    )
    .all(q.model, q.since.toISOString(), q.until.toISOString());
  const cohort = latest.filter((r) => inCanaryCohort(r.device_id, config.canaryPercent, config.cohortSalt));
  const cohortIds = cohort.map((r) => r.device_id);
  const canary = deps.telemetry.aggregate({
    since: q.since,
    until: q.until,
    model: { name: q.model, version: q.releaseVersion },
    deviceIds: cohortIds,
  });
  const baseline =
    q.previousReleaseVersion === null
      ? undefined
      : deps.telemetry.aggregate({ since: q.since, until: q.until, model: { name: q.model, version: q.previousReleaseVersion } });
  return {
    canary: pick(canary),
    ...(baseline && baseline.total > 0 ? { baseline: pick(baseline) } : {}),
    cohortDevices: cohort.length,
    staleDevices: cohort.filter((r) => r.model_version !== q.releaseVersion).map((r) => r.device_id),
  };
}

/** Promote, roll back, or wait for more evidence. */
export function judgeCanary(h: CanaryHealth, config: RolloutConfig): Verdict {
  const reasons: string[] = [];
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  if (h.cohortDevices > 0 && h.staleDevices.length / h.cohortDevices > config.maxStaleFraction) {
    reasons.push(`${h.staleDevices.length} of ${h.cohortDevices} cohort devices did not update (over ${pct(config.maxStaleFraction)})`);
  }
  if (h.canary.total >= config.minPredictions) {
    if (h.baseline) {
      if (h.canary.lowConfidenceRate - h.baseline.lowConfidenceRate > config.maxLowConfidenceIncrease)
        reasons.push(
          `low-confidence rate ${pct(h.canary.lowConfidenceRate)} vs ${pct(h.baseline.lowConfidenceRate)} on the previous release`,
        );
      if (h.baseline.meanConfidence - h.canary.meanConfidence > config.maxMeanConfidenceDrop)
        reasons.push(
          `mean confidence ${h.canary.meanConfidence.toFixed(3)} vs ${h.baseline.meanConfidence.toFixed(3)} on the previous release`,
        );
    } else if (h.canary.lowConfidenceRate > config.maxLowConfidenceRate) {
      reasons.push(`low-confidence rate ${pct(h.canary.lowConfidenceRate)} over ${pct(config.maxLowConfidenceRate)}`);
    }
  }
  if (reasons.length > 0) return { action: 'rollback', reasons };
  if (h.canary.total < config.minPredictions)
    return { action: 'wait', reasons: [`${h.canary.total} predictions on the new release, ${config.minPredictions} needed`] };
  return { action: 'promote', reasons: [`${h.canary.total} predictions from ${h.canary.devices} cohort devices within the limits`] };
}
