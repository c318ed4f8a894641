/**
 * One leased job, end to end on the worker: download the snapshot manifest and its images, train
 * with `@edgeloop/models` (`runTrainingJob`), stream per-epoch metrics, upload the artifacts and
 * complete. Any error fails the job (a NaN loss is `TRAINING_DIVERGED` from the trainer); losing
 * the lease aborts training and reports nothing (the hub already moved on).
 *
 * Job params (all optional): `architecture` (`mnist-cnn` | `rgb-cnn`), `preset` (`mnist` | `rgb`),
 * `size` (rgb side), `epochs`, `batchSize`, `learningRate`, `seed`, `backend`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { arch, cpus, hostname, platform, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  type ArchitectureName,
  type BackendName,
  type Dataset,
  ModelsError,
  mnistPreprocessing,
  rgbPreprocessing,
  runTrainingJob,
} from '@edgeloop/models';
import type { Preprocessing } from '@edgeloop/protocol';
import { type HubClient, type Lease, LeaseLost } from './client.js';

export interface TrainJobOptions {
  client: HubClient;
  lease: Lease;
  /** Force this backend (else the job's `backend` param, else the best available). */
  backend?: BackendName;
  log: (line: string) => void;
  /** Download requests in flight, 256 images each (default 4). */
  downloadConcurrency?: number;
  /**
   * The worker is stopping: training ends at the next batch and the job is released to the hub
   * (queued again at once, the attempt not counted) instead of held until its lease runs out.
   */
  signal?: AbortSignal;
}

export type JobOutcome = 'succeeded' | 'failed' | 'lease-lost' | 'released';

const EPOCH_LINE = /^epoch (\d+)\/\d+: loss (\S+) acc (\S+)%(?: val_acc (\S+)%)?/;

/**
 * The per-epoch values of one of `runTrainingJob`'s progress lines. `runTrainingJob` reports epochs
 * only through its log (see the report: an `onEpoch` hook in `TrainJob` would replace this).
 */
export function parseEpochLine(line: string): { epoch: number; metrics: Record<string, number> } | undefined {
  const m = EPOCH_LINE.exec(line);
  if (!m) return undefined;
  const metrics: Record<string, number> = { loss: Number(m[2]), accuracy: Number(m[3]) / 100 };
  if (m[4] !== undefined) metrics.val_accuracy = Number(m[4]) / 100;
  for (const [k, v] of Object.entries(metrics)) if (!Number.isFinite(v)) delete metrics[k];
  return { epoch: Number(m[1]), metrics };
}

function num(params: Lease['job']['params'], key: string): number | undefined {
  const v = params[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function preprocessingOf(params: Lease['job']['params']): { architecture: ArchitectureName; spec: Preprocessing } {
  const preset = params.preset ?? (params.architecture === 'rgb-cnn' ? 'rgb' : 'mnist');
  if (preset === 'rgb') return { architecture: 'rgb-cnn', spec: rgbPreprocessing(num(params, 'size') ?? 64) };
  return { architecture: params.architecture === 'rgb-cnn' ? 'rgb-cnn' : 'mnist-cnn', spec: mnistPreprocessing };
}

async function downloadDataset(options: TrainJobOptions): Promise<Dataset> {
  const { client, lease } = options;
  const manifest = await client.dataset(lease);
  const items: Dataset['items'] = new Array(manifest.items.length);
  // Batches of 256 ids, a few in flight: one request per image would cost more than the images.
  const batches: number[] = [];
  for (let from = 0; from < manifest.items.length; from += 256) batches.push(from);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < batches.length) {
      const from = batches[next++]!;
      const part = manifest.items.slice(from, from + 256);
      const bytes = await client.samples(
        lease,
        part.map((item) => item.sampleId),
      );
      for (const [k, item] of part.entries())
        items[from + k] = { id: item.sampleId, label: item.label, source: `hub:${item.sampleId}`, bytes: bytes[k]! };
      const before = done;
      done += part.length;
      // Progress every 2,048 images (8 requests); the end is logged below.
      if (Math.floor(done / 2048) > Math.floor(before / 2048)) options.log(`download: ${done}/${items.length} images`);
    }
  };
  await Promise.all(Array.from({ length: options.downloadConcurrency ?? 4 }, worker));
  options.log(`downloaded ${items.length} images of dataset ${manifest.id.slice(0, 12)}`);
  return { name: manifest.name, labels: manifest.labels, items };
}

function hardware(): Record<string, unknown> {
  const cpu = cpus();
  return {
    host: hostname(),
    platform: platform(),
    arch: arch(),
    cpuModel: cpu[0]?.model ?? 'unknown',
    cpuCores: cpu.length,
    memoryBytes: totalmem(),
    node: process.version,
  };
}

const ARTIFACTS: [file: string, name: string, type: string][] = [
  ['model.onnx', 'model.onnx', 'application/octet-stream'],
  ['manifest.json', 'manifest.json', 'application/json'],
  ['metrics.json', 'metrics.json', 'application/json'],
  ['confusion.svg', 'confusion.svg', 'image/svg+xml'],
  ['tfjs/model.json', 'model.json', 'application/json'],
  ['tfjs/weights.bin', 'weights.bin', 'application/octet-stream'],
];

/**
 * Counts the non-finite float32 weights in the saved tfjs model. tfjs's cross-entropy clips the
 * probabilities, so a model whose weights went NaN reports a finite loss (−ln 1e-7 ≈ 16.12) and
 * `runTrainingJob`'s NaN-loss check does not fire; the weights tell.
 */
export async function nonFiniteWeights(tfjsDir: string): Promise<{ bad: number; total: number }> {
  const json = JSON.parse(await readFile(join(tfjsDir, 'model.json'), 'utf8')) as { weightsManifest: { weights: { dtype?: string }[] }[] };
  const dtypes = json.weightsManifest.flatMap((g) => g.weights.map((w) => w.dtype ?? 'float32'));
  if (dtypes.some((d) => d !== 'float32')) return { bad: 0, total: 0 };
  const bytes = await readFile(join(tfjsDir, 'weights.bin'));
  const values = new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4));
  let bad = 0;
  for (const v of values) if (!Number.isFinite(v)) bad++;
  return { bad, total: values.length };
}

/** Runs the leased job to its end; never throws for a job failure (it is reported to the hub). */
export async function trainLeasedJob(options: TrainJobOptions): Promise<JobOutcome> {
  const { client, lease, log } = options;
  const abort = new AbortController();
  let lost: LeaseLost | undefined;
  const stop = () => abort.abort(new Error('the trainer is stopping'));
  options.signal?.addEventListener('abort', stop, { once: true });
  const beat = setInterval(
    () => {
      client.heartbeat(lease).catch((err) => {
        if (err instanceof LeaseLost) {
          lost = err;
          abort.abort(err);
        } else log(`heartbeat failed: ${err instanceof Error ? err.message : String(err)}`);
      });
    },
    Math.max(200, lease.heartbeatMs),
  );
  const cpuStart = process.cpuUsage();
  const cpuSeconds = () => {
    const u = process.cpuUsage(cpuStart);
    return (u.user + u.system) / 1e6;
  };
  const outDir = await mkdtemp(join(tmpdir(), 'edgeloop-trainer-'));
  // Reports go out one after another, in order: `start` must land before the first epoch's metrics.
  let posting: Promise<void> = Promise.resolve();
  const post = (call: () => Promise<void>) => {
    posting = posting.then(call).catch((err: unknown) => {
      if (err instanceof LeaseLost) {
        lost = err;
        abort.abort(err);
      }
      throw err;
    });
    posting.catch(() => undefined);
  };
  try {
    const params = lease.job.params;
    options.signal?.throwIfAborted();
    const dataset = await downloadDataset(options);
    options.signal?.throwIfAborted();
    const { architecture, spec } = preprocessingOf(params);
    let started = false;
    const report = await runTrainingJob({
      dataset,
      architecture,
      preprocessing: spec,
      modelName: lease.job.model,
      version: 1,
      ...(num(params, 'epochs') !== undefined ? { epochs: num(params, 'epochs') } : {}),
      ...(num(params, 'batchSize') !== undefined ? { batchSize: num(params, 'batchSize') } : {}),
      ...(num(params, 'learningRate') !== undefined ? { learningRate: num(params, 'learningRate') } : {}),
      ...(num(params, 'seed') !== undefined ? { seed: num(params, 'seed') } : {}),
      ...((options.backend ?? params.backend) ? { backend: (options.backend ?? params.backend) as BackendName } : {}),
      outDir,
      signal: abort.signal,
      log: (line) => {
        log(line);
        if (!started && line.startsWith('backend: ')) {
          started = true;
          const backend = line.slice(9).split(' ')[0]!;
          post(() => client.start(lease, backend, hardware()));
        }
        const epoch = parseEpochLine(line);
        if (epoch && Object.keys(epoch.metrics).length > 0) post(() => client.metrics(lease, epoch.epoch, epoch.metrics));
      },
    });
    await posting;
    const weights = await nonFiniteWeights(join(outDir, 'tfjs'));
    if (weights.bad > 0)
      throw new ModelsError(
        'TRAINING_DIVERGED',
        `${weights.bad} of ${weights.total} weights are NaN or infinite after training; lower the learning rate`,
      );
    for (const [file, name, type] of ARTIFACTS) await client.artifact(lease, name, await readFile(join(outDir, file)), type);
    const result = {
      testAccuracy: report.test.accuracy,
      counts: report.counts,
      backend: report.backend.name,
      backendDetails: report.backend.details,
      trainSeconds: report.trainSeconds,
      imagesPerSecond: report.imagesPerSecond,
      datasetHash: report.datasetHash,
      overfitGap: report.overfit.gap,
      problems: report.problems.length,
    };
    await client.complete(lease, result, { cpuSeconds: cpuSeconds() });
    log(`job ${lease.job.id} succeeded: test accuracy ${(report.test.accuracy * 100).toFixed(1)}%`);
    return 'succeeded';
  } catch (error) {
    await posting.catch(() => undefined);
    if (lost || error instanceof LeaseLost) {
      log(`job ${lease.job.id}: lease lost, stopping (${(lost ?? (error as Error)).message})`);
      return 'lease-lost';
    }
    if (options.signal?.aborted) {
      // Whatever the error is, it comes from being cut short: hand the job back, do not fail it.
      try {
        await client.release(lease, 'the trainer is stopping');
        log(`job ${lease.job.id}: released to the hub (the trainer is stopping)`);
      } catch (err) {
        log(
          `job ${lease.job.id}: could not release it (${err instanceof Error ? err.message : String(err)}); it is queued again when its lease runs out`,
        );
      }
      return 'released';
    }
    const message =
      error instanceof ModelsError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    log(`job ${lease.job.id} failed: ${message}`);
    try {
      await client.fail(lease, message, { cpuSeconds: cpuSeconds() });
    } catch (err) {
      log(`could not report the failure: ${err instanceof Error ? err.message : String(err)}`);
    }
    return 'failed';
  } finally {
    clearInterval(beat);
    options.signal?.removeEventListener('abort', stop);
    await rm(outDir, { recursive: true, force: true });
  }
}
