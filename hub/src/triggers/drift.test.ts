/**
 * Drift: telemetry windows built by the protocol's window builder, recorded through the
 * TelemetryStore in a real database, compared with the champion's validation reference by PSI and
 * by Jensen-Shannon distance. Same distribution: no firing; a shifted confidence histogram or class
 * mix: a firing.
 */
import { mulberry32 } from '@edgeloop/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TelemetryStore } from '../fleet/telemetry-store.js';
import { openTestHub, type TestHub } from '../labeling/test-support.js';
import { type DriftTrigger, triggerConfig } from './config.js';
import { alignCounts, jsDistance, psi } from './distance.js';
import { evaluateDrift } from './evaluate.js';
import { referenceFromPredictions } from './reference.js';
import { syntheticWindow } from './test-support.js';

const CHAMPION = { name: 'digits', version: 3 };
const CLASSES = { zero: 1 / 3, one: 1 / 3, two: 1 / 3 };
const confident = (u: number) => 0.8 + 0.2 * u;
// Overlaps the reference (0.8-1.0) but leans lower, as a camera with glare would.
const hesitant = (u: number) => 0.65 + 0.3 * u;

/** The champion on its validation set: 3,000 predictions, classes even, confident. */
function championReference() {
  const rng = mulberry32(7);
  const labels = Object.keys(CLASSES);
  const predictions = Array.from({ length: 3000 }, () => ({ label: labels[Math.floor(rng() * 3)]!, confidence: confident(rng()) }));
  return referenceFromPredictions(predictions, CHAMPION);
}

const NOW = new Date('2026-03-10T12:00:00.000Z');
const HOUR = 3_600_000;

let hub: TestHub;
let store: TelemetryStore;
beforeEach(async () => {
  hub = await openTestHub();
  store = new TelemetryStore(hub.database);
});
afterEach(() => hub.close());

/** 12 windows (3 devices × 4 five-minute windows in the last hour), 200 predictions each. */
function recordFleet(classes: Record<string, number>, confidence: (u: number) => number, seed: number, model = CHAMPION): void {
  for (let d = 0; d < 3; d++) {
    for (let w = 0; w < 4; w++) {
      const start = new Date(NOW.getTime() - HOUR + w * 5 * 60_000);
      const window = syntheticWindow({
        deviceId: `cam-${d}`,
        start,
        predictions: 200,
        classes,
        confidence,
        seed: seed + d * 10 + w,
        model,
      });
      expect(store.record(`cam-${d}`, window, NOW)).toBe(true);
    }
  }
}

const observed = () => store.aggregate({ since: new Date(NOW.getTime() - 24 * HOUR), until: NOW, model: CHAMPION });

describe.each([
  ['psi', 0.25],
  ['js', 0.1],
] as const)('drift by %s (threshold %s)', (metric, threshold) => {
  const config: DriftTrigger = triggerConfig({ drift: { metric, threshold, minWindows: 10, minPredictions: 500 } }).drift;

  it('does not fire when the fleet sees what the champion saw on validation', () => {
    recordFleet(CLASSES, confident, 100);
    const e = evaluateDrift(config, championReference(), observed());
    expect(e.fire).toBe(false);
    const d = e.inputs.distances as { confidence: number; classMix: number };
    expect(d.confidence).toBeLessThan(threshold / 3);
    expect(d.classMix).toBeLessThan(threshold / 3);
    expect(e.inputs).toMatchObject({ windows: 12, devices: 3, predictions: 2400, model: CHAMPION });
  });

  it('fires when the confidences shift down (same class mix)', () => {
    recordFleet(CLASSES, hesitant, 200);
    const e = evaluateDrift(config, championReference(), observed());
    expect(e.fire).toBe(true);
    const d = e.inputs.distances as { confidence: number; classMix: number };
    expect(d.confidence).toBeGreaterThan(threshold);
    expect(d.classMix).toBeLessThan(threshold);
    expect(e.reason).toContain(`${metric} confidence`);
  });

  it('fires when the class mix shifts (same confidences)', () => {
    recordFleet({ zero: 0.75, one: 0.2, two: 0.05 }, confident, 300);
    const e = evaluateDrift(config, championReference(), observed());
    expect(e.fire).toBe(true);
    const d = e.inputs.distances as { confidence: number; classMix: number };
    expect(d.classMix).toBeGreaterThan(threshold);
    expect(d.confidence).toBeLessThan(threshold);
  });

  it('decides nothing with fewer than minWindows windows or without a reference', () => {
    recordFleet({ zero: 1 }, hesitant, 400);
    expect(evaluateDrift({ ...config, minWindows: 13 }, championReference(), observed())).toMatchObject({
      fire: false,
      reason: expect.stringContaining('no decision'),
    });
    expect(evaluateDrift({ ...config, minPredictions: 2401 }, championReference(), observed()).fire).toBe(false);
    expect(evaluateDrift(config, undefined, observed())).toMatchObject({
      fire: false,
      reason: 'no reference distribution for the champion',
    });
    expect(evaluateDrift(config, championReference(), observed()).fire).toBe(true);
  });
});

describe('TelemetryStore', () => {
  it('aggregates only the lookback, the model and the devices asked for, and ignores duplicates', () => {
    recordFleet(CLASSES, confident, 100);
    // A shifted window of another model, and one too old: neither may count.
    const other = syntheticWindow({
      deviceId: 'cam-9',
      start: new Date(NOW.getTime() - HOUR),
      predictions: 500,
      classes: { zero: 1 },
      confidence: hesitant,
      seed: 1,
      model: { name: 'digits', version: 4 },
    });
    store.record('cam-9', other, NOW);
    const old = syntheticWindow({
      deviceId: 'cam-0',
      start: new Date(NOW.getTime() - 48 * HOUR),
      predictions: 500,
      classes: { zero: 1 },
      confidence: hesitant,
      seed: 2,
      model: CHAMPION,
    });
    store.record('cam-0', old, NOW);
    const agg = observed();
    expect(agg).toMatchObject({ windows: 12, devices: 3, total: 2400 });
    expect(agg.confidenceHistogram.reduce((s, n) => s + n, 0)).toBe(2400);
    expect(Object.values(agg.classCounts).reduce((s, n) => s + n, 0)).toBe(2400);
    expect(agg.meanConfidence).toBeGreaterThan(0.85);
    expect(agg.meanConfidence).toBeLessThan(0.95);
    expect(agg.lowConfidenceRate).toBe(0);
    // A cohort.
    expect(store.aggregate({ since: new Date(0), deviceIds: ['cam-1', 'cam-9'] })).toMatchObject({ windows: 5, devices: 2, total: 1300 });
    expect(store.aggregate({ since: new Date(0), deviceIds: [] }).windows).toBe(0);
    // The same window again (a QoS1 resend) is not counted twice.
    expect(store.record('cam-9', other, NOW)).toBe(false);
    expect(store.prune(new Date(NOW.getTime() - 24 * HOUR))).toBe(1);
    expect(store.aggregate({ since: new Date(0) }).windows).toBe(13);
  });
});

describe('distances', () => {
  it('are zero for identical shares, whatever the totals, and grow with the shift', () => {
    expect(psi([1, 2, 3], [10, 20, 30])).toBeCloseTo(0, 12);
    expect(jsDistance([1, 2, 3], [10, 20, 30])).toBeCloseTo(0, 7);
    expect(psi([50, 50], [60, 40])).toBeLessThan(psi([50, 50], [80, 20]));
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(1, 12);
    // PSI of a known pair: (0.6−0.5)ln(0.6/0.5) + (0.4−0.5)ln(0.4/0.5).
    expect(psi([50, 50], [60, 40])).toBeCloseTo(0.1 * Math.log(1.2) - 0.1 * Math.log(0.8), 12);
    expect(() => psi([1, 2], [1, 2, 3])).toThrow(RangeError);
    expect(alignCounts({ b: 1, a: 2 }, { c: 3 })).toEqual({ labels: ['a', 'b', 'c'], a: [2, 1, 0], b: [0, 0, 3] });
  });
});
