/**
 * Fixtures for the trigger tests (not used by the hub): a real hub database in a temporary
 * directory, helpers that write samples and labels with chosen times, a settable clock, and
 * telemetry windows built by the protocol's own `TelemetryWindowBuilder`.
 */
import { createHash } from 'node:crypto';
import { mulberry32, type TelemetryWindow, TelemetryWindowBuilder } from '@edgeloop/protocol';
import type { OpenDatabase } from '../db/open.js';

let counter = 0;

/** A fresh sample id (64 hex digits). */
export function sampleId(): string {
  return createHash('sha256').update(`trigger-sample-${++counter}-${process.pid}`).digest('hex');
}

export interface DeviceSample {
  id?: string;
  predicted?: string;
  inclusionProbability?: number | null;
  audit?: boolean;
  receivedAt?: string;
  model?: { name: string; version: number };
}

/** Inserts a device sample as ingest does, with its sampling facts; returns its id. */
export function addSample(db: OpenDatabase, s: DeviceSample = {}): string {
  const id = s.id ?? sampleId();
  db.sqlite
    .prepare(
      `INSERT INTO samples (id, source, device_id, received_at, mime, width, height, byte_length, object_key,
         model_name, model_version, predicted_label, confidence, inclusion_probability, audit)
       VALUES (?, 'device', 'cam-1', ?, 'image/png', 16, 16, 100, ?, ?, ?, ?, 0.9, ?, ?)`,
    )
    .run(
      id,
      s.receivedAt ?? '2026-03-01T00:00:00.000Z',
      `samples/${id.slice(0, 2)}/${id}`,
      s.model?.name ?? 'digits',
      s.model?.version ?? 1,
      s.predicted ?? 'cat',
      s.inclusionProbability === undefined ? 1 : s.inclusionProbability,
      s.audit ? 1 : 0,
    );
  return id;
}

/** Appends a label written at `at` and settles the sample, as the labelling queue does. */
export function addLabel(db: OpenDatabase, id: string, label: string, at = '2026-03-01T00:00:00.000Z', source = 'human'): void {
  db.sqlite.transaction(() => {
    db.sqlite
      .prepare("INSERT INTO labels (sample_id, label, source, action, labelled_by, labelled_at) VALUES (?, ?, ?, 'correct', 'tester', ?)")
      .run(id, label, source, at);
    db.sqlite.prepare("UPDATE samples SET queue_state = 'labelled' WHERE id = ?").run(id);
  })();
}

/** `count` labelled samples of `label` in one transaction; returns their ids. */
export function addLabelled(db: OpenDatabase, count: number, label: string, at?: string): string[] {
  const ids: string[] = [];
  db.sqlite.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = addSample(db);
      addLabel(db, id, label, at);
      ids.push(id);
    }
  })();
  return ids;
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(private t: number) {}
  readonly now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
  set(iso: string): void {
    this.t = Date.parse(iso);
  }
}

/**
 * A telemetry window of `predictions` predictions drawn from `classes` (label → share) with
 * top-1 confidences from `confidence(u)` of a uniform u, built by the protocol's window builder as
 * an agent would.
 */
export function syntheticWindow(options: {
  deviceId: string;
  start: Date;
  minutes?: number;
  predictions: number;
  classes: Record<string, number>;
  confidence: (u: number) => number;
  seed: number;
  model?: { name: string; version: number };
}): TelemetryWindow {
  const rng = mulberry32(options.seed);
  const builder = new TelemetryWindowBuilder({ lowConfidenceThreshold: 0.5, rng }, options.start);
  const labels = Object.entries(options.classes);
  for (let i = 0; i < options.predictions; i++) {
    let u = rng();
    let label = labels[labels.length - 1]![0];
    for (const [name, share] of labels) {
      if (u < share) {
        label = name;
        break;
      }
      u -= share;
    }
    builder.record(label, Math.min(1, Math.max(0, options.confidence(rng()))), 5 + rng() * 10);
  }
  const end = new Date(options.start.getTime() + (options.minutes ?? 5) * 60_000);
  return builder.flush(options.deviceId, options.model ?? { name: 'digits', version: 1 }, end);
}
