/**
 * A training step that runs each conv layer with a bias and ReLU as one op, on the wasm backend.
 *
 * `model.trainOnBatch` runs the layers' own calls, and tfjs-core splits a conv layer's fused
 * bias and ReLU into separate kernels whenever gradients are recorded: three passes over the
 * activation forward and two backward that one op does in one (wasm-kernels/conv-block.ts).
 * {@link fusedTrainStep} is `trainOnBatch`'s step (tfjs-layers' `makeTrainFunction`: the
 * compiled loss, its mean, the compiled metrics, regulariser losses, `optimizer.minimize` over
 * the collected trainable weights) with a forward pass of its own: a Sequential model's layers
 * in order, in training mode, each `Conv2D` that it can fuse going through `conv2dBiasRelu`, or,
 * with the 2×2 max pool after it, through `conv2dBiasReluMaxPool` (wasm-kernels/conv-pool-block.ts).
 *
 * It applies only on the wasm backend with the edgeloop kernels registered, to a compiled
 * Sequential model with one output and at least one fusable layer; otherwise it returns
 * undefined and the caller keeps `trainOnBatch`.
 */
import * as tf from '@tensorflow/tfjs';
import { CONV_BIAS_RELU, type ConvBlockAttrs, conv2dBiasRelu } from './wasm-kernels/conv-block.js';
import { conv2dBiasReluMaxPool, convPoolPlan } from './wasm-kernels/conv-pool-block.js';

/** The parts of a compiled tfjs-layers model that its own train function reads (tfjs 4.x). */
interface CompiledModel {
  lossFunctions?: ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor)[];
  metricsTensors?: [(yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor, number][];
  collectedTrainableWeights?: { read(): tf.Variable }[];
  optimizer_?: tf.Optimizer;
  outputs: unknown[];
  calculateLosses(): tf.Scalar[];
}

/** A conv layer's weights (protected fields of tfjs-layers' `Conv`). */
interface ConvWeights {
  kernel?: { read(): tf.Variable };
  bias?: { read(): tf.Variable };
}

interface Conv2DConfig {
  activation?: string;
  useBias?: boolean;
  dataFormat?: string;
  dilationRate?: number | number[];
  strides?: number | number[];
  padding?: string;
  kernelConstraint?: unknown;
  biasConstraint?: unknown;
}

const pair = (v: number | number[] | undefined, fallback: number): [number, number] =>
  Array.isArray(v) ? [v[0] ?? fallback, v[1] ?? v[0] ?? fallback] : [v ?? fallback, v ?? fallback];

/** The attributes of `conv2dBiasRelu` for this layer, or undefined where it cannot stand in for the layer's call. */
export function fusableConv(layer: tf.layers.Layer): ConvBlockAttrs | undefined {
  if (layer.getClassName() !== 'Conv2D' || !layer.trainable) return undefined;
  const cfg = layer.getConfig() as Conv2DConfig;
  const weights = layer as unknown as ConvWeights;
  const dilation = pair(cfg.dilationRate, 1);
  if (
    cfg.activation !== 'relu' ||
    cfg.useBias !== true ||
    (cfg.dataFormat ?? 'channelsLast') !== 'channelsLast' ||
    dilation[0] !== 1 ||
    dilation[1] !== 1 ||
    (cfg.padding !== 'same' && cfg.padding !== 'valid') ||
    cfg.kernelConstraint != null ||
    cfg.biasConstraint != null ||
    !weights.kernel ||
    !weights.bias
  ) {
    return undefined;
  }
  return { strides: pair(cfg.strides, 1), pad: cfg.padding };
}

interface PoolConfig {
  poolSize?: number | number[];
  strides?: number | number[];
  padding?: string;
  dataFormat?: string;
}

/** Whether this layer is a 2×2, stride-2, 'valid', channels-last max pool: the one conv-pool-block.ts fuses. */
export function isPool2x2(layer: tf.layers.Layer | undefined): boolean {
  if (layer?.getClassName() !== 'MaxPooling2D') return false;
  const cfg = layer.getConfig() as PoolConfig;
  const size = pair(cfg.poolSize, 2);
  const strides = pair(cfg.strides ?? cfg.poolSize, 2);
  return (
    size[0] === 2 &&
    size[1] === 2 &&
    strides[0] === 2 &&
    strides[1] === 2 &&
    cfg.padding === 'valid' &&
    (cfg.dataFormat ?? 'channelsLast') === 'channelsLast'
  );
}

/** One step of the fused forward pass: a layer's own call, a fused conv, or a fused conv and the pool after it. */
type Stage =
  | { kind: 'layer'; layer: tf.layers.Layer }
  | { kind: 'conv'; layer: tf.layers.Layer; conv: ConvBlockAttrs; pool?: tf.layers.Layer };

function stages(layers: readonly tf.layers.Layer[]): Stage[] {
  const out: Stage[] = [];
  const list = layers.filter((l) => l.getClassName() !== 'InputLayer');
  for (let i = 0; i < list.length; i++) {
    const layer = list[i]!;
    const conv = fusableConv(layer);
    if (!conv) {
      out.push({ kind: 'layer', layer });
    } else if (isPool2x2(list[i + 1]) && conv.strides[0] === 1 && conv.strides[1] === 1) {
      out.push({ kind: 'conv', layer, conv, pool: list[++i] });
    } else {
      out.push({ kind: 'conv', layer, conv });
    }
  }
  return out;
}

/**
 * The model's forward pass in training mode with its fusable conv layers as one op each, or
 * undefined where the fused op does not apply (see the module's comment). A conv followed by a
 * 2×2 max pool runs as one op where {@link convPoolPlan} accepts the shapes (decided at each call,
 * since the batch may change); otherwise as the conv op and the pool's own call. A conv that
 * reads the model's input computes no input gradient (that input needs none).
 */
export function fusedForward(model: tf.LayersModel): ((x: tf.Tensor) => tf.Tensor) | undefined {
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(CONV_BIAS_RELU, 'wasm')) return undefined;
  if (!(model instanceof tf.Sequential)) return undefined;
  const plan = stages(model.layers);
  if (!plan.some((p) => p.kind === 'conv')) return undefined;
  return (x) => {
    let h = x;
    plan.forEach((stage, i) => {
      if (stage.kind === 'layer') {
        h = stage.layer.apply(h, { training: true }) as tf.Tensor;
        return;
      }
      const w = stage.layer as unknown as Required<ConvWeights>;
      const kernel = w.kernel.read() as tf.Tensor4D;
      const bias = w.bias.read() as tf.Tensor1D;
      const pooled = { pad: stage.conv.pad, needDx: i > 0 };
      if (stage.pool && convPoolPlan(h.shape, kernel.shape, pooled)) {
        h = conv2dBiasReluMaxPool(h as tf.Tensor4D, kernel, bias, pooled);
        return;
      }
      h = conv2dBiasRelu(h as tf.Tensor4D, kernel, bias, stage.conv);
      if (stage.pool) h = stage.pool.apply(h, { training: true }) as tf.Tensor;
    });
    return h;
  };
}

/**
 * A replacement for `model.trainOnBatch(xs, ys)` (the model compiled, one output, no sample
 * weights) that resolves to the same [loss, ...metrics], or undefined where it does not apply.
 */
export function fusedTrainStep(model: tf.LayersModel): ((xs: tf.Tensor, ys: tf.Tensor) => Promise<number[]>) | undefined {
  const forward = fusedForward(model);
  if (!forward) return undefined;
  // A Sequential model compiles the functional model inside it, which holds the train function's parts.
  const compiled = (model as unknown as { model?: CompiledModel }).model ?? (model as unknown as CompiledModel);
  const { lossFunctions, metricsTensors, collectedTrainableWeights, optimizer_: optimizer } = compiled;
  if (lossFunctions?.length !== 1 || compiled.outputs.length !== 1 || !metricsTensors || !collectedTrainableWeights || !optimizer) {
    return undefined;
  }
  const lossFunction = lossFunctions[0]!;
  return async (xs, ys) => {
    const metrics: tf.Tensor[] = [];
    const variables = collectedTrainableWeights.map((w) => w.read());
    const loss = optimizer.minimize(
      () => {
        const out = forward(xs);
        for (const [metric] of metricsTensors) metrics.push(tf.keep(tf.mean(metric(ys, out))));
        let total = tf.mean(lossFunction(ys, out));
        for (const penalty of compiled.calculateLosses()) total = tf.add(total, penalty);
        return total as tf.Scalar;
      },
      true,
      variables,
    );
    try {
      const values: number[] = [];
      for (const t of [loss!, ...metrics]) values.push((await t.data())[0]!);
      return values;
    } finally {
      tf.dispose([loss!, ...metrics]);
    }
  };
}
