import { mulberry32 } from '@edgeloop/protocol';
import { hasChromium } from '@edgeloop/tests/support/chromium';
import { requirePart } from '@edgeloop/tests/support/ci';
import { runInOrtWeb } from '@edgeloop/tests/support/ort-web';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { mnistCnn, rgbCnn } from '../architectures.js';
import { selectBackend } from '../train/backend.js';
import { exportToOnnx } from './onnx.js';

const IMAGES = 1000;

function randomInputs(n: number, shape: number[], seed: number): Float32Array {
  const rng = mulberry32(seed);
  return Float32Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => rng() * 2 - 1);
}

/** Gives BatchNormalization layers non-trivial moving statistics, so the export of them is tested. */
function randomiseBatchNorm(model: tf.LayersModel, seed: number) {
  const rng = mulberry32(seed);
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    layer.setWeights(
      layer.getWeights().map((w, i) => {
        const n = w.shape[0]!;
        // gamma, beta, moving mean, moving variance (positive)
        return tf.tensor1d(Float32Array.from({ length: n }, () => (i === 3 ? 0.5 + rng() : rng() * 2 - 1)));
      }),
    );
  }
}

function tfjsPredict(model: tf.LayersModel, inputs: Float32Array, shape: number[], batch = 100): Float32Array {
  const per = shape.reduce((a, b) => a * b, 1);
  const n = inputs.length / per;
  const out: number[] = [];
  for (let from = 0; from < n; from += batch) {
    const m = Math.min(batch, n - from);
    const y = tf.tidy(() =>
      (model.predict(tf.tensor(inputs.subarray(from * per, (from + m) * per), [m, ...shape])) as tf.Tensor).dataSync(),
    );
    out.push(...y);
  }
  return Float32Array.from(out);
}

async function ortNodePredict(bytes: Uint8Array, inputs: Float32Array, shape: number[], batch = 100): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const per = shape.reduce((a, b) => a * b, 1);
  const n = inputs.length / per;
  const out: number[] = [];
  for (let from = 0; from < n; from += batch) {
    const m = Math.min(batch, n - from);
    const result = await session.run({ input: new ort.Tensor('float32', inputs.subarray(from * per, (from + m) * per), [m, ...shape]) });
    out.push(...(result.probabilities!.data as Float32Array));
  }
  return Float32Array.from(out);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Edge cases: odd sizes with stride 2 'same', pooling with 'same', valid strided conv, activation layers. */
function edgeCaseModel(): tf.LayersModel {
  const init = (seed: number) => ({
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed }),
  });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [15, 13, 2], filters: 5, kernelSize: 3, strides: 2, padding: 'same', ...init(1) }),
      tf.layers.activation({ activation: 'tanh' }),
      tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      tf.layers.conv2d({ filters: 6, kernelSize: [2, 3], strides: [1, 2], padding: 'valid', activation: 'sigmoid', ...init(2) }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      tf.layers.batchNormalization(),
      tf.layers.flatten(),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 7, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.reLU(),
      tf.layers.dense({ units: 4, ...init(4) }),
      tf.layers.softmax(),
    ],
  });
}

/** More edge cases: even kernels, dilation, pool stride over its size, BatchNorm on a flat vector, Flatten last. */
function moreEdgeCases(): tf.LayersModel {
  const init = (seed: number) => ({
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed }),
  });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [17, 12, 3], filters: 4, kernelSize: 4, strides: 2, padding: 'same', ...init(5) }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 3, padding: 'same' }),
      tf.layers.conv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same', ...init(6) }),
      tf.layers.flatten(),
      tf.layers.batchNormalization(),
      tf.layers.dense({ units: 6, activation: 'tanh', ...init(7) }),
    ],
  });
}

/** A functional (non-Sequential) chain that ends in Flatten. */
function functionalChain(): tf.LayersModel {
  const input = tf.input({ shape: [9, 9, 2] });
  const conv = tf.layers
    .conv2d({ filters: 3, kernelSize: 3, padding: 'valid', kernelInitializer: tf.initializers.glorotUniform({ seed: 8 }) })
    .apply(input);
  const pooled = tf.layers.averagePooling2d({ poolSize: 2 }).apply(conv);
  return tf.model({ inputs: input, outputs: tf.layers.flatten().apply(pooled) as tf.SymbolicTensor });
}

/** One channel in and out: the layout changes at both ends are Reshapes. */
function oneChannel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [10, 9, 1],
        filters: 1,
        kernelSize: 3,
        padding: 'same',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 9 }),
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
    ],
  });
}

/** The op types of an ONNX model's graph nodes, in order (ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4). */
function opTypes(bytes: Uint8Array): string[] {
  const fields = (b: Uint8Array): Array<[number, Uint8Array | number]> => {
    const out: Array<[number, Uint8Array | number]> = [];
    let at = 0;
    const varint = () => {
      let v = 0;
      for (let shift = 1; ; shift *= 128) {
        const byte = b[at++]!;
        v += (byte & 0x7f) * shift;
        if (byte < 0x80) return v;
      }
    };
    while (at < b.length) {
      const key = varint();
      const wire = key % 8;
      if (wire === 0) out.push([Math.floor(key / 8), varint()]);
      else if (wire === 2) {
        const len = varint();
        out.push([Math.floor(key / 8), b.subarray(at, at + len)]);
        at += len;
      } else if (wire === 5) at += 4;
      else if (wire === 1) at += 8;
      else throw new Error(`wire type ${wire}`);
    }
    return out;
  };
  const graph = fields(bytes).find(([f]) => f === 7)![1] as Uint8Array;
  return fields(graph)
    .filter(([f]) => f === 1)
    .map(([, node]) => new TextDecoder().decode(fields(node as Uint8Array).find(([f]) => f === 4)![1] as Uint8Array));
}

const cases = [
  { name: 'MNIST CNN', build: () => mnistCnn(10, 7), shape: [28, 28, 1] },
  { name: 'RGB CNN (64×64, batch norm, stride 2)', build: () => rgbCnn(3, 64, 7), shape: [64, 64, 3] },
  { name: 'edge cases', build: edgeCaseModel, shape: [15, 13, 2] },
  { name: 'more edge cases (even kernel, dilation, flat batch norm)', build: moreEdgeCases, shape: [17, 12, 3] },
  { name: 'functional chain ending in Flatten', build: functionalChain, shape: [9, 9, 2] },
  { name: 'one channel in and out', build: oneChannel, shape: [10, 9, 1] },
];

describe('ONNX export', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it.each(cases)('$name matches tfjs in onnxruntime-node within 1e-5 on 1,000 images', async ({ build, shape }) => {
    const model = build();
    randomiseBatchNorm(model, 11);
    const inputs = randomInputs(IMAGES, shape, 5);
    const bytes = exportToOnnx(model, { modelName: 'parity' });
    const diff = maxAbsDiff(tfjsPredict(model, inputs, shape), await ortNodePredict(bytes, inputs, shape));
    expect(diff).toBeLessThanOrEqual(1e-5);
  });

  it('moves no data between layouts where it need not: one channel is a Reshape, a Flatten before a Dense permutes its weights', () => {
    expect(opTypes(exportToOnnx(mnistCnn(10, 7)))).toEqual([
      'Reshape',
      'Conv',
      'Relu',
      'MaxPool',
      'Conv',
      'Relu',
      'MaxPool',
      'Flatten',
      'Gemm',
      'Relu',
      'Gemm',
      'Softmax',
      'Identity',
    ]);
    expect(opTypes(exportToOnnx(oneChannel()))).toEqual(['Reshape', 'Conv', 'MaxPool', 'Reshape', 'Identity']);
    // Three channels need the Transpose in; a Flatten that feeds BatchNormalization, or ends the
    // model, still transposes back to tfjs's (h, w, c) order.
    expect(opTypes(exportToOnnx(moreEdgeCases())).filter((op) => op === 'Transpose')).toHaveLength(2);
    expect(opTypes(exportToOnnx(functionalChain())).filter((op) => op === 'Transpose')).toHaveLength(2);
    // Flatten, Dropout, Dense: the Dropout is skipped over, so no Transpose back.
    expect(opTypes(exportToOnnx(edgeCaseModel())).filter((op) => op === 'Transpose')).toHaveLength(1);
  });

  it('names an unsupported layer in its error', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2dTranspose({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, name: 'upsample_1' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2 }),
      ],
    });
    expect(() => exportToOnnx(model)).toThrow(/layer "upsample_1" \(Conv2DTranspose\) is not supported by the ONNX exporter/);
    const elu = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 2, activation: 'elu', name: 'dense_elu' })] });
    expect(() => exportToOnnx(elu)).toThrow(/layer "dense_elu" \(Dense\) has activation "elu"/);
  });

  describe.runIf(requirePart('Chromium', hasChromium, 'apt-get install -y chromium'))('in onnxruntime-web (Chromium)', () => {
    it.each(cases.slice(0, 2))('$name matches tfjs within 1e-5 on 1,000 images', async ({ build, shape }) => {
      const model = build();
      randomiseBatchNorm(model, 11);
      const inputs = randomInputs(IMAGES, shape, 6);
      const bytes = exportToOnnx(model);
      const web = await runInOrtWeb({ model: bytes, inputs, shape, batch: 100 });
      expect(maxAbsDiff(tfjsPredict(model, inputs, shape), web.outputs)).toBeLessThanOrEqual(1e-5);
    });
  });
});
