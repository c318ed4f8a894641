import type { Rng } from './sampling/rng.js';
import type { ModelRef } from './schemas/common.js';
import { CONFIDENCE_BUCKETS, type TelemetryWindow } from './schemas/telemetry.js';

/** Bucket of a confidence in [0, 1]: i/20 ≤ c < (i+1)/20, with 1 in the last bucket. */
export function confidenceBucket(c: number): number {
  return Math.min(CONFIDENCE_BUCKETS - 1, Math.max(0, Math.floor(c * CONFIDENCE_BUCKETS)));
}

/** Nearest-rank percentile of sorted values (`q` in (0, 1]); 0 for no values. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1] as number;
}

export interface TelemetryWindowOptions {
  lowConfidenceThreshold: number;
  /** Latencies kept for the quantiles; past this, reservoir sampling keeps a uniform subset. */
  latencyReservoir?: number;
  rng: Rng;
}

/**
 * Accumulates predictions into a {@link TelemetryWindow}. Memory is bounded: per-class counters
 * plus a fixed reservoir of latencies. {@link TelemetryWindowBuilder.flush} returns the window and
 * starts the next one.
 */
export class TelemetryWindowBuilder {
  private classes = new Map<string, { count: number; confidenceHistogram: number[] }>();
  private total = 0;
  private low = 0;
  private latencies: number[] = [];
  private seen = 0;
  private readonly reservoir: number;

  constructor(
    private readonly options: TelemetryWindowOptions,
    private windowStart: Date,
  ) {
    this.reservoir = options.latencyReservoir ?? 4096;
  }

  /** Records one prediction: its top label, that label's confidence and the inference latency. */
  record(label: string, confidence: number, latencyMs: number): void {
    let stats = this.classes.get(label);
    if (!stats) {
      stats = { count: 0, confidenceHistogram: new Array<number>(CONFIDENCE_BUCKETS).fill(0) };
      this.classes.set(label, stats);
    }
    stats.count++;
    stats.confidenceHistogram[confidenceBucket(confidence)]! += 1;
    this.total++;
    if (confidence < this.options.lowConfidenceThreshold) this.low++;
    this.seen++;
    if (this.latencies.length < this.reservoir) this.latencies.push(latencyMs);
    else {
      // Algorithm R: the n-th value replaces a random slot with probability reservoir / n.
      const j = Math.floor(this.options.rng() * this.seen);
      if (j < this.reservoir) this.latencies[j] = latencyMs;
    }
  }

  /** Closes the window at `end`, returns it, and starts the next window at `end`. */
  flush(deviceId: string, model: ModelRef, end: Date): TelemetryWindow {
    const sorted = Float64Array.from(this.latencies).sort();
    const window: TelemetryWindow = {
      v: 1,
      deviceId,
      model,
      windowStart: this.windowStart.toISOString(),
      windowEnd: end.toISOString(),
      total: this.total,
      classes: Object.fromEntries(this.classes),
      latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
      lowConfidenceThreshold: this.options.lowConfidenceThreshold,
      lowConfidenceRate: this.total === 0 ? 0 : this.low / this.total,
    };
    this.classes = new Map();
    this.total = 0;
    this.low = 0;
    this.latencies = [];
    this.seen = 0;
    this.windowStart = end;
    return window;
  }
}
