/**
 * The training loop: seeded shuffling, mini-batches through `trainOnBatch` (or, on wasm, the same
 * step with fused conv layers: fused-step.ts) with Adam and a cosine
 * learning-rate decay, a NaN check on every batch, validation after every epoch, and a progress
 * callback per epoch. We own the loop rather
 * than call `model.fit` so shuffling is seeded (fit's uses Math.random) and a diverged run stops
 * at the first NaN.
 */
import { mulberry32 } from '@edgeloop/protocol';
import type { LayersModel } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { TensorData } from '../datasets/types.js';
import { ModelsError } from '../errors.js';
import { argmax } from '../evaluate/metrics.js';
import { fusedTrainStep } from './fused-step.js';
import { adamOptimizer } from './wasm-kernels/adam.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  validation?: TensorData;
  onEpoch?: (m: EpochMetrics) => void;
  signal?: AbortSignal;
}

export const defaultTrainOptions: Omit<TrainOptions, 'validation' | 'onEpoch' | 'signal'> = {
  epochs: 10,
  batchSize: 64,
  learningRate: 0.002,
  seed: 1,
};

export interface EpochMetrics {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainResult {
  history: EpochMetrics[];
  seconds: number;
  imagesPerSecond: number;
  /** Which training step ran: the fused conv ops of fused-step.ts, or tfjs's `trainOnBatch`. */
  step: 'fused' | 'trainOnBatch';
}

function batchTensors(data: TensorData, indices: ArrayLike<number>, from: number, to: number, numClasses: number) {
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  const n = to - from;
  const x = new Float32Array(n * per);
  const y = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const src = indices[from + i]!;
    x.set(data.x.subarray(src * per, (src + 1) * per), i * per);
    y[i * numClasses + data.y[src]!] = 1;
  }
  return { xs: tf.tensor4d(x, [n, ...data.shape]), ys: tf.tensor2d(y, [n, numClasses]) };
}

/** Runs the model over `data` in batches; returns N × K probabilities. */
export function predictAll(model: LayersModel, data: TensorData, batchSize = 256): Float32Array {
  const n = data.y.length;
  const k = (model.outputs[0]!.shape[1] as number) ?? 0;
  const out = new Float32Array(n * k);
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  for (let from = 0; from < n; from += batchSize) {
    const to = Math.min(n, from + batchSize);
    const probs = tf.tidy(() => {
      const xs = tf.tensor4d(data.x.subarray(from * per, to * per), [to - from, ...data.shape]);
      return (model.predict(xs) as tf.Tensor).dataSync();
    });
    out.set(probs, from * k);
  }
  return out;
}

/** Mean cross-entropy and accuracy of probabilities against labels. */
export function lossAndAccuracy(probs: Float32Array, y: Int32Array, k: number): { loss: number; accuracy: number } {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < y.length; i++) {
    loss -= Math.log(Math.max(1e-7, probs[i * k + y[i]!]!));
    if (argmax(probs, i * k, k) === y[i]) correct++;
  }
  return { loss: loss / Math.max(1, y.length), accuracy: correct / Math.max(1, y.length) };
}

/**
 * Whether training may use the fused step of fused-step.ts: `EDGELOOP_TRAIN_FUSED` unset or `1`
 * (the default), not `0`. Anything else is refused rather than read either way.
 */
export function fusedStepWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const given = env.EDGELOOP_TRAIN_FUSED;
  if (given === undefined || given === '' || given === '1') return true;
  if (given === '0') return false;
  throw new ModelsError('BAD_ARGUMENT', `EDGELOOP_TRAIN_FUSED must be 0 or 1, got "${given}"`);
}

/** Trains `model` in place (it must not be compiled yet). Throws `TRAINING_DIVERGED` on a NaN loss. */
export async function trainModel(model: LayersModel, data: TensorData, numClasses: number, options: TrainOptions): Promise<TrainResult> {
  const optimizer = adamOptimizer(options.learningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  // On wasm, conv layers with a bias and ReLU train as one op each (fused-step.ts), unless
  // EDGELOOP_TRAIN_FUSED=0 asks for tfjs's own step.
  const fused = fusedStepWanted() ? fusedTrainStep(model) : undefined;
  const trainStep = fused ?? ((xs: tf.Tensor, ys: tf.Tensor) => model.trainOnBatch(xs, ys) as Promise<number[]>);
  const batchesPerEpoch = Math.ceil(data.y.length / options.batchSize);
  const totalSteps = options.epochs * batchesPerEpoch;
  let step = 0;
  const rng = mulberry32(options.seed);
  const n = data.y.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const history: EpochMetrics[] = [];
  const start = performance.now();
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const t0 = performance.now();
    // Fisher–Yates with the seeded RNG.
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    let lossSum = 0;
    let accSum = 0;
    for (let from = 0; from < n; from += options.batchSize) {
      if (options.signal?.aborted) throw new ModelsError('BAD_ARGUMENT', 'training was cancelled', { cause: options.signal.reason });
      const to = Math.min(n, from + options.batchSize);
      // Cosine decay from the configured rate to 5% of it: large steps early, settling late.
      // (Adam reads its learningRate field on every update; tfjs marks it protected.)
      (optimizer as unknown as { learningRate: number }).learningRate =
        options.learningRate * (0.05 + 0.95 * 0.5 * (1 + Math.cos((Math.PI * step++) / totalSteps)));
      const { xs, ys } = batchTensors(data, order, from, to, numClasses);
      const [loss, acc] = await trainStep(xs, ys);
      xs.dispose();
      ys.dispose();
      if (!Number.isFinite(loss)) {
        throw new ModelsError('TRAINING_DIVERGED', `loss became ${loss} in epoch ${epoch} at example ${from}; lower the learning rate`);
      }
      lossSum += loss! * (to - from);
      accSum += acc! * (to - from);
    }
    const seconds = (performance.now() - t0) / 1000;
    const m: EpochMetrics = {
      epoch,
      epochs: options.epochs,
      loss: lossSum / n,
      accuracy: accSum / n,
      seconds,
      imagesPerSecond: n / seconds,
    };
    if (options.validation && options.validation.y.length > 0) {
      const v = lossAndAccuracy(predictAll(model, options.validation), options.validation.y, numClasses);
      m.valLoss = v.loss;
      m.valAccuracy = v.accuracy;
    }
    history.push(m);
    options.onEpoch?.(m);
    // Let timers and I/O run between epochs (progress output, cancellation).
    await new Promise((r) => setImmediate(r));
  }
  const seconds = (performance.now() - start) / 1000;
  return { history, seconds, imagesPerSecond: (n * options.epochs) / seconds, step: fused ? 'fused' : 'trainOnBatch' };
}
