/**
 * The learning-efficacy benchmark: how many labels does the loop need to win back the accuracy a
 * distribution shift took, when it picks samples by uncertainty against picking them at random?
 *
 * A champion learns the clean digits; the pool and the test set are shifted. Each arm starts from
 * the champion and runs the same rounds: pick `batch` pool samples, label them with their ground
 * truth (a SIMULATED oracle standing in for a person), fine-tune, measure on the shifted test set.
 * Both arms share the champion, the budget, the epochs, the learning rate and the per-round
 * shuffling seeds; only the pick differs.
 *
 * The defaults, and why (each measured on seed 1):
 * - A stronger champion: 50% of the digits as clean base-train (30% pool, 20% test) and 12 epochs
 *   give 97.0% on clean digits (35/45/20 and 4 epochs gave 94.8%). Fine-tuning on the shifted
 *   digits tops out around the clean accuracy, so a 97% target needs a champion at least that good.
 * - Small rounds early (50, 50, 100 ×4, then 250): uncertainty sampling gains most while it can be
 *   selective. A per-class cap on a round's picks (`classCap`) made no difference and is off.
 * - `thick-slant` at strength 0.5 (half the slant, half the dilation). At the shipped strength 1
 *   the shifted-test accuracy of this 105k-parameter CNN saturates near 96.8-97.0% for both arms
 *   within the 2,500 labels, so neither reaches the 97% target and the efficiency there cannot be
 *   measured; `--strength 1` runs the shipped shift. The strength is in `params` and in every title.
 */
import { mulberry32 } from '@edgeloop/protocol';
import type { LayersModel } from '@tensorflow/tfjs';
import {
  argmax,
  type BackendName,
  lossAndAccuracy,
  mnistCnn,
  predictAll,
  selectBackend,
  type TensorData,
  trainModel,
} from '../../src/index.js';
import { concat, type LoopSplit, loadLoopData, subset } from './data.js';
import { pickMostUncertain, pickMostUncertainCapped, pickRandom, scoreRows, type UncertaintyScoreName } from './select.js';
import { type CurvePoint, type Summary, summarise } from './summary.js';

export interface LearningBenchOptions {
  seed: number;
  /** A shift name from the load tests' catalogue (`thick-slant`, `low-contrast-noise`, …). */
  shift: string;
  /**
   * How strongly the shift is applied: 1 is the shift as shipped (what the fleet simulator and the
   * e2e test use); lower is milder (only `thick-slant` has the option, see loadtests' shifts.ts).
   */
  shiftStrength: number;
  /** Labels each arm may spend. */
  budget: number;
  /**
   * Labels per round, round by round; the last size repeats until the budget is spent. Small
   * rounds early let uncertainty sampling be selective while the model changes fastest.
   */
  batches: number[];
  /**
   * Batch diversity for the uncertainty arm: at most ceil(classCap × round size) picks per
   * predicted class in one round (the rest go to the next most uncertain); 0 turns it off.
   */
  classCap: number;
  /** Fine-tuning epochs per round, over the clean replay plus every labelled shifted sample. */
  epochs: number;
  /**
   * Clean base-train digits replayed in each round (a fresh seeded draw per round, the same for
   * both arms), so the model keeps the clean digits without paying for all of them every round;
   * 0 replays all of base-train.
   */
  replay: number;
  /** Epochs to train the champion on clean base-train. */
  baseEpochs: number;
  baseLearningRate: number;
  /** The fine-tuning rate: lower than the champion's, since each round starts from a trained model. */
  learningRate: number;
  /** Accuracy on the shifted test set that counts as recovered. */
  target: number;
  score: UncertaintyScoreName;
  backend: BackendName;
  split: LoopSplit;
  /** Which arms to run (both by default; one alone is for quick experiments, its summary is partial). */
  arms: Arm[];
  log?: (line: string) => void;
}

export const defaultLearningBenchOptions: Omit<LearningBenchOptions, 'log'> = {
  seed: 1,
  shift: 'thick-slant',
  shiftStrength: 0.5,
  budget: 2500,
  batches: [50, 50, 100, 100, 100, 100, 250],
  classCap: 0,
  epochs: 2,
  replay: 1000,
  baseEpochs: 12,
  baseLearningRate: 0.002,
  learningRate: 0.001,
  target: 0.97,
  score: 'margin',
  backend: 'wasm',
  split: { test: 0.2, pool: 0.3 },
  arms: ['uncertainty', 'random'],
};

export type Arm = 'uncertainty' | 'random';

/** What `runLearningBench` measured; the keys are those of `bench-results/loop.json`. */
export interface LoopResults extends Summary {
  clean_accuracy: number;
  curves: Record<Arm, CurvePoint[]>;
  /** Measured by the system run against a live hub, not here. */
  seconds_trigger_to_fleet: number | null;
  seconds_trigger_to_fleet_note: string;
  oracle: string;
  params: Omit<LearningBenchOptions, 'log' | 'backend'> & {
    backend: string;
    sizes: { base_train: number; pool: number; test: number };
  };
  seconds: { data: number; champion: number; uncertainty: number; random: number; total: number };
}

const BATCH_SIZE = 64;
const since = (t: number) => (performance.now() - t) / 1000;

function accuracy(model: LayersModel, data: TensorData, k: number): number {
  return lossAndAccuracy(predictAll(model, data), data.y, k).accuracy;
}

function cloneOf(champion: LayersModel, k: number): LayersModel {
  const model = mnistCnn(k);
  model.setWeights(champion.getWeights());
  return model;
}

/** The clean digits replayed in `round`: a seeded draw that depends on the round only, never on the arm. */
function replayOf(base: TensorData, o: LearningBenchOptions, round: number): TensorData {
  if (o.replay <= 0 || o.replay >= base.y.length) return base;
  const all = Array.from({ length: base.y.length }, (_, i) => i);
  return subset(base, pickRandom(all, o.replay, mulberry32(o.seed * 1000 + round + 500_000)));
}

interface ArmContext {
  champion: LayersModel;
  baseTrain: TensorData;
  pool: TensorData;
  test: TensorData;
  k: number;
  baseline: number;
  o: LearningBenchOptions;
}

async function runArm(arm: Arm, c: ArmContext): Promise<CurvePoint[]> {
  const { o, k } = c;
  const log = o.log ?? (() => {});
  const model = cloneOf(c.champion, k);
  const rng = mulberry32(o.seed * 7919 + 17);
  let remaining = Array.from({ length: c.pool.y.length }, (_, i) => i);
  const labelled: number[] = [];
  const curve: CurvePoint[] = [{ labels: 0, accuracy: c.baseline }];
  for (let round = 1; labelled.length < o.budget && remaining.length > 0; round++) {
    const t0 = performance.now();
    const size = o.batches[Math.min(round, o.batches.length) - 1] ?? o.batches[o.batches.length - 1]!;
    const count = Math.min(Math.max(1, size), o.budget - labelled.length);
    let picks: number[];
    if (arm === 'random') picks = pickRandom(remaining, count, rng);
    else {
      const scores = new Float64Array(c.pool.y.length).fill(Number.NEGATIVE_INFINITY);
      const predicted = new Int32Array(c.pool.y.length);
      const probs = predictAll(model, subset(c.pool, remaining));
      const rowScores = scoreRows(probs, k, o.score);
      remaining.forEach((p, i) => {
        scores[p] = rowScores[i]!;
        predicted[p] = argmax(probs, i * k, k);
      });
      picks =
        o.classCap > 0
          ? pickMostUncertainCapped(scores, predicted, remaining, count, Math.ceil(o.classCap * count))
          : pickMostUncertain(scores, remaining, count);
    }
    // The oracle (a simulation): the picked samples get their ground-truth labels, already in `pool.y`.
    labelled.push(...picks);
    const picked = new Set(picks);
    remaining = remaining.filter((i) => !picked.has(i));
    const train = concat(replayOf(c.baseTrain, o, round), subset(c.pool, labelled));
    await trainModel(model, train, k, {
      epochs: o.epochs,
      batchSize: BATCH_SIZE,
      learningRate: o.learningRate,
      seed: o.seed * 1000 + round,
    });
    const acc = accuracy(model, c.test, k);
    curve.push({ labels: labelled.length, accuracy: acc });
    log(
      `${arm.padEnd(11)} round ${String(round).padStart(2)}: ${String(labelled.length).padStart(5)} labels (simulated oracle), ` +
        `shifted-test accuracy ${(acc * 100).toFixed(2)}%, ${since(t0).toFixed(1)}s`,
    );
  }
  model.dispose();
  return curve;
}

/** Runs the whole benchmark; see the module comment. Starts `options.backend` (call once per process). */
export async function runLearningBench(options: Partial<LearningBenchOptions> = {}): Promise<LoopResults> {
  const o: LearningBenchOptions = { ...defaultLearningBenchOptions, ...options };
  const log = o.log ?? (() => {});
  const start = performance.now();
  const backend = await selectBackend(o.backend);
  const data = await loadLoopData(o.shift, o.seed, o.split, o.shiftStrength);
  const k = data.labels.length;
  const tData = since(start);
  log(
    `backend ${backend.name}; shift ${o.shift}; base-train ${data.baseTrain.y.length} clean, pool ${data.pool.y.length} shifted, ` +
      `test ${data.test.y.length} shifted (${tData.toFixed(1)}s)`,
  );

  const t1 = performance.now();
  const champion = mnistCnn(k, o.seed);
  await trainModel(champion, data.baseTrain, k, {
    epochs: o.baseEpochs,
    batchSize: BATCH_SIZE,
    learningRate: o.baseLearningRate,
    seed: o.seed,
    onEpoch: (m) => log(`champion epoch ${m.epoch}/${m.epochs}: loss ${m.loss.toFixed(4)}, ${m.seconds.toFixed(1)}s`),
  });
  const baseline = accuracy(champion, data.test, k);
  const clean = accuracy(champion, data.cleanTest, k);
  const tChampion = since(t1);
  log(`champion: clean accuracy ${(clean * 100).toFixed(2)}%, shifted accuracy (baseline) ${(baseline * 100).toFixed(2)}%`);

  const ctx: ArmContext = { champion, baseTrain: data.baseTrain, pool: data.pool, test: data.test, k, baseline, o };
  const t2 = performance.now();
  const uncertainty = o.arms.includes('uncertainty') ? await runArm('uncertainty', ctx) : [];
  const tUncertainty = since(t2);
  const t3 = performance.now();
  const random = o.arms.includes('random') ? await runArm('random', ctx) : [];
  const tRandom = since(t3);
  champion.dispose();

  const curves = { uncertainty, random };
  const { log: _log, ...params } = o;
  return {
    ...summarise(curves, baseline, o.target, o.budget),
    clean_accuracy: clean,
    curves,
    seconds_trigger_to_fleet: null,
    seconds_trigger_to_fleet_note: 'measured by the system run',
    oracle: 'SIMULATED: the labelling oracle gives each picked pool sample its ground-truth MNIST label',
    params: {
      ...params,
      backend: backend.name,
      sizes: { base_train: data.baseTrain.y.length, pool: data.pool.y.length, test: data.test.y.length },
    },
    seconds: { data: tData, champion: tChampion, uncertainty: tUncertainty, random: tRandom, total: since(start) },
  };
}
