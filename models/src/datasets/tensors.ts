/** Turns labelled images into preprocessed float tensors, the trainer's and evaluator's input. */
import type { Preprocessing } from '@edgeloop/protocol';
import { ModelsError } from '../errors.js';
import { preprocessImageBytes } from '../preprocess/node.js';
import { preprocessRgba, type RgbaImage } from '../preprocess/resize.js';
import type { ImportProblem, LabelledImage, ProgressFn, TensorData } from './types.js';

function grayToRgba(g: NonNullable<LabelledImage['gray']>): RgbaImage {
  const data = new Uint8Array(g.width * g.height * 4);
  for (let i = 0; i < g.data.length; i++) {
    const v = g.data[i]!;
    data[i * 4] = v;
    data[i * 4 + 1] = v;
    data[i * 4 + 2] = v;
    data[i * 4 + 3] = 255;
  }
  return { width: g.width, height: g.height, data };
}

/** Images decoded at once by {@link toTensorData}. */
const WINDOW = 64;

/**
 * Preprocesses `items` (NHWC) with class indices from `labels`. An item that fails to decode is
 * reported in `problems` and left out.
 */
export async function toTensorData(
  items: readonly LabelledImage[],
  labels: readonly string[],
  spec: Preprocessing,
  options: { onProgress?: ProgressFn; problems?: ImportProblem[] } = {},
): Promise<TensorData> {
  const per = spec.width * spec.height * spec.channels;
  const x = new Float32Array(items.length * per);
  const y: number[] = [];
  const ids: string[] = [];
  const index = new Map(labels.map((l, i) => [l, i]));
  // sharp decodes on libuv's thread pool: a window of images in flight at once, then each result is
  // placed in order (a bad image is reported and skipped, as before).
  const decode = async (item: LabelledImage): Promise<Float32Array> => {
    const input = item.gray
      ? preprocessRgba(grayToRgba(item.gray), spec)
      : item.bytes
        ? await preprocessImageBytes(item.bytes, spec)
        : undefined;
    if (!input) throw new ModelsError('BAD_DATASET', 'item has neither bytes nor pixels');
    return input;
  };
  for (let from = 0; from < items.length; from += WINDOW) {
    const window = items.slice(from, from + WINDOW);
    for (const item of window) {
      if (!index.has(item.label))
        throw new ModelsError('BAD_DATASET', `label "${item.label}" of ${item.source} is not one of the dataset's labels`);
    }
    const results = await Promise.allSettled(window.map(decode));
    for (const [k, item] of window.entries()) {
      const r = results[k]!;
      if (r.status === 'fulfilled') {
        x.set(r.value, ids.length * per);
        y.push(index.get(item.label)!);
        ids.push(item.id);
      } else {
        const e = r.reason as unknown;
        options.problems?.push({ source: item.source, reason: e instanceof Error ? e.message : String(e) });
      }
      options.onProgress?.(from + k + 1, items.length);
    }
  }
  return { x: x.subarray(0, ids.length * per), y: Int32Array.from(y), ids, shape: [spec.height, spec.width, spec.channels] };
}
