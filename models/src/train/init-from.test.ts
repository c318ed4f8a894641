/**
 * Fine-tuning (`TrainJob.initFrom`): a run started from an earlier run's weights begins where that
 * run ended, and a model that does not fit the job (other labels, preprocessing or architecture)
 * is refused before training, with a message that says why.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMnist, mnistPreprocessing } from '../datasets/mnist.js';
import type { Dataset } from '../datasets/types.js';
import { type RunReport, rgbPreprocessing, runTrainingJob, type TrainJob } from './pipeline.js';

let dir: string;
let digits: Dataset;
let first: RunReport;

const job = (out: string, extra: Partial<TrainJob> = {}): TrainJob => ({
  dataset: digits,
  architecture: 'mnist-cnn',
  preprocessing: mnistPreprocessing,
  modelName: 'digits',
  version: 1,
  epochs: 3,
  seed: 7,
  backend: 'wasm',
  outDir: join(dir, out),
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-init-from-'));
  digits = loadMnist({ perClass: 30 });
  first = await runTrainingJob(job('first'));
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('runTrainingJob with initFrom', () => {
  it("starts from the earlier run's weights: its first epoch is already better than the earlier run's first", async () => {
    const lines: string[] = [];
    const tuned = await runTrainingJob(job('tuned', { epochs: 1, initFrom: join(dir, 'first'), log: (l) => lines.push(l) }));
    expect(lines).toContain(`starting from the weights of ${join(dir, 'first')} (fine-tuning)`);
    expect(tuned.initFrom).toBe(join(dir, 'first'));
    expect(first.initFrom).toBeUndefined();
    // Same seed, same data: a fresh start repeats the first run's first epoch exactly (checked
    // below), so a lower loss comes from the weights it started from.
    expect(tuned.history[0]!.loss).toBeLessThan(first.history[0]!.loss);
    expect(tuned.history[0]!.loss).toBeLessThan(first.history.at(-1)!.loss * 1.5);
    const fresh = await runTrainingJob(job('fresh'));
    expect(fresh.history[0]!.loss).toBe(first.history[0]!.loss);
  }, 120_000);

  it('refuses a model whose labels, preprocessing or architecture differ, before training', async () => {
    const from = join(dir, 'first');
    const fewer: Dataset = { ...digits, labels: ['0', '1'], items: digits.items.filter((i) => i.label === '0' || i.label === '1') };
    await expect(runTrainingJob(job('x1', { dataset: fewer, initFrom: from }))).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining("its labels [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] are not the dataset's [0, 1]"),
    });
    await expect(
      runTrainingJob(job('x2', { preprocessing: { ...mnistPreprocessing, invert: true }, initFrom: from })),
    ).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining("its preprocessing differs from this job's"),
    });
    const rgb = rgbPreprocessing(28);
    await expect(runTrainingJob(job('x3', { architecture: 'rgb-cnn', preprocessing: rgb, initFrom: from }))).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining("its preprocessing differs from this job's"),
    });
    await expect(runTrainingJob(job('x4', { initFrom: join(dir, 'no-such-run') }))).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining('no readable manifest.json and tfjs/ model there'),
    });
  }, 120_000);
});
