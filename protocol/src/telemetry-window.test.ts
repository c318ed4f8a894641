import { describe, expect, it } from 'vitest';
import { decodeJson, encodeJson } from './codec.js';
import { ProtocolError } from './errors.js';
import { LabelSchema } from './ids.js';
import { mulberry32 } from './sampling/rng.js';
import { confidenceBucket, percentile, TelemetryWindowBuilder } from './telemetry-window.js';

const model = { name: 'mnist-cnn', version: 2 };

describe('telemetry windows', () => {
  it('count per class, bucket confidences, and compute the low-confidence rate', () => {
    const b = new TelemetryWindowBuilder({ lowConfidenceThreshold: 0.6, rng: mulberry32(1) }, new Date(0));
    b.record('7', 0.99, 4);
    b.record('7', 0.55, 6);
    b.record('1', 1, 2);
    b.record('1', 0.05, 8);
    const w = b.flush('pi-1', model, new Date(60_000));
    expect(w.total).toBe(4);
    expect(w.classes['7']?.count).toBe(2);
    expect(w.classes['7']?.confidenceHistogram[19]).toBe(1);
    expect(w.classes['7']?.confidenceHistogram[11]).toBe(1);
    expect(w.classes['1']?.confidenceHistogram[1]).toBe(1);
    expect(w.lowConfidenceRate).toBe(0.5);
    expect(w.latencyMs).toEqual({ p50: 4, p95: 8 });
    expect(w.windowEnd).toBe('1970-01-01T00:01:00.000Z');
    // The window is a valid wire message.
    expect(decodeJson('telemetry', encodeJson('telemetry', w)).ok).toBe(true);
  });

  it('start the next window empty at the previous end', () => {
    const b = new TelemetryWindowBuilder({ lowConfidenceThreshold: 0.5, rng: mulberry32(1) }, new Date(0));
    b.record('a', 0.9, 1);
    b.flush('pi-1', model, new Date(1000));
    const w = b.flush('pi-1', model, new Date(2000));
    expect(w).toMatchObject({ total: 0, classes: {}, lowConfidenceRate: 0, windowStart: '1970-01-01T00:00:01.000Z' });
  });

  it('keep latency quantiles close with a bounded reservoir', () => {
    const b = new TelemetryWindowBuilder({ lowConfidenceThreshold: 0.5, latencyReservoir: 1000, rng: mulberry32(5) }, new Date(0));
    for (let i = 1; i <= 100_000; i++) b.record('a', 0.9, i / 1000); // uniform on (0, 100]
    const w = b.flush('pi-1', model, new Date(1));
    expect(w.latencyMs.p50).toBeGreaterThan(45);
    expect(w.latencyMs.p50).toBeLessThan(55);
    expect(w.latencyMs.p95).toBeGreaterThan(92);
    expect(w.latencyMs.p95).toBeLessThan(98);
  });

  it('bucket edges and nearest-rank percentiles', () => {
    expect([0, 0.05, 0.999, 1].map(confidenceBucket)).toEqual([0, 1, 19, 19]);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([], 0.5)).toBe(0);
  });
});

describe('labels as object keys', () => {
  it('refuses the label __proto__, which would set a prototype instead of a class entry', () => {
    // Manifests refuse it outright, so no model can produce it.
    expect(LabelSchema.safeParse('__proto__').success).toBe(false);
    const b = new TelemetryWindowBuilder({ lowConfidenceThreshold: 0.5, rng: mulberry32(1) }, new Date(0));
    b.record('__proto__', 0.9, 1);
    const w = b.flush('pi-1', model, new Date(1));
    expect(() => encodeJson('telemetry', w)).toThrow(ProtocolError);
    const raw = new TextEncoder().encode(JSON.stringify(w));
    const r = decodeJson('telemetry', raw);
    expect(!r.ok && r.error.code).toBe('SCHEMA');
  });
});
