/**
 * Settings of canary rollouts. The lead merges {@link RolloutConfig} into the hub's `Config` as
 * `pipeline.rollout`; {@link defaultRolloutConfig} holds the documented defaults.
 */
export interface RolloutConfig {
  /** Devices with `cohortPoint(id) < canaryPercent` form the canary cohort. Default 10. */
  canaryPercent: number;
  /** Salt of the cohort hash: change it to draw a different cohort. Default ''. */
  cohortSalt: string;
  /** How long the canary is watched before the decision. Default 30 minutes. */
  watchMs: number;
  /** Without enough evidence at the end of the watch, it is extended up to this long, then paused. Default 4 hours. */
  maxWatchMs: number;
  /** Predictions on the new version the cohort must have made for a decision. Default 200. */
  minPredictions: number;
  /** Roll back when the cohort's low-confidence rate exceeds the fleet's (old version) by more than this. Default 0.10. */
  maxLowConfidenceIncrease: number;
  /** Roll back when the cohort's mean confidence is below the fleet's by more than this. Default 0.10. */
  maxMeanConfidenceDrop: number;
  /** Without a baseline (no old-version telemetry), roll back above this low-confidence rate. Default 0.5. */
  maxLowConfidenceRate: number;
  /**
   * Roll back when more than this share of the cohort devices still report another version at the
   * end of the watch (they failed to update). Default 0.2.
   */
  maxStaleFraction: number;
  /** How often the controller checks active rollouts. Default 10 s. */
  tickMs: number;
}

export const defaultRolloutConfig: RolloutConfig = {
  canaryPercent: 10,
  cohortSalt: '',
  watchMs: 30 * 60_000,
  maxWatchMs: 4 * 60 * 60_000,
  minPredictions: 200,
  maxLowConfidenceIncrease: 0.1,
  maxMeanConfidenceDrop: 0.1,
  maxLowConfidenceRate: 0.5,
  maxStaleFraction: 0.2,
  tickMs: 10_000,
};
