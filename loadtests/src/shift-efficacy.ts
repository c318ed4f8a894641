/**
 * How much a shift hurts, measured: trains the MNIST CNN on clean training digits (models'
 * `trainModel`, the trainer's own loop) and evaluates it on the clean and the shifted test split.
 * Optionally trains a second model on clean plus shifted digits, to show the shift stays learnable.
 * Loads tfjs: tests and benchmarks only.
 */
import {
  buildArchitecture,
  type LabelledImage,
  lossAndAccuracy,
  mnistPreprocessing,
  predictAll,
  selectBackend,
  toTensorData,
  trainModel,
} from '@edgeloop/models';
import { type Digit, mnistDigits, type Shift, seededRng } from './shifts.js';

const LABELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface ShiftEfficacy {
  backend: string;
  trainSeconds: number;
  clean: number;
  /** Accuracy of the clean-trained model on each shift's test digits. */
  shifted: Record<string, number>;
  /** Accuracy on each shift's test digits of a model trained on clean plus shifted digits. */
  retrained?: Record<string, number>;
}

/** The digits with `shift` applied, one seeded stream per shift. */
export function shiftDigits(digits: readonly Digit[], shift: Shift, seed: number): Digit[] {
  const rng = seededRng(seed);
  return digits.map((d) => ({ ...d, pixels: shift.apply(d.pixels, rng) }));
}

const asItems = (digits: readonly Digit[]): LabelledImage[] =>
  digits.map((d) => ({ id: d.id, label: d.label, source: `digit:${d.id}`, gray: { width: 28, height: 28, data: d.pixels } }));

async function trainAndScore(train: readonly Digit[], tests: Record<string, readonly Digit[]>, epochs: number, seed: number) {
  const data = await toTensorData(asItems(train), LABELS, mnistPreprocessing);
  const model = buildArchitecture('mnist-cnn', LABELS.length, { size: 28, seed });
  await trainModel(model, data, LABELS.length, { epochs, batchSize: 64, learningRate: 0.002, seed });
  const scores: Record<string, number> = {};
  for (const [name, digits] of Object.entries(tests)) {
    const t = await toTensorData(asItems(digits), LABELS, mnistPreprocessing);
    scores[name] = lossAndAccuracy(predictAll(model, t), t.y, LABELS.length).accuracy;
  }
  model.dispose();
  return scores;
}

/** Measures {@link ShiftEfficacy} for `shifts` (seeded; `perClass` caps the training digits per class). */
export async function measureShifts(
  shifts: readonly Shift[],
  options: { epochs?: number; seed?: number; retrain?: boolean; perClass?: number } = {},
): Promise<ShiftEfficacy> {
  const { epochs = 2, seed = 1, retrain = false } = options;
  const backend = await selectBackend();
  const cap = options.perClass ?? Number.POSITIVE_INFINITY;
  const counts = new Map<string, number>();
  const train = mnistDigits('train').filter((d) => {
    const n = counts.get(d.label) ?? 0;
    counts.set(d.label, n + 1);
    return n < cap;
  });
  const test = mnistDigits('test');
  const tests: Record<string, Digit[]> = { clean: test };
  for (const [i, s] of shifts.entries()) tests[s.name] = shiftDigits(test, s, seed * 1000 + i);
  const t0 = performance.now();
  const first = await trainAndScore(train, tests, epochs, seed);
  const trainSeconds = (performance.now() - t0) / 1000;
  const { clean, ...shifted } = first;
  const result: ShiftEfficacy = { backend: backend.name, trainSeconds, clean: clean!, shifted };
  if (retrain) {
    const mixed = [...train, ...shifts.flatMap((s, i) => shiftDigits(train, s, seed * 2000 + i))];
    const { clean: _c, ...again } = await trainAndScore(mixed, tests, epochs, seed);
    result.retrained = again;
  }
  return result;
}
