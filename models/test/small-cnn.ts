/** A seeded conv → flatten → dense-softmax model for the training-kernel tests. */
import * as tf from '@tensorflow/tfjs';

export interface SmallCnnOptions {
  inputShape: [number, number, number];
  filters: number;
  classes: number;
  /** Seeds of the conv kernel, the conv bias (zeros when absent) and the dense kernel. */
  seeds: { kernel: number; bias?: number; dense: number };
}

export function smallCnn({ inputShape, filters, classes, seeds }: SmallCnnOptions): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape,
        filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seeds.kernel }),
        biasInitializer: seeds.bias === undefined ? 'zeros' : tf.initializers.randomUniform({ seed: seeds.bias }),
      }),
      tf.layers.flatten(),
      tf.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seeds.dense }) }),
    ],
  });
}

/** One-hot float labels for n examples of `classes` classes: example i has class (i · stride) mod classes. */
export function cyclicLabels(n: number, classes: number, stride = 1): tf.Tensor2D {
  return tf.tidy(() =>
    tf
      .oneHot(
        tf.tensor1d(
          Int32Array.from({ length: n }, (_, i) => (i * stride) % classes),
          'int32',
        ),
        classes,
      )
      .toFloat(),
  ) as tf.Tensor2D;
}
