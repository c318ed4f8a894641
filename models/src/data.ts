/**
 * `@edgeloop/models/data`: dataset importers, splits, hashing and guarded image decoding, without
 * tfjs. The hub imports this entry so that starting it (and restarting it) does not load tfjs.
 */

export * from './datasets/csv.js';
export * from './datasets/fetch-image.js';
export * from './datasets/folder.js';
export * from './datasets/hash.js';
export * from './datasets/mnist.js';
export * from './datasets/split.js';
export * from './datasets/types.js';
export * from './errors.js';
export * from './preprocess/node.js';
export * from './preprocess/resize.js';
export * from './preprocess/sniff.js';
