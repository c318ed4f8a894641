import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportToOnnx, mnistCnn, mnistPreprocessing } from '@edgeloop/models';
import { ModelManifestSchema } from '@edgeloop/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Classifier, loadOnnxClassifier, type OnnxClassifier } from './classifier.js';
import { PreAnnotator } from './pre-annotate.js';
import { LabellingQueue } from './queue.js';
import { insertSample, noisePng, openTestHub, type TestHub } from './test-support.js';

const LABELS = ['circle', 'square', 'triangle'];

/** Writes an untrained 3-class MNIST-shaped CNN as `runTrainingJob` would: model.onnx + manifest.json. */
async function writeTinyModel(dir: string): Promise<Uint8Array> {
  const model = mnistCnn(LABELS.length, 7);
  const onnx = exportToOnnx(model, { modelName: 'tiny', docString: 'edgeloop tiny v1' });
  model.dispose();
  const manifest = ModelManifestSchema.parse({
    v: 1,
    name: 'tiny',
    version: 1,
    labels: LABELS,
    input: { name: 'input', shape: [-1, 28, 28, 1], layout: 'NHWC', dtype: 'float32' },
    output: { name: 'probabilities', kind: 'probabilities' },
    preprocessing: mnistPreprocessing,
    model: { format: 'onnx', sha256: createHash('sha256').update(onnx).digest('hex'), length: onnx.byteLength },
    createdAt: new Date().toISOString(),
  });
  await writeFile(join(dir, 'model.onnx'), onnx);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return onnx;
}

let modelDir: string;
let onnx: Uint8Array;
let classifier: OnnxClassifier;

beforeAll(async () => {
  modelDir = mkdtempSync(join(tmpdir(), 'edgeloop-classifier-'));
  onnx = await writeTinyModel(modelDir);
  classifier = await loadOnnxClassifier(modelDir);
});

afterAll(() => rmSync(modelDir, { recursive: true, force: true }));

describe('loadOnnxClassifier', () => {
  it('classifies PNGs of any size: probabilities sum to 1, the label is the argmax', async () => {
    expect(classifier.model).toBe('tiny@1');
    const results = [];
    for (const [seed, size, channels] of [
      [1, 28, 1],
      [2, 40, 3],
      [3, 17, 3],
    ] as const) {
      const c = await classifier.classify(await noisePng(seed, size, channels));
      expect(c.labels).toEqual(LABELS);
      expect(c.model).toBe('tiny@1');
      expect(c.probabilities).toHaveLength(3);
      expect(c.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      const best = c.probabilities.indexOf(Math.max(...c.probabilities));
      expect(c.label).toBe(LABELS[best]);
      expect(c.confidence).toBe(c.probabilities[best]);
      results.push(c.probabilities);
    }
    // Different images, different outputs: the input really reaches the model.
    expect(results[0]).not.toEqual(results[1]);
  });

  it('classifyMany gives, in order, what classify gives one by one (across batch boundaries)', async () => {
    const images = await Promise.all(Array.from({ length: 130 }, (_, i) => noisePng(100 + i, 20 + (i % 13), i % 2 ? 3 : 1)));
    const many = await classifier.classifyMany(images);
    expect(many).toHaveLength(images.length);
    for (const [i, image] of images.entries()) {
      const one = await classifier.classify(image);
      expect(many[i]!.label).toBe(one.label);
      for (const [k, p] of one.probabilities.entries()) expect(many[i]!.probabilities[k]).toBeCloseTo(p, 5);
    }
    expect(new Set(many.map((c) => c.probabilities[0])).size).toBeGreaterThan(100);
    expect(await classifier.classifyMany([])).toEqual([]);
  });

  it('classifyMany fails with BAD_IMAGE when one image cannot be decoded', async () => {
    const good = await noisePng(1, 28, 1);
    await expect(classifier.classifyMany([good, new TextEncoder().encode('not an image'), good])).rejects.toMatchObject({
      code: 'BAD_IMAGE',
    });
  });

  it('rejects a non-image with BAD_IMAGE', async () => {
    await expect(classifier.classify(new TextEncoder().encode('not an image'))).rejects.toMatchObject({ code: 'BAD_IMAGE' });
  });

  it('refuses a model.onnx that is not the one its manifest names, and a missing manifest (BAD_CONFIG)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeloop-classifier-bad-'));
    try {
      await expect(loadOnnxClassifier(dir)).rejects.toMatchObject({ code: 'BAD_CONFIG' });
      await writeTinyModel(dir);
      const tampered = onnx.slice();
      tampered[tampered.length - 1]! ^= 1;
      await writeFile(join(dir, 'model.onnx'), tampered);
      await expect(loadOnnxClassifier(dir)).rejects.toMatchObject({
        code: 'BAD_CONFIG',
        message: expect.stringContaining('not the model'),
      });
      await writeFile(join(dir, 'manifest.json'), '{"v":1}');
      await expect(loadOnnxClassifier(dir)).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PreAnnotator', () => {
  let h: TestHub;
  beforeEach(async () => {
    h = await openTestHub();
  });
  afterEach(async () => {
    await h.close();
  });

  async function deviceSample(seed: number, confidence: number, minute: number): Promise<string> {
    const bytes = await noisePng(seed, 28, 1);
    const id = createHash('sha256').update(bytes).digest('hex');
    await h.store.put(`samples/${id.slice(0, 2)}/${id}`, bytes);
    return insertSample(h.database, { id, confidence, receivedAt: `2026-01-01T00:0${minute}:00.000Z` });
  }

  it('annotates pending samples once per model and reorders the queue by the model uncertainty', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await deviceSample(i + 10, 0.5 + i / 20, i));
    const noBlob = insertSample(h.database, { confidence: 0.99, receivedAt: '2026-01-01T00:07:00.000Z' });
    const garbage = new TextEncoder().encode('garbage');
    const garbageId = createHash('sha256').update(garbage).digest('hex');
    await h.store.put(`samples/${garbageId.slice(0, 2)}/${garbageId}`, garbage);
    insertSample(h.database, { id: garbageId, confidence: 0.98, receivedAt: '2026-01-01T00:08:00.000Z' });
    const done = await deviceSample(99, 0.1, 9);
    h.database.sqlite.prepare("UPDATE samples SET queue_state = 'labelled' WHERE id = ?").run(done);

    const pre = new PreAnnotator({ db: h.database, store: h.store, log: h.log, classifier: () => classifier });
    expect(await new PreAnnotator({ db: h.database, store: h.store, log: h.log, classifier: () => undefined }).runOnce()).toBe(0);
    expect(await pre.runOnce(4)).toBe(4);
    expect(await pre.runOnce()).toBe(2);
    expect(await pre.runOnce()).toBe(0);

    const rows = h.database.sqlite
      .prepare<
        [],
        { id: string; pre_label: string | null; pre_confidence: number | null; pre_model: string | null; uncertainty: number | null }
      >('SELECT id, pre_label, pre_confidence, pre_model, uncertainty FROM samples')
      .all();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      const row = byId.get(id)!;
      const c = await classifier.classify((await h.store.get(`samples/${id.slice(0, 2)}/${id}`))!);
      expect(row).toMatchObject({ pre_label: c.label, pre_model: 'tiny@1' });
      expect(row.pre_confidence).toBeCloseTo(c.confidence, 6);
      expect(row.uncertainty).toBeCloseTo(1 - c.confidence, 6);
    }
    // Unclassifiable samples are marked (not retried) and keep the device's order.
    expect(byId.get(noBlob)).toMatchObject({ pre_label: null, pre_model: 'tiny@1', uncertainty: null });
    expect(byId.get(garbageId)).toMatchObject({ pre_label: null, pre_model: 'tiny@1', uncertainty: null });
    expect(byId.get(done)).toMatchObject({ pre_label: null, pre_model: null });

    const queue = new LabellingQueue({ db: h.database, metrics: h.metrics });
    const items = queue.next({ limit: 50 }).items;
    const scores = items.map((i) => i.uncertainty!);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(items).toHaveLength(8);
    const annotated = items.find((i) => i.sampleId === ids[0])!;
    expect(annotated.preLabel).toBe(byId.get(ids[0]!)!.pre_label);
    expect(items.find((i) => i.sampleId === noBlob)!.uncertainty).toBeCloseTo(0.01, 9);
    // Accept now takes the model's label, not the device's.
    expect(queue.accept(ids[0]!, 'alice').label).toBe(byId.get(ids[0]!)!.pre_label);

    // A new production model re-scores the pending queue.
    const v2: Classifier = { model: 'tiny@2', classify: (b) => classifier.classify(b).then((c) => ({ ...c, model: 'tiny@2' })) };
    expect(await new PreAnnotator({ db: h.database, store: h.store, log: h.log, classifier: () => v2 }).runOnce()).toBe(5);
  });
});
