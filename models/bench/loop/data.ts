/**
 * The benchmark's data: the bundled MNIST digits, split by a stable hash of the sample id into a
 * clean base-train set (what the champion learned from), a shifted unlabelled pool (the stream the
 * fleet sees after the shift) and a shifted test set that is never labelled.
 */
import { type Shift, seededRng, shiftByName } from '@edgeloop/loadtests/shifts';
import type { LabelledImage } from '../../src/datasets/types.js';
import { loadMnist, mnistPreprocessing, splitPoint, type TensorData, toTensorData } from '../../src/index.js';

/** Fractions of the digits in the shifted test set and the shifted pool; the rest is base-train. */
export interface LoopSplit {
  test: number;
  pool: number;
}

export interface LoopData {
  labels: string[];
  baseTrain: TensorData;
  pool: TensorData;
  test: TensorData;
  /** Clean versions of the test digits, to report the champion's accuracy before the shift. */
  cleanTest: TensorData;
}

/** Fixed, so every seed and every run shares one split; seeds vary the rest. */
const SPLIT_SALT = 'edgeloop-bench-loop:';

/**
 * A digit's shift draws from its own RNG, seeded from its id and the run's seed, so a shifted image
 * never depends on the order it was processed in.
 */
function shifted(item: LabelledImage, shift: Shift, seed: number): LabelledImage {
  const gray = item.gray!;
  const rng = seededRng(Math.floor(splitPoint(item.id, `shift:${seed}:`) * 2 ** 32));
  return { ...item, source: `${item.source}+${shift.name}`, gray: { ...gray, data: shift.apply(gray.data, rng) } };
}

/** Loads, splits, shifts (at `strength`, 1 being the shift as shipped) and preprocesses the digits. */
export async function loadLoopData(shiftName: string, seed: number, split: LoopSplit, strength = 1): Promise<LoopData> {
  const shift = shiftByName(shiftName, strength); // fails before any work on an unknown name
  const ds = loadMnist();
  const parts: Record<'base' | 'pool' | 'test', LabelledImage[]> = { base: [], pool: [], test: [] };
  for (const item of ds.items) {
    const u = splitPoint(item.id, SPLIT_SALT);
    parts[u < split.test ? 'test' : u < split.test + split.pool ? 'pool' : 'base'].push(item);
  }
  const prep = (items: LabelledImage[]) => toTensorData(items, ds.labels, mnistPreprocessing);
  return {
    labels: ds.labels,
    baseTrain: await prep(parts.base),
    pool: await prep(parts.pool.map((i) => shifted(i, shift, seed))),
    test: await prep(parts.test.map((i) => shifted(i, shift, seed))),
    cleanTest: await prep(parts.test),
  };
}

/** The examples of `data` at `indices`, in that order. */
export function subset(data: TensorData, indices: readonly number[]): TensorData {
  const per = data.shape[0] * data.shape[1] * data.shape[2];
  const x = new Float32Array(indices.length * per);
  const y = new Int32Array(indices.length);
  indices.forEach((src, i) => {
    x.set(data.x.subarray(src * per, (src + 1) * per), i * per);
    y[i] = data.y[src]!;
  });
  return { x, y, ids: indices.map((i) => data.ids[i]!), shape: data.shape };
}

/** `a` followed by `b` (same input shape). */
export function concat(a: TensorData, b: TensorData): TensorData {
  const x = new Float32Array(a.x.length + b.x.length);
  x.set(a.x);
  x.set(b.x, a.x.length);
  const y = new Int32Array(a.y.length + b.y.length);
  y.set(a.y);
  y.set(b.y, a.y.length);
  return { x, y, ids: [...a.ids, ...b.ids], shape: a.shape };
}
