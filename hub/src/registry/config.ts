/**
 * Settings of run tracking, the MLflow mirror and the promotion gate. The lead merges
 * {@link RegistryConfig} into the hub's `Config` as `registry`; {@link defaultRegistryConfig} holds
 * the documented defaults.
 */

/**
 * The energy model, as codecarbon's: energy = busy seconds × power, CO₂ = energy × the grid's
 * carbon intensity. Measured power (RAPL, NVML) is better where available; these are the fallbacks.
 */
export interface EnergyConfig {
  /**
   * Watts drawn per busy CPU core. Default 10 W: codecarbon's fallback CPU TDP (85 W) spread over
   * a typical 8-core part.
   */
  wattsPerCpuCore: number;
  /** Watts drawn per busy GPU. Default 250 W, the board power of a data-centre card (A100 PCIe). */
  wattsPerGpu: number;
  /**
   * Grams of CO₂-equivalent per kWh of the grid the hub trains on. Default 475 g/kWh, the world
   * average codecarbon falls back to; set your region's (e.g. France ≈ 60, Poland ≈ 700).
   */
  gridGCo2PerKwh: number;
  /** Power usage effectiveness of the data centre (total / IT power). Default 1.0, as codecarbon. */
  pue: number;
}

/** The promotion gate's settings (see `gate/gate.ts`). */
export interface GateConfig {
  /** Bootstrap resamples; at least 1,000. Default 2,000. */
  resamples: number;
  /** Two-sided confidence of the CI of the accuracy difference. Default 0.95. */
  confidence: number;
  /** Promote only if the CI's lower bound is ≥ −epsilon. Default 0.01 (one point of accuracy). */
  epsilon: number;
  /** A class regresses when its recall drops by more than this. Default 0.05. */
  classTolerance: number;
  /**
   * Classes with fewer examples than this are reported but do not block: recall on three images
   * moves in steps of 33 points. Default 10.
   */
  minClassSupport: number;
  /** Seed of the bootstrap's generator, so a decision can be recomputed. Default 1. */
  seed: number;
}

export interface MlflowConfig {
  /** MLflow tracking server, e.g. `http://127.0.0.1:5000`; unset turns the mirror off (`EDGELOOP_MLFLOW_URI`). */
  uri?: string;
  /** How often the mirror retries what it could not push. Default 30 s. */
  syncIntervalMs: number;
  /** Per-request timeout. Default 30 s. */
  requestTimeoutMs: number;
}

export interface RegistryConfig {
  energy: EnergyConfig;
  gate: GateConfig;
  mlflow: MlflowConfig;
}

export const defaultRegistryConfig: RegistryConfig = {
  energy: { wattsPerCpuCore: 10, wattsPerGpu: 250, gridGCo2PerKwh: 475, pue: 1 },
  gate: { resamples: 2000, confidence: 0.95, epsilon: 0.01, classTolerance: 0.05, minClassSupport: 10, seed: 1 },
  mlflow: { syncIntervalMs: 30_000, requestTimeoutMs: 30_000 },
};
