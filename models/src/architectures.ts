/**
 * The model architectures. Initialisers are seeded so a run is reproducible on one backend.
 * There is no Dropout: tfjs draws dropout masks from an unseeded RNG, which would break
 * reproducibility; these models are small enough not to need it on their datasets.
 */
import * as tf from '@tensorflow/tfjs';

export type ArchitectureName = 'mnist-cnn' | 'rgb-cnn';

function init(seed: number) {
  return { kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: 'zeros' as const };
}

/** A small CNN for 28×28 grayscale digits: two conv blocks and a dense head (about 105k parameters). */
export function mnistCnn(numClasses = 10, seed = 1): tf.LayersModel {
  return tf.sequential({
    name: 'mnist_cnn',
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', ...init(seed) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', ...init(seed + 1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu', ...init(seed + 2) }),
      tf.layers.dense({ units: numClasses, activation: 'softmax', ...init(seed + 3) }),
    ],
  });
}

/**
 * A small CNN for RGB photos (default 64×64), e.g. dandelion vs grass: a strided stem, batch
 * normalisation, average pooling and a global average pool keep it light for edge devices.
 */
export function rgbCnn(numClasses: number, size = 64, seed = 1): tf.LayersModel {
  return tf.sequential({
    name: 'rgb_cnn',
    layers: [
      tf.layers.conv2d({
        inputShape: [size, size, 3],
        filters: 16,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        useBias: false,
        ...init(seed),
      }),
      tf.layers.batchNormalization(),
      tf.layers.reLU(),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', ...init(seed + 1) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu', ...init(seed + 2) }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: numClasses, activation: 'softmax', ...init(seed + 3) }),
    ],
  });
}

/** Builds an architecture by name. */
export function buildArchitecture(name: ArchitectureName, numClasses: number, opts: { size?: number; seed?: number } = {}): tf.LayersModel {
  return name === 'mnist-cnn' ? mnistCnn(numClasses, opts.seed) : rgbCnn(numClasses, opts.size ?? 64, opts.seed);
}
