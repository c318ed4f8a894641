/**
 * One training run from a dataset to artifacts: split by id, preprocess, build, train with
 * progress, evaluate on the held-out test split, export ONNX, and write everything a person or
 * the hub needs: the tfjs model, the ONNX model, its manifest, metrics and a confusion matrix SVG.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type ModelManifest, ModelManifestSchema, type Preprocessing, PreprocessingSchema } from '@edgeloop/protocol';
import type { LayersModel } from '@tensorflow/tfjs';
import { type ArchitectureName, buildArchitecture } from '../architectures.js';
import { datasetHash } from '../datasets/hash.js';
import { loadMnist, mnistPreprocessing } from '../datasets/mnist.js';
import { defaultSplit, type SplitFractions, splitItems } from '../datasets/split.js';
import { toTensorData } from '../datasets/tensors.js';
import type { Dataset, ImportProblem } from '../datasets/types.js';
import { ModelsError } from '../errors.js';
import { confusionMatrixSvg } from '../evaluate/confusion-svg.js';
import { type Evaluation, evaluatePredictions, type OverfitReport, overfitCheck } from '../evaluate/metrics.js';
import { exportToOnnx } from '../export/onnx.js';
import { loadModel, saveModel } from '../io.js';
import { type BackendInfo, type BackendName, selectBackend } from './backend.js';
import { defaultTrainOptions, type EpochMetrics, predictAll, trainModel } from './train.js';

export interface TrainJob {
  dataset: Dataset;
  architecture: ArchitectureName;
  preprocessing: Preprocessing;
  modelName: string;
  version: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  seed?: number;
  split?: SplitFractions;
  /** Use exactly this backend; by default the best available. */
  backend?: BackendName;
  /**
   * Fine-tune: start from the weights of the model an earlier run wrote to this directory (its
   * `tfjs/` and `manifest.json`) instead of fresh ones. Its labels, preprocessing and architecture
   * must be this job's; anything else is refused before training.
   */
  initFrom?: string;
  outDir: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface RunReport {
  modelName: string;
  version: number;
  architecture: ArchitectureName;
  params: { epochs: number; batchSize: number; learningRate: number; seed: number; split: SplitFractions };
  backend: BackendInfo;
  datasetHash: string;
  counts: { train: number; validation: number; test: number };
  history: EpochMetrics[];
  test: Evaluation;
  overfit: OverfitReport;
  trainSeconds: number;
  imagesPerSecond: number;
  problems: ImportProblem[];
  /** The run directory whose weights this run started from (`TrainJob.initFrom`), if any. */
  initFrom?: string;
  manifest: ModelManifest;
  artifacts: { tfjs: string; onnx: string; manifest: string; metrics: string; confusion: string };
}

/** Preprocessing for the RGB CNN: `size`² RGB, centre-cropped, scaled to [−1, 1]. */
export function rgbPreprocessing(size = 64): Preprocessing {
  return {
    width: size,
    height: size,
    channels: 3,
    fit: 'cover',
    kernel: 'bilinear',
    background: [255, 255, 255],
    invert: false,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
  };
}

/** The default MNIST job: the bundled digits, the MNIST CNN, default settings. */
export function mnistJob(outDir: string, log?: (line: string) => void): TrainJob {
  return {
    dataset: loadMnist(),
    architecture: 'mnist-cnn',
    preprocessing: mnistPreprocessing,
    modelName: 'mnist-cnn',
    version: 1,
    outDir,
    log,
  };
}

/** The graph name and doc string of an exported model, the same for training and re-export. */
export function onnxNaming(modelName: string, version: number) {
  return { modelName, docString: `edgeloop ${modelName} v${version}` };
}

/**
 * The model an earlier run wrote to `dir`, once its manifest shows the same labels (in the same
 * order) and preprocessing as this job's: checked before any image is preprocessed.
 */
async function earlierRun(dir: string, labels: readonly string[], spec: Preprocessing): Promise<LayersModel> {
  let manifest: ModelManifest;
  let earlier: LayersModel;
  try {
    manifest = ModelManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
    earlier = await loadModel(join(dir, 'tfjs'));
  } catch (cause) {
    throw new ModelsError('BAD_ARGUMENT', `cannot start from ${dir}: no readable manifest.json and tfjs/ model there`, { cause });
  }
  let why: string | undefined;
  if (!isDeepStrictEqual(manifest.labels, [...labels])) {
    why = `its labels [${manifest.labels.join(', ')}] are not the dataset's [${labels.join(', ')}]`;
  } else if (!isDeepStrictEqual(manifest.preprocessing, PreprocessingSchema.parse(spec))) {
    why = "its preprocessing differs from this job's";
  }
  if (why === undefined) return earlier;
  earlier.dispose();
  throw new ModelsError('BAD_ARGUMENT', `cannot start from ${dir}: ${why}`);
}

/** Gives `model` the weights of `earlier`; refuses when their architectures differ. */
function copyWeights(earlier: LayersModel, model: LayersModel, dir: string): void {
  const from = earlier.getWeights();
  const to = model.getWeights();
  if (from.length !== to.length || !from.every((w, i) => isDeepStrictEqual(w.shape, to[i]!.shape))) {
    throw new ModelsError(
      'BAD_ARGUMENT',
      `cannot start from ${dir}: its architecture differs from this job's (the weight shapes do not match)`,
    );
  }
  model.setWeights(from);
}

/** Runs a whole training job; see {@link TrainJob}. */
export async function runTrainingJob(job: TrainJob): Promise<RunReport> {
  const log = job.log ?? (() => {});
  const params = {
    epochs: job.epochs ?? defaultTrainOptions.epochs,
    batchSize: job.batchSize ?? defaultTrainOptions.batchSize,
    learningRate: job.learningRate ?? defaultTrainOptions.learningRate,
    seed: job.seed ?? defaultTrainOptions.seed,
    split: job.split ?? defaultSplit,
  };
  const backend = await selectBackend(job.backend);
  log(`backend: ${backend.name}${backend.skipped.length ? ` (skipped ${backend.skipped.map((s) => s.name).join(', ')})` : ''}`);
  const { dataset: ds, preprocessing: spec } = job;
  const earlier = job.initFrom ? await earlierRun(job.initFrom, ds.labels, spec) : undefined;
  try {
    return await trainFrom(job, params, backend, earlier, log);
  } finally {
    earlier?.dispose();
  }
}

/** The run itself, from the split on; `earlier` is the checked model of `job.initFrom`. */
async function trainFrom(
  job: TrainJob,
  params: RunReport['params'],
  backend: BackendInfo,
  earlier: LayersModel | undefined,
  log: (line: string) => void,
): Promise<RunReport> {
  const { dataset: ds, preprocessing: spec } = job;
  const parts = splitItems(ds.items, params.split);
  const problems: ImportProblem[] = [];
  const prep = async (name: string, items: typeof ds.items) => {
    let last = 0;
    return toTensorData(items, ds.labels, spec, {
      problems,
      onProgress: (done, total) => {
        if (done === total || done - last >= 2000) {
          last = done;
          log(`preprocessing ${name}: ${done}/${total}`);
        }
      },
    });
  };
  const train = await prep('train', parts.train);
  const validation = await prep('validation', parts.validation);
  const test = await prep('test', parts.test);
  const k = ds.labels.length;
  const model = buildArchitecture(job.architecture, k, { size: spec.width, seed: params.seed });
  if (earlier) {
    try {
      copyWeights(earlier, model, job.initFrom!);
    } catch (error) {
      model.dispose();
      throw error;
    }
    log(`starting from the weights of ${job.initFrom} (fine-tuning)`);
  }
  const result = await trainModel(model, train, k, {
    ...params,
    validation,
    signal: job.signal,
    onEpoch: (m) =>
      log(
        `epoch ${m.epoch}/${m.epochs}: loss ${m.loss.toFixed(4)} acc ${(m.accuracy * 100).toFixed(2)}%` +
          (m.valAccuracy === undefined ? '' : ` val_acc ${(m.valAccuracy * 100).toFixed(2)}%`) +
          ` ${m.seconds.toFixed(1)}s (${Math.round(m.imagesPerSecond)} img/s)`,
      ),
  });
  const testEval = evaluatePredictions(predictAll(model, test), test.y, ds.labels);
  const trainEval = evaluatePredictions(predictAll(model, train), train.y, ds.labels);
  const valAcc =
    validation.y.length > 0 ? evaluatePredictions(predictAll(model, validation), validation.y, ds.labels).accuracy : testEval.accuracy;
  const overfit = overfitCheck(trainEval.accuracy, valAcc);
  log(
    `test accuracy ${(testEval.accuracy * 100).toFixed(2)}% on ${test.y.length} images; train/validation gap ${(overfit.gap * 100).toFixed(2)} points`,
  );

  await mkdir(job.outDir, { recursive: true });
  const artifacts = {
    tfjs: join(job.outDir, 'tfjs'),
    onnx: join(job.outDir, 'model.onnx'),
    manifest: join(job.outDir, 'manifest.json'),
    metrics: join(job.outDir, 'metrics.json'),
    confusion: join(job.outDir, 'confusion.svg'),
  };
  await saveModel(model, artifacts.tfjs);
  const onnx = exportToOnnx(model, onnxNaming(job.modelName, job.version));
  await writeFile(artifacts.onnx, onnx);
  const manifest = ModelManifestSchema.parse({
    v: 1,
    name: job.modelName,
    version: job.version,
    labels: ds.labels,
    input: { name: 'input', shape: [-1, spec.height, spec.width, spec.channels], layout: 'NHWC', dtype: 'float32' },
    output: { name: 'probabilities', kind: 'probabilities' },
    preprocessing: spec,
    model: { format: 'onnx', sha256: createHash('sha256').update(onnx).digest('hex'), length: onnx.byteLength },
    createdAt: new Date().toISOString(),
    datasetHash: datasetHash(ds),
  });
  await writeFile(artifacts.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  const report: RunReport = {
    modelName: job.modelName,
    version: job.version,
    architecture: job.architecture,
    params,
    // Which training step ran goes with the backend's details (the hub records them with the run).
    backend: { ...backend, details: { ...backend.details, trainStep: result.step } },
    datasetHash: manifest.datasetHash!,
    counts: { train: train.y.length, validation: validation.y.length, test: test.y.length },
    history: result.history,
    test: testEval,
    overfit,
    trainSeconds: result.seconds,
    imagesPerSecond: result.imagesPerSecond,
    problems,
    ...(job.initFrom ? { initFrom: job.initFrom } : {}),
    manifest,
    artifacts,
  };
  await writeFile(artifacts.metrics, `${JSON.stringify({ ...report, manifest: undefined }, null, 2)}\n`);
  await writeFile(artifacts.confusion, confusionMatrixSvg(testEval, `${job.modelName} v${job.version}`));
  model.dispose();
  return report;
}
