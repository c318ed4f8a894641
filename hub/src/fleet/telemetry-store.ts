/**
 * The fleet's telemetry windows, kept so that the hub can compare what devices see now with what
 * the champion saw on its validation set (drift, `triggers/drift.ts`) and watch a canary cohort
 * during a rollout. Windows are stored as devices send them (one row per device and window start;
 * duplicates are ignored) and aggregated on read over a time range, a model and a set of devices.
 */
import { CONFIDENCE_BUCKETS, type ModelRef, type TelemetryWindow } from '@edgeloop/protocol';
import type { OpenDatabase } from '../db/open.js';

/** Which windows to read: those that ended in `(since, until]`, optionally one model, some devices. */
export interface TelemetryQuery {
  since: Date;
  until?: Date;
  model?: ModelRef;
  /** Only these devices (a rollout cohort); absent means the whole fleet. */
  deviceIds?: readonly string[];
}

/** Windows summed over a query. Rates are weighted by each window's prediction count. */
export interface TelemetryAggregate {
  windows: number;
  devices: number;
  /** Predictions in all windows. */
  total: number;
  /** Sum of the windows' confidence histograms over all classes (`CONFIDENCE_BUCKETS` buckets). */
  confidenceHistogram: number[];
  /** Predictions per predicted class. */
  classCounts: Record<string, number>;
  /** Share of predictions below each window's low-confidence threshold (0 without predictions). */
  lowConfidenceRate: number;
  /** Mean confidence estimated from the histogram (bucket midpoints: within 1/40 of the truth). */
  meanConfidence: number;
}

interface WindowRow {
  device_id: string;
  total: number;
  low_confidence_rate: number;
  confidence_histogram: string;
  classes: string;
}

/** The sum of a window's per-class histograms. */
export function windowHistogram(window: Pick<TelemetryWindow, 'classes'>): number[] {
  const sum = new Array<number>(CONFIDENCE_BUCKETS).fill(0);
  for (const stats of Object.values(window.classes)) {
    stats.confidenceHistogram.forEach((n, i) => {
      sum[i]! += n;
    });
  }
  return sum;
}

export class TelemetryStore {
  private readonly insert;

  constructor(private readonly db: OpenDatabase) {
    this.insert = db.sqlite.prepare(
      `INSERT OR IGNORE INTO telemetry_windows (device_id, window_start, window_end, received_at, model_name, model_version,
         total, low_confidence_threshold, low_confidence_rate, latency_p50, latency_p95, confidence_histogram, classes)
       VALUES (@deviceId, @windowStart, @windowEnd, @receivedAt, @modelName, @modelVersion, @total, @lowThreshold,
         @lowRate, @p50, @p95, @histogram, @classes)`,
    );
  }

  /**
   * Stores one validated window (the caller decoded it with the protocol's schema and checked that
   * it names `deviceId`). Returns false for a duplicate (same device and window start).
   */
  record(deviceId: string, window: TelemetryWindow, receivedAt: Date = new Date()): boolean {
    const result = this.insert.run({
      deviceId,
      windowStart: window.windowStart,
      windowEnd: window.windowEnd,
      receivedAt: receivedAt.toISOString(),
      modelName: window.model.name,
      modelVersion: window.model.version,
      total: window.total,
      lowThreshold: window.lowConfidenceThreshold,
      lowRate: window.lowConfidenceRate,
      p50: window.latencyMs.p50,
      p95: window.latencyMs.p95,
      histogram: JSON.stringify(windowHistogram(window)),
      classes: JSON.stringify(window.classes),
    });
    return result.changes === 1;
  }

  private rows(query: TelemetryQuery): WindowRow[] {
    const where = ['window_end > ?'];
    const params: unknown[] = [query.since.toISOString()];
    if (query.until) {
      where.push('window_end <= ?');
      params.push(query.until.toISOString());
    }
    if (query.model) {
      where.push('model_name = ? AND model_version = ?');
      params.push(query.model.name, query.model.version);
    }
    if (query.deviceIds) {
      if (query.deviceIds.length === 0) return [];
      // json_each keeps this one parameter however large the cohort is.
      where.push('device_id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(query.deviceIds));
    }
    return this.db.sqlite
      .prepare<unknown[], WindowRow>(
        `SELECT device_id, total, low_confidence_rate, confidence_histogram, classes FROM telemetry_windows WHERE ${where.join(' AND ')}`,
      )
      .all(...params);
  }

  /** Sums the windows that match `query`. */
  aggregate(query: TelemetryQuery): TelemetryAggregate {
    const histogram = new Array<number>(CONFIDENCE_BUCKETS).fill(0);
    const classCounts: Record<string, number> = {};
    const devices = new Set<string>();
    let total = 0;
    let low = 0;
    const rows = this.rows(query);
    for (const row of rows) {
      devices.add(row.device_id);
      total += row.total;
      low += row.low_confidence_rate * row.total;
      (JSON.parse(row.confidence_histogram) as number[]).forEach((n, i) => {
        histogram[i]! += n;
      });
      for (const [label, stats] of Object.entries(JSON.parse(row.classes) as TelemetryWindow['classes'])) {
        classCounts[label] = (classCounts[label] ?? 0) + stats.count;
      }
    }
    const mean = histogram.reduce((s, n, i) => s + n * ((i + 0.5) / CONFIDENCE_BUCKETS), 0);
    return {
      windows: rows.length,
      devices: devices.size,
      total,
      confidenceHistogram: histogram,
      classCounts,
      lowConfidenceRate: total === 0 ? 0 : low / total,
      meanConfidence: total === 0 ? 0 : mean / total,
    };
  }

  /** Deletes windows that ended before `before`; returns how many. Call it on a schedule. */
  prune(before: Date): number {
    return this.db.sqlite.prepare('DELETE FROM telemetry_windows WHERE window_end < ?').run(before.toISOString()).changes;
  }
}
