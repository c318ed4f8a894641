import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HubError } from '../errors.js';
import { defaultRegistryConfig } from './config.js';
import { defaultEnergyUse, estimateEnergy } from './energy.js';
import { openRegistryHarness, type RegistryHarness } from './test-support.js';

let h: RegistryHarness;
beforeEach(async () => {
  h = await openRegistryHarness();
});
afterEach(() => h.hub.close());

const DATASET = 'a'.repeat(64);

describe('RunTracker', () => {
  it('tracks a run from queued to succeeded: params, per-epoch metrics, artifacts, duration, energy', async () => {
    const run = h.runs.create({
      experiment: 'digits',
      params: { epochs: 2, lr: 0.001, augment: false },
      datasetId: DATASET,
      codeVersion: 'v0.1.0-3-gabc',
      createdBy: 'system:trigger:x',
    });
    expect(run).toMatchObject({ status: 'queued', datasetHash: DATASET, startedAt: null });
    h.tick(1000);
    h.runs.start(run.id, { backend: 'wasm', hardware: { cpu: 'test cpu', cores: 2 } });
    for (const epoch of [1, 2]) {
      h.runs.logMetrics(run.id, { epoch, values: { loss: 1 / epoch, accuracy: 0.5 + epoch / 10 } });
      h.tick(30_000);
    }
    const bytes = new TextEncoder().encode('{"accuracy":0.7}');
    const artifact = await h.runs.logArtifact(run.id, 'metrics.json', bytes, 'application/json');
    expect(artifact).toMatchObject({
      objectKey: `runs/${run.id}/metrics.json`,
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(await h.hub.store.get(artifact.objectKey)).toEqual(bytes);
    const done = h.runs.finish(run.id, { cpuSeconds: 120 });
    expect(done).toMatchObject({
      status: 'succeeded',
      durationMs: 60_000,
      cpuSeconds: 120,
      gpuSeconds: 0,
      backend: 'wasm',
      codeVersion: 'v0.1.0-3-gabc',
    });
    // 120 core-seconds × 10 W = 1,200 J = 1/3000 kWh; × 475 g/kWh.
    expect(done.energyKwh).toBeCloseTo(1200 / 3.6e6, 15);
    expect(done.co2G).toBeCloseTo((1200 / 3.6e6) * 475, 12);

    expect(h.runs.metrics(run.id, { key: 'loss' }).map((m) => [m.step, m.epoch, m.value])).toEqual([
      [1, 1, 1],
      [2, 2, 0.5],
    ]);
    expect(h.runs.metrics(run.id)).toHaveLength(4);
    expect(h.runs.artifacts(run.id).map((a) => a.name)).toEqual(['metrics.json']);
    expect((await h.runs.readArtifact(run.id, 'metrics.json'))?.bytes).toEqual(bytes);
    expect(await h.runs.readArtifact(run.id, 'nope.bin')).toBeUndefined();
    expect(h.changes.filter((c) => c === `run:${run.id}`).length).toBeGreaterThanOrEqual(6);
  });

  it('records an epoch sent twice once, and a changed value at a step in place of the old one', () => {
    const run = h.runs.create({ experiment: 'digits', createdBy: 'user:ann' });
    h.runs.start(run.id, { backend: 'wasm' });
    h.runs.logMetrics(run.id, { epoch: 1, values: { loss: 0.9, accuracy: 0.6 } });
    const first = h.runs.metrics(run.id);
    // A worker that never saw the answer sends the same epoch again.
    h.runs.logMetrics(run.id, { epoch: 1, values: { loss: 0.9, accuracy: 0.6 } });
    expect(h.runs.metrics(run.id)).toEqual(first);
    expect(h.runs.metrics(run.id, { afterId: Math.max(...first.map((m) => m.id)) })).toEqual([]);
    // A different value at the same step replaces the old one; other keys and steps stay.
    h.runs.logMetrics(run.id, { epoch: 1, values: { loss: 0.8 } });
    h.runs.logMetrics(run.id, { epoch: 2, values: { loss: 0.5 } });
    expect(h.runs.metrics(run.id).map((m) => [m.key, m.step, m.value])).toEqual([
      ['accuracy', 1, 0.6],
      ['loss', 1, 0.8],
      ['loss', 2, 0.5],
    ]);
  });

  it('refuses moves that skip or leave a terminal state, and late metrics or artifacts', async () => {
    const run = h.runs.create({ experiment: 'digits', createdBy: 'user:ann' });
    expect(() => h.runs.finish(run.id)).toThrow(/queued; it cannot become succeeded/);
    expect(() => h.runs.logMetrics(run.id, { epoch: 1, values: { loss: 1 } })).toThrow(/not running/);
    h.runs.start(run.id, { backend: 'wasm' });
    expect(() => h.runs.start(run.id, { backend: 'wasm' })).toThrow(HubError);
    const failed = h.runs.fail(run.id, 'loss became NaN at epoch 3');
    expect(failed).toMatchObject({ status: 'failed', error: 'loss became NaN at epoch 3' });
    expect(() => h.runs.cancel(run.id)).toThrow(/failed/);
    await expect(h.runs.logArtifact(run.id, 'model.onnx', new Uint8Array([1]))).rejects.toThrow(/failed/);
    expect(() => h.runs.require('no-such-run')).toThrow(/no run/);
  });

  it('refuses non-finite metric values and names that are not flat', async () => {
    const run = h.runs.create({ experiment: 'digits', createdBy: 'user:ann' });
    h.runs.start(run.id, { backend: 'wasm' });
    expect(() => h.runs.logMetrics(run.id, { epoch: 1, values: { loss: Number.NaN } })).toThrow(/not a finite number/);
    expect(() => h.runs.logMetrics(run.id, { epoch: 1, values: { 'bad key!': 1 } })).toThrow(/invalid metric key/);
    expect(h.runs.metrics(run.id)).toEqual([]);
    await expect(h.runs.logArtifact(run.id, '../escape', new Uint8Array([1]))).rejects.toThrow(/invalid artifact name/);
    await expect(h.runs.logArtifact(run.id, 'tfjs/model.json', new Uint8Array([1]))).rejects.toThrow(/invalid artifact name/);
  });

  it('cancels a queued run without a duration, and lists newest first with filters', () => {
    const a = h.runs.create({ experiment: 'digits', createdBy: 'user:ann' });
    h.tick(1);
    const b = h.runs.create({ experiment: 'shapes', createdBy: 'user:ann' });
    expect(h.runs.cancel(a.id, 'superseded')).toMatchObject({
      status: 'cancelled',
      durationMs: null,
      energyKwh: null,
      error: 'superseded',
    });
    expect(h.runs.list().map((r) => r.id)).toEqual([b.id, a.id]);
    expect(h.runs.list({ experiment: 'digits' }).map((r) => r.id)).toEqual([a.id]);
    expect(h.runs.list({ status: 'queued' }).map((r) => r.id)).toEqual([b.id]);
    expect(h.runs.list({ limit: 1, offset: 1 }).map((r) => r.id)).toEqual([a.id]);
  });
});

describe('energy estimate', () => {
  const energy = defaultRegistryConfig.energy;

  it('is busy seconds × watts × PUE, and CO₂ is energy × grid intensity', () => {
    const e = estimateEnergy({ cpuSeconds: 3600, gpuSeconds: 3600 }, { ...energy, pue: 1.5 });
    // One core-hour at 10 W and one GPU-hour at 250 W: 0.26 kWh, × 1.5 PUE = 0.39 kWh.
    expect(e.energyKwh).toBeCloseTo(0.39, 12);
    expect(e.co2G).toBeCloseTo(0.39 * 475, 9);
    expect(estimateEnergy({ cpuSeconds: -5, gpuSeconds: Number.NaN }, energy)).toMatchObject({ energyKwh: 0, co2G: 0 });
  });

  it('counts one busy core, and the wall time on a GPU backend, when the worker measured nothing', () => {
    expect(defaultEnergyUse(90_000, 'wasm')).toEqual({ cpuSeconds: 90, gpuSeconds: 0 });
    expect(defaultEnergyUse(90_000, 'tensorflow-gpu')).toEqual({ cpuSeconds: 90, gpuSeconds: 90 });
    expect(defaultEnergyUse(90_000, 'tensorflow-gpu', { cpuSeconds: 200, gpuSeconds: 45 })).toEqual({ cpuSeconds: 200, gpuSeconds: 45 });
  });
});
