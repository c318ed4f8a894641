import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerFromRun } from './register-run.js';
import { manifestFor, openRegistryHarness, type RegistryHarness } from './test-support.js';

let h: RegistryHarness;
beforeEach(async () => {
  h = await openRegistryHarness();
});
afterEach(() => h.hub.close());

/** Stand-in model bytes: the registry checks them against the manifest, it never runs them. */
const bytesOf = (n: number) => new Uint8Array(64).fill(n);
const DATASET = 'd'.repeat(64);

async function registerPlain(n: number) {
  const onnx = bytesOf(n);
  return h.models.register({ model: 'digits', onnx, manifest: manifestFor(onnx), actor: 'user:ann', metrics: { accuracy: 0.9 } });
}

describe('ModelRegistry', () => {
  it('numbers versions per model from 1 and stores the files with a manifest naming the version', async () => {
    const v1 = await registerPlain(1);
    const v2 = await registerPlain(2);
    const other = await h.models.register({ model: 'shapes', onnx: bytesOf(3), manifest: manifestFor(bytesOf(3)), actor: 'user:ann' });
    expect([v1.version, v2.version, other.version]).toEqual([1, 2, 1]);
    expect(v2).toMatchObject({
      model: 'digits',
      onnxKey: 'models/digits/2/model.onnx',
      manifestKey: 'models/digits/2/manifest.json',
      labels: ['0', '1', '2'],
      metrics: { accuracy: 0.9 },
    });
    const files = await h.models.files('digits', 2);
    expect(files.onnx).toEqual(bytesOf(2));
    expect(files.manifest).toMatchObject({ name: 'digits', version: 2 });
    expect(h.models.versions('digits').map((v) => v.version)).toEqual([2, 1]);
    expect(h.models.models()).toEqual([
      { model: 'digits', latestVersion: 2, aliases: {} },
      { model: 'shapes', latestVersion: 1, aliases: {} },
    ]);
  });

  it('numbers concurrent registrations without gaps or collisions', async () => {
    const versions = await Promise.all([1, 2, 3, 4, 5].map((n) => registerPlain(n)));
    expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses bytes that are not the model the manifest names, bad names and bad actors', async () => {
    await expect(
      h.models.register({ model: 'digits', onnx: bytesOf(1), manifest: manifestFor(bytesOf(2)), actor: 'user:ann' }),
    ).rejects.toThrow(/not the model the manifest names/);
    await expect(
      h.models.register({ model: 'bad/name', onnx: bytesOf(1), manifest: manifestFor(bytesOf(1)), actor: 'user:ann' }),
    ).rejects.toThrow(/invalid model name/);
    await expect(h.models.register({ model: 'digits', onnx: bytesOf(1), manifest: manifestFor(bytesOf(1)), actor: 'ann' })).rejects.toThrow(
      /actor must be/,
    );
    expect(h.models.versions('digits')).toEqual([]);
  });

  it('moves aliases with a stage history of who, what and why', async () => {
    await registerPlain(1);
    await registerPlain(2);
    await registerPlain(3);
    h.models.setAlias('digits', 'champion', 1, 'user:ann', 'first model');
    h.tick(1000);
    h.models.setAlias('digits', 'challenger', 2, 'system:rollout', 'canary started');
    h.tick(1000);
    const promoted = h.models.setAlias('digits', 'champion', 2, 'system:gate', 'CI lower bound +1.2 points', { gateDecision: 'x' });
    expect(promoted).toMatchObject({
      event: 'alias-set',
      version: 2,
      fromAlias: 'challenger',
      toAlias: 'champion',
      replacedVersion: 1,
      actor: 'system:gate',
      detail: { gateDecision: 'x' },
    });
    // The challenger alias moved with the version: a version is never champion and challenger at once.
    expect(h.models.aliases('digits')).toEqual({ champion: 2 });
    expect(h.models.getAlias('digits', 'champion')?.version).toBe(2);
    expect(h.models.getAlias('digits', 'challenger')).toBeUndefined();
    expect(h.models.setAlias('digits', 'champion', 2, 'user:ann', 'again')).toBeUndefined();
    h.models.recordRejection('digits', 3, 'class 7 regressed');
    expect(h.models.history('digits').map((e) => [e.event, e.version, e.fromAlias, e.toAlias, e.replacedVersion, e.actor])).toEqual([
      ['registered', 1, null, null, null, 'user:ann'],
      ['registered', 2, null, null, null, 'user:ann'],
      ['registered', 3, null, null, null, 'user:ann'],
      ['alias-set', 1, null, 'champion', null, 'user:ann'],
      ['alias-set', 2, null, 'challenger', null, 'system:rollout'],
      ['alias-set', 2, 'challenger', 'champion', 1, 'system:gate'],
      ['gate-rejected', 3, null, null, null, 'system:gate'],
    ]);
    expect(() => h.models.setAlias('digits', 'champion', 9, 'user:ann', 'nope')).toThrow(/no version 9/);
    expect(() => h.models.setAlias('digits', 'champion', 1, 'user:ann', '  ')).toThrow(/needs a reason/);
  });

  it('registers a succeeded run with its lineage and final metrics', async () => {
    const run = h.runs.create({ experiment: 'digits', datasetId: DATASET, createdBy: 'system:trigger:t1' });
    h.runs.start(run.id, { backend: 'wasm' });
    h.runs.logMetrics(run.id, { epoch: 1, values: { val_accuracy: 0.8 } });
    h.runs.logMetrics(run.id, { epoch: 2, values: { val_accuracy: 0.9 } });
    const onnx = bytesOf(7);
    await h.runs.logArtifact(run.id, 'model.onnx', onnx);
    await h.runs.logArtifact(run.id, 'manifest.json', new TextEncoder().encode(JSON.stringify(manifestFor(onnx))), 'application/json');
    await expect(registerFromRun(h.runs, h.models, { runId: run.id, model: 'digits', actor: 'system:pipeline' })).rejects.toThrow(
      /only a succeeded run/,
    );
    h.runs.finish(run.id);
    const version = await registerFromRun(h.runs, h.models, { runId: run.id, model: 'digits', actor: 'system:pipeline' });
    expect(version).toMatchObject({ version: 1, runId: run.id, datasetHash: DATASET, metrics: { val_accuracy: 0.9 } });
    expect((await h.models.files('digits', 1)).manifest.datasetHash).toBe(DATASET);
    expect(h.models.history('digits')[0]).toMatchObject({
      event: 'registered',
      reason: `trained by run ${run.id}`,
      detail: { runId: run.id, datasetHash: DATASET },
    });
  });
});

describe('PromotionGate', () => {
  it('stores every decision with its numbers, and with apply promotes or records the rejection', async () => {
    await registerPlain(1);
    await registerPlain(2);
    await registerPlain(3);
    h.models.setAlias('digits', 'champion', 1, 'user:ann', 'first model');
    const truth = Array.from({ length: 400 }, (_, i) => i % 3);
    const champion = truth.map((t, i) => (i % 5 === 0 ? (t + 1) % 3 : t)); // 80%
    const better = truth.map((t, i) => (i % 20 === 0 ? (t + 1) % 3 : t)); // 95%
    const worse = truth.map((t, i) => (i % 2 === 0 ? (t + 1) % 3 : t)); // 50%
    const labels = ['0', '1', '2'];
    const up = h.gate.decide({
      model: 'digits',
      input: { labels, truth, champion, challenger: better },
      championVersion: 1,
      challengerVersion: 2,
      apply: true,
      detail: { golden: 300, hard: 100 },
    });
    expect(up.record).toMatchObject({
      decision: 'promote',
      examples: 400,
      championAccuracy: 0.8,
      challengerAccuracy: 0.95,
      actor: 'system:gate',
      detail: { golden: 300, hard: 100 },
    });
    expect(h.models.aliases('digits')).toEqual({ champion: 2 });
    const down = h.gate.decide({
      model: 'digits',
      input: { labels, truth, champion: better, challenger: worse },
      championVersion: 2,
      challengerVersion: 3,
      apply: true,
    });
    expect(down.record.decision).toBe('reject');
    expect(h.models.aliases('digits')).toEqual({ champion: 2 });
    const stored = h.gate.get(down.record.id)!;
    expect(stored).toEqual(down.record);
    expect(stored.ciHigh).toBeLessThan(0);
    expect(stored.settings).toMatchObject({ resamples: 2000, confidence: 0.95, epsilon: 0.01, seed: 1 });
    expect(Object.keys(stored.perClass)).toEqual(labels);
    expect(
      h.gate
        .list('digits')
        .map((d) => d.id)
        .sort(),
    ).toEqual([up.record.id, down.record.id].sort());
    const history = h.models.history('digits');
    expect(history.at(-2)).toMatchObject({
      event: 'alias-set',
      version: 2,
      toAlias: 'champion',
      actor: 'system:gate',
      detail: { gateDecision: up.record.id },
    });
    expect(history.at(-1)).toMatchObject({
      event: 'gate-rejected',
      version: 3,
      actor: 'system:gate',
      detail: { gateDecision: down.record.id },
    });
  });
});
