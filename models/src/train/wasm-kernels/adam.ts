/**
 * Adam in one kernel per variable on wasm. tfjs's AdamOptimizer updates each variable with eleven
 * element-wise kernels (two passes of tfjs's engine and a temporary tensor each); on the MNIST CNN
 * that was about 100 of a step's 250 kernels. `EdgeloopAdamUpdate` does the same float32
 * operations in the same order in one SIMD pass (simd/kernels.wat, `adamUpdate`), so the weights
 * are the same to the bit. Other backends, and wasm without our SIMD module, run tfjs's own update.
 */

import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { BACKEND, heapF32, wasmBackendOf } from './common.js';
import { simdKernels } from './simd/index.js';

export const ADAM_UPDATE = 'EdgeloopAdamUpdate';

/** The update's constants, as tfjs rounds them to float32 (see `adamConstants`). */
export interface AdamUpdateAttrs {
  beta1: number;
  oneMinusBeta1: number;
  beta2: number;
  oneMinusBeta2: number;
  oneMinusAccBeta1: number;
  oneMinusAccBeta2: number;
  epsilon: number;
  negLearningRate: number;
}

/** Outputs [value', m', v'] for inputs value, m, v and the gradient g, all float32 of one size. */
export const adamUpdate: KernelFunc = ({ inputs, backend: given, attrs }) => {
  const backend = wasmBackendOf(given, ADAM_UPDATE);
  const { value, m, v, g } = inputs as NamedTensorInfoMap & Record<'value' | 'm' | 'v' | 'g', TensorInfo>;
  const n = tf.util.sizeFromShape(value.shape);
  for (const t of [value, m, v, g]) {
    if (t.dtype !== 'float32' || tf.util.sizeFromShape(t.shape) !== n) {
      throw new Error(`${ADAM_UPDATE} (edgeloop): value, m, v and g must be float32 of one size`);
    }
  }
  const simd = simdKernels(backend);
  if (!simd) throw new Error(`${ADAM_UPDATE} (edgeloop): the SIMD kernels are not available`);
  const a = attrs as unknown as AdamUpdateAttrs;
  const outs = [value, m, v].map((t) => backend.makeOutput([...t.shape], 'float32'));
  // Offsets after every allocation: a malloc may grow the heap.
  const at = (t: TensorInfo) => heapF32(backend, t).byteOffset;
  simd.adamUpdate(
    at(value),
    at(m),
    at(v),
    at(g),
    at(outs[0]!),
    at(outs[1]!),
    at(outs[2]!),
    n,
    a.beta1,
    a.oneMinusBeta1,
    a.beta2,
    a.oneMinusBeta2,
    a.oneMinusAccBeta1,
    a.oneMinusAccBeta2,
    a.epsilon,
    a.negLearningRate,
  );
  return outs;
};

/** tfjs's AdamOptimizer fields that the fused update reads and writes (protected in its typings). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/**
 * tfjs's AdamOptimizer with the fused update on wasm. Its state (moments, β powers, iterations),
 * its configuration and its serialisation are tfjs's own; only `applyGradients` differs, and only
 * where the fused kernel can run.
 */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** Updates applied by the fused kernel (tests use it to see which path ran). */
  fusedUpdates = 0;

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer['applyGradients']>[0]): void {
    if (!fusedAdamAvailable()) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as AdamInternals;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    // Every constant is the float32 value tfjs's kernels would see: scalars are float32 tensors,
    // and 1 − β is computed in JavaScript before it becomes one.
    const f = Math.fround;
    const constants: AdamUpdateAttrs = {
      beta1: f(self.beta1),
      oneMinusBeta1: f(1 - self.beta1),
      beta2: f(self.beta2),
      oneMinusBeta2: f(1 - self.beta2),
      // sub(1, accBeta) in float32: the exact difference of two float32s, rounded once.
      oneMinusAccBeta1: f(1 - self.accBeta1.dataSync()[0]!),
      oneMinusAccBeta2: f(1 - self.accBeta2.dataSync()[0]!),
      epsilon: f(self.epsilon),
      negLearningRate: f(-self.learningRate),
    };
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name]!;
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        const [newValue, newM, newV] = tf
          .engine()
          .runKernel(ADAM_UPDATE, { value, m, v, g: gradient }, constants as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(newM!);
        v.assign(newV!);
        value.assign(newValue!);
        this.fusedUpdates++;
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

/** Whether the fused update can run now: the wasm backend is active with our kernel and SIMD module. */
export function fusedAdamAvailable(): boolean {
  return tf.getBackend() === BACKEND && tf.getKernel(ADAM_UPDATE, BACKEND) != null && simdKernels(tf.backend() as BackendWasm) != null;
}

/** Adam for training: the fused update where it can run, tfjs's own elsewhere. */
export function adamOptimizer(learningRate: number): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, 0.9, 0.999);
}
