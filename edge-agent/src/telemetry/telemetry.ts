/**
 * Telemetry windows: every prediction is recorded into the protocol's {@link TelemetryWindowBuilder}
 * (class counts, per-class confidence histograms, latency quantiles, low-confidence rate) and the
 * window is handed to `onWindow` (the uplink publishes it) every interval. A window always belongs
 * to one model: switching models closes the current window first.
 */
import { type ModelRef, mathRandom, type Rng, type TelemetryWindow, TelemetryWindowBuilder } from '@edgeloop/protocol';
import type { AgentMetrics } from './metrics.js';

export interface TelemetryOptions {
  deviceId: string;
  intervalMs: number;
  /** A prediction whose top confidence is below this counts as low-confidence. */
  lowConfidenceThreshold: number;
  /** The running model; windows are not emitted while there is none. */
  model?: ModelRef;
  onWindow: (window: TelemetryWindow) => void;
  /** Also emit windows with no predictions (the hub then sees an idle device). Default true. */
  emitEmpty?: boolean;
  metrics?: AgentMetrics;
  now?: () => number;
  rng?: Rng;
  latencyReservoir?: number;
}

/** One prediction as telemetry sees it. */
export interface PredictionRecord {
  label: string;
  confidence: number;
  latencyMs: number;
}

export class Telemetry {
  private builder: TelemetryWindowBuilder;
  private model: ModelRef | undefined;
  private intervalMs: number;
  private recorded = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: TelemetryOptions) {
    this.now = options.now ?? Date.now;
    this.model = options.model;
    this.intervalMs = options.intervalMs;
    this.builder = this.newBuilder(new Date(this.now()));
    options.metrics?.setModel(this.model);
  }

  /** Records one prediction (also into the Prometheus counters). */
  record(p: PredictionRecord): void {
    this.builder.record(p.label, p.confidence, p.latencyMs);
    this.recorded++;
    this.options.metrics?.classifications.inc({ label: p.label });
    this.options.metrics?.latency.observe(p.latencyMs / 1000);
  }

  /** Switches the model: the open window is closed and emitted for the previous model. */
  setModel(model: ModelRef): void {
    if (this.model && this.model.name === model.name && this.model.version === model.version) return;
    if (this.recorded > 0) this.flush();
    else this.builder = this.newBuilder(new Date(this.now()));
    this.model = model;
    this.options.metrics?.setModel(model);
  }

  /** Changes the interval (the hub's `telemetryIntervalS`); restarts the timer if running. */
  setIntervalMs(ms: number): void {
    this.intervalMs = ms;
    if (this.timer) {
      this.stop(false);
      this.start();
    }
  }

  /** Closes the window now and emits it; returns it, or `undefined` when nothing was emitted. */
  flush(): TelemetryWindow | undefined {
    const end = new Date(this.now());
    const window = this.model ? this.builder.flush(this.options.deviceId, this.model, end) : undefined;
    if (!window) this.builder = this.newBuilder(end);
    this.recorded = 0;
    if (!window || (window.total === 0 && this.options.emitEmpty === false)) return undefined;
    try {
      this.options.onWindow(window);
    } catch {
      // A failing sink (the uplink is offline) loses this window; telemetry is best effort.
    }
    return window;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and, by default, emits the last partial window. */
  stop(flushLast = true): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (flushLast && this.recorded > 0) this.flush();
  }

  private newBuilder(start: Date): TelemetryWindowBuilder {
    return new TelemetryWindowBuilder(
      {
        lowConfidenceThreshold: this.options.lowConfidenceThreshold,
        rng: this.options.rng ?? mathRandom,
        latencyReservoir: this.options.latencyReservoir,
      },
      start,
    );
  }
}
