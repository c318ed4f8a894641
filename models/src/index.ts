/**
 * `@edgeloop/models`: datasets, preprocessing, architectures, training on the best available
 * tfjs backend, evaluation and ONNX export.
 */

export * from './architectures.js';
export * from './bytes.js';
export * from './datasets/csv.js';
export * from './datasets/fetch-image.js';
export * from './datasets/folder.js';
export * from './datasets/hash.js';
export * from './datasets/mnist.js';
export * from './datasets/split.js';
export * from './datasets/tensors.js';
export * from './datasets/types.js';
export * from './errors.js';
export * from './evaluate/confusion-svg.js';
export * from './evaluate/metrics.js';
export * from './export/onnx.js';
export * from './io.js';
export * from './preprocess/node.js';
export * from './preprocess/resize.js';
export * from './preprocess/sniff.js';
export * from './train/backend.js';
export * from './train/pipeline.js';
export * from './train/train.js';
