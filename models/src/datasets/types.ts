/** Dataset shapes shared by the loaders, the trainer and the evaluator. */

/** One labelled image. `id` is the hex sha256 of the image bytes (the protocol's sample identity). */
export interface LabelledImage {
  id: string;
  label: string;
  /** Where it came from: a file path, a URL, or `mnist:<digit>/<index>`. */
  source: string;
  /** Encoded image bytes (PNG/JPEG/WebP); absent for datasets that are already pixels. */
  bytes?: Uint8Array;
  /** Decoded pixels when there are no encoded bytes: grayscale, 8 bits, row-major. */
  gray?: { width: number; height: number; data: Uint8Array };
}

export interface Dataset {
  name: string;
  /** Sorted label names; a label's index is its class index. */
  labels: string[];
  items: LabelledImage[];
}

/** A problem with one input that was reported and skipped, never fatal to the import. */
export interface ImportProblem {
  source: string;
  reason: string;
}

/** Progress of a long import: how many inputs are done out of how many. */
export type ProgressFn = (done: number, total: number) => void;

/** Preprocessed examples, ready for training: `x` holds N inputs back to back. */
export interface TensorData {
  x: Float32Array;
  /** Class index of each example. */
  y: Int32Array;
  ids: string[];
  /** Shape of one input, without the batch axis, e.g. [28, 28, 1]. */
  shape: [number, number, number];
}
