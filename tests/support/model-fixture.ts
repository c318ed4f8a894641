/**
 * Real models and real images for the agent's tests, built without training: the MNIST CNN with
 * seeded random weights, exported by the models package's ONNX exporter, with a manifest that
 * validates. Tests and benchmarks only: this loads tfjs, which agent runtime code never does.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportToOnnx, loadMnist, mnistCnn, mnistPreprocessing } from '@edgeloop/models';
import { type ModelManifest, ModelManifestSchema } from '@edgeloop/protocol';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';

export const MNIST_LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface ModelFixture {
  dir: string;
  manifest: ModelManifest;
  onnx: Uint8Array;
  /** The tfjs model's own prediction for one preprocessed input: the parity reference. */
  predict(input: Float32Array): number[];
}

/** Writes `<dir>/model.onnx` and `<dir>/manifest.json` for an untrained MNIST CNN. */
export async function writeMnistModel(
  dir: string,
  options: { name?: string; version?: number; seed?: number } = {},
): Promise<ModelFixture> {
  const { name = 'mnist-cnn', version = 1, seed = 1 } = options;
  await tf.setBackend('cpu');
  const model = mnistCnn(10, seed);
  const onnx = exportToOnnx(model, { modelName: name });
  const manifest = ModelManifestSchema.parse({
    v: 1,
    name,
    version,
    labels: MNIST_LABELS,
    input: { name: 'input', shape: [-1, 28, 28, 1], layout: 'NHWC', dtype: 'float32' },
    output: { name: 'probabilities', kind: 'probabilities' },
    preprocessing: mnistPreprocessing,
    model: { format: 'onnx', sha256: createHash('sha256').update(onnx).digest('hex'), length: onnx.byteLength },
    createdAt: new Date().toISOString(),
  });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), onnx);
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const predict = (input: Float32Array) =>
    tf.tidy(() => Array.from((model.predict(tf.tensor4d(input, [1, 28, 28, 1])) as tf.Tensor).dataSync()));
  return { dir, manifest, onnx, predict };
}

/** `n` real MNIST digits as PNG files' bytes, cycling through the classes. */
export async function mnistPngs(n: number): Promise<{ label: string; bytes: Uint8Array<ArrayBuffer> }[]> {
  const ds = loadMnist({ perClass: Math.ceil(n / 10) });
  const byClass = MNIST_LABELS.map((l) => ds.items.filter((i) => i.label === l));
  const out: { label: string; bytes: Uint8Array<ArrayBuffer> }[] = [];
  for (let i = 0; i < n; i++) {
    const item = byClass[i % 10]![Math.floor(i / 10)]!;
    const { width, height, data } = item.gray!;
    const png = await sharp(data, { raw: { width, height, channels: 1 } })
      .png()
      .toBuffer();
    out.push({ label: item.label, bytes: new Uint8Array(png) });
  }
  return out;
}

/** The two files of a release of the MNIST CNN (seeded weights), as the hub would sign them. */
export async function mnistRelease(name: string, version: number, seed = version): Promise<{ onnx: Uint8Array; manifest: Uint8Array }> {
  const dir = await mkdtemp(join(tmpdir(), 'agent-release-'));
  try {
    const f = await writeMnistModel(dir, { name, version, seed });
    return { onnx: f.onnx, manifest: new Uint8Array(await readFile(join(dir, 'manifest.json'))) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
