/**
 * Energy and CO₂ estimate of a run, as codecarbon computes it when it cannot measure power:
 * kWh = (CPU core-seconds × W per core + GPU-seconds × W per GPU) × PUE / 3.6e6, and
 * gCO₂eq = kWh × the grid's carbon intensity (g/kWh).
 */
import type { EnergyConfig } from './config.js';

export interface EnergyUse {
  /** Busy CPU core-seconds (user + system time of the trainer, e.g. from `process.cpuUsage()`). */
  cpuSeconds: number;
  /** Busy GPU-seconds (wall time × GPUs in use, for GPU backends). */
  gpuSeconds: number;
}

export interface EnergyEstimate extends EnergyUse {
  energyKwh: number;
  co2G: number;
}

const JOULES_PER_KWH = 3.6e6;

/** The estimate for `use`; negative or non-finite inputs count as zero (a clock that went back). */
export function estimateEnergy(use: EnergyUse, config: EnergyConfig): EnergyEstimate {
  const cpuSeconds = clean(use.cpuSeconds);
  const gpuSeconds = clean(use.gpuSeconds);
  const joules = (cpuSeconds * config.wattsPerCpuCore + gpuSeconds * config.wattsPerGpu) * config.pue;
  const energyKwh = joules / JOULES_PER_KWH;
  return { cpuSeconds, gpuSeconds, energyKwh, co2G: energyKwh * config.gridGCo2PerKwh };
}

/** tfjs backends that run on a GPU; their wall time counts as GPU time when none was measured. */
const GPU_BACKENDS = new Set(['tensorflow-gpu', 'webgpu', 'webgl']);

/**
 * Fills in what a worker did not measure: CPU time defaults to one busy core for the whole run;
 * GPU time to the wall time on one GPU when the backend is a GPU backend, else zero.
 */
export function defaultEnergyUse(durationMs: number, backend: string | undefined, measured: Partial<EnergyUse> = {}): EnergyUse {
  const wall = Math.max(0, durationMs) / 1000;
  return {
    cpuSeconds: measured.cpuSeconds ?? wall,
    gpuSeconds: measured.gpuSeconds ?? (backend !== undefined && GPU_BACKENDS.has(backend) ? wall : 0),
  };
}

function clean(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}
