/**
 * The gate on real models: two small MNIST CNNs trained with `@edgeloop/models` (wasm backend),
 * one on the true labels and one on shuffled labels, tracked as runs, registered, then run with
 * onnxruntime over the same held-out digits (PNG bytes, as samples arrive) and judged by the gate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Dataset, loadMnist, mnistPreprocessing, type RunReport, runTrainingJob } from '@edgeloop/models';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerFromRun } from '../registry/register-run.js';
import { openRegistryHarness, type RegistryHarness } from '../registry/test-support.js';
import { seededRandom } from './bootstrap.js';
import { buildGateInput, type LabelledImage, predictImages } from './evaluate.js';

const TRAIN_PER_CLASS = 40;
const GOLDEN_PER_CLASS = 20;

let h: RegistryHarness;
let dir: string;
let golden: LabelledImage[];

/** Trains on `dataset` as a tracked run, logs its artifacts, registers it; returns the version. */
async function trainTracked(name: string, dataset: Dataset): Promise<number> {
  const run = h.runs.create({
    experiment: 'digits',
    params: { epochs: 3, perClass: TRAIN_PER_CLASS, variant: name },
    createdBy: 'system:test',
  });
  const outDir = join(dir, name);
  const report: RunReport = await runTrainingJob({
    dataset,
    architecture: 'mnist-cnn',
    preprocessing: mnistPreprocessing,
    modelName: 'digits',
    version: 1,
    epochs: 3,
    backend: 'wasm',
    outDir,
  });
  h.runs.start(run.id, { backend: report.backend.name });
  for (const m of report.history) h.runs.logMetrics(run.id, { epoch: m.epoch, values: { loss: m.loss, accuracy: m.accuracy } });
  await h.runs.logArtifact(run.id, 'model.onnx', await readFile(report.artifacts.onnx));
  await h.runs.logArtifact(run.id, 'manifest.json', await readFile(report.artifacts.manifest), 'application/json');
  h.runs.finish(run.id);
  return (await registerFromRun(h.runs, h.models, { runId: run.id, model: 'digits', actor: 'system:test' })).version;
}

beforeAll(async () => {
  h = await openRegistryHarness();
  dir = mkdtempSync(join(tmpdir(), 'edgeloop-gate-'));
  const all = loadMnist({ perClass: TRAIN_PER_CLASS + GOLDEN_PER_CLASS });
  const index = (source: string) => Number(source.split('/')[1]);
  const train = { ...all, items: all.items.filter((i) => index(i.source) < TRAIN_PER_CLASS) };
  const random = seededRandom(42);
  const shuffledLabels = train.items.map((i) => i.label).sort(() => random() - 0.5);
  const shuffled = { ...train, items: train.items.map((item, n) => ({ ...item, label: shuffledLabels[n]! })) };
  golden = await Promise.all(
    all.items
      .filter((i) => index(i.source) >= TRAIN_PER_CLASS)
      .map(async (i) => ({
        label: i.label,
        bytes: new Uint8Array(
          await sharp(Buffer.from(i.gray!.data), { raw: { width: 28, height: 28, channels: 1 } })
            .png()
            .toBuffer(),
        ),
      })),
  );
  expect(await trainTracked('true-labels', train)).toBe(1);
  expect(await trainTracked('shuffled-labels', shuffled)).toBe(2);
  h.models.setAlias('digits', 'champion', 1, 'user:test', 'first model');
}, 170_000);

afterAll(async () => {
  await h?.hub.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('gate on real models', () => {
  it('predicts held-out digits with each registered model through onnxruntime', async () => {
    const champion = await h.models.files('digits', 1);
    const predictions = await predictImages(
      champion,
      golden.map((g) => g.bytes),
    );
    const accuracy = predictions.filter((p, i) => p === golden[i]!.label).length / golden.length;
    expect(accuracy).toBeGreaterThan(0.6);
    const shuffled = await predictImages(
      await h.models.files('digits', 2),
      golden.map((g) => g.bytes),
    );
    expect(shuffled.filter((p, i) => p === golden[i]!.label).length / golden.length).toBeLessThan(0.3);
  });

  it('rejects the model trained on shuffled labels and keeps the champion', async () => {
    const input = await buildGateInput(await h.models.files('digits', 1), await h.models.files('digits', 2), golden);
    expect(input.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const { record } = h.gate.decide({
      model: 'digits',
      input,
      championVersion: 1,
      challengerVersion: 2,
      apply: true,
      detail: { golden: golden.length },
    });
    expect(record.decision).toBe('reject');
    expect(record.ciHigh).toBeLessThan(0);
    expect(h.models.aliases('digits')).toEqual({ champion: 1 });
    expect(h.models.history('digits').at(-1)).toMatchObject({ event: 'gate-rejected', version: 2, actor: 'system:gate' });
  });

  it('promotes a challenger that predicts exactly as the champion (difference 0, CI [0, 0])', async () => {
    const files = await h.models.files('digits', 1);
    const input = await buildGateInput(files, files, golden);
    const { record } = h.gate.decide({ model: 'digits', input, championVersion: 1, challengerVersion: 1 });
    expect(record).toMatchObject({ decision: 'promote', difference: 0, ciLow: 0, ciHigh: 0 });
  });
});
