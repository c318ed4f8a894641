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
  for (const item of items) {
    const cls = index.get(item.label);
    if (cls === undefined)
      throw new ModelsError('BAD_DATASET', `label "${item.label}" of ${item.source} is not one of the dataset's labels`);
    try {
      const input = item.gray
        ? preprocessRgba(grayToRgba(item.gray), spec)
        : item.bytes
          ? await preprocessImageBytes(item.bytes, spec)
          : undefined;
      if (!input) throw new ModelsError('BAD_DATASET', 'item has neither bytes nor pixels');
      x.set(input, ids.length * per);
      y.push(cls);
      ids.push(item.id);
    } catch (e) {
      options.problems?.push({ source: item.source, reason: e instanceof Error ? e.message : String(e) });
    }
    options.onProgress?.(ids.length, items.length);
  }
  return { x: x.subarray(0, ids.length * per), y: Int32Array.from(y), ids, shape: [spec.height, spec.width, spec.channels] };
}
