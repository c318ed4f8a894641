import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistPreprocessing, preprocessImageBytes } from '@edgeloop/models/data';
import { ProbabilityVectorSchema } from '@edgeloop/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { MNIST_LABELS, type ModelFixture, mnistPngs, writeMnistModel } from '../../test/model-fixture.js';
import { AgentError } from '../errors.js';
import { loadClassifier } from './classifier.js';
import { toProbabilities, topK } from './probabilities.js';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AgentError);
    return (e as AgentError).code;
  }
  throw new Error('expected an AgentError');
}

let fixture: ModelFixture;
let images: { label: string; bytes: Uint8Array }[];

beforeAll(async () => {
  fixture = await writeMnistModel(join(mkdtempSync(join(tmpdir(), 'agent-clf-')), 'm'), { name: 'digits', version: 3 });
  images = await mnistPngs(10);
});

describe('loadClassifier + classify', () => {
  it('classifies PNG digits: top-k sorted, probabilities sum to 1, model named', async () => {
    const c = await loadClassifier(fixture.dir);
    try {
      for (const { bytes } of images) {
        const r = await c.classify(bytes, { topK: 3 });
        expect(r.model).toEqual({ name: 'digits', version: 3 });
        expect(r.probabilities).toHaveLength(10);
        expect(ProbabilityVectorSchema.safeParse(r.probabilities).success).toBe(true);
        expect(Math.abs(r.probabilities.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
        expect(r.topK).toHaveLength(3);
        for (let i = 1; i < r.topK.length; i++) expect(r.topK[i - 1]!.p).toBeGreaterThanOrEqual(r.topK[i]!.p);
        expect(r.topK[0]).toEqual({ label: r.label, p: r.confidence });
        expect(r.confidence).toBe(Math.max(...r.probabilities));
        expect(MNIST_LABELS.indexOf(r.label)).toBe(r.probabilities.indexOf(r.confidence));
        expect(r.latencyMs).toBeGreaterThan(0);
      }
    } finally {
      await c.release();
    }
  });

  it('matches the tfjs model on the same preprocessed input (ONNX parity through the manifest)', async () => {
    const c = await loadClassifier(fixture.dir);
    try {
      for (const { bytes } of images.slice(0, 5)) {
        const r = await c.classify(bytes);
        const reference = fixture.predict(await preprocessImageBytes(bytes, mnistPreprocessing));
        for (let i = 0; i < 10; i++) expect(r.probabilities[i]).toBeCloseTo(reference[i]!, 4);
      }
    } finally {
      await c.release();
    }
  });

  it('answers bad images with stable codes', async () => {
    const c = await loadClassifier(fixture.dir);
    try {
      expect(await code(c.classify(new TextEncoder().encode('definitely not an image')))).toBe('UNSUPPORTED_FORMAT');
      const png = images[0]!.bytes;
      expect(await code(c.classify(png.subarray(0, 40)))).toBe('BAD_IMAGE'); // truncated
      expect(await code(c.classify(new Uint8Array(0)))).toBe('UNSUPPORTED_FORMAT');
    } finally {
      await c.release();
    }
  });

  it('refuses a missing, corrupted or mismatched model before loading it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'agent-badmodel-'));
    expect(await code(loadClassifier(join(root, 'none')))).toBe('NO_MODEL');

    const flipped = join(root, 'flipped');
    await writeMnistModel(flipped);
    const onnx = readFileSync(join(flipped, 'model.onnx'));
    onnx[onnx.length - 10]! ^= 0xff;
    writeFileSync(join(flipped, 'model.onnx'), onnx);
    expect(await code(loadClassifier(flipped))).toBe('BAD_MODEL');

    const badManifest = join(root, 'manifest');
    await writeMnistModel(badManifest);
    writeFileSync(join(badManifest, 'manifest.json'), '{"v":1,"name":"x"}');
    expect(await code(loadClassifier(badManifest))).toBe('BAD_MODEL');

    // A manifest that matches the bytes but names a tensor the graph lacks.
    const renamed = join(root, 'renamed');
    await writeMnistModel(renamed);
    const m = JSON.parse(readFileSync(join(renamed, 'manifest.json'), 'utf8'));
    m.output.name = 'logits_out';
    writeFileSync(join(renamed, 'manifest.json'), JSON.stringify(m));
    expect(await code(loadClassifier(renamed))).toBe('BAD_MODEL');
  });
});

describe('probabilities', () => {
  it('softmaxes logits without overflow and renormalises probabilities', () => {
    const p = toProbabilities([1000, 1000, 0], 'logits');
    expect(p[0]).toBeCloseTo(0.5, 12);
    expect(p[2]).toBeCloseTo(0, 12);
    expect(toProbabilities(Float32Array.of(0.2, 0.3, 0.5000001), 'probabilities').reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
  });

  it('refuses NaN, infinite and negative outputs', () => {
    expect(() => toProbabilities([Number.NaN, 1], 'logits')).toThrow(/NaN/);
    expect(() => toProbabilities([Number.POSITIVE_INFINITY, 1], 'probabilities')).toThrow(/NaN or infinite/);
    expect(() => toProbabilities([-0.1, 1.1], 'probabilities')).toThrow(/negative/);
  });

  it('sorts top-k by probability, ties in label order', () => {
    expect(topK([0.2, 0.4, 0.4], ['a', 'b', 'c'], 2)).toEqual([
      { label: 'b', p: 0.4 },
      { label: 'c', p: 0.4 },
    ]);
    expect(topK([0.5, 0.5], ['a', 'b'], 10)).toHaveLength(2);
  });
});
