/**
 * The acceptance run: train the MNIST CNN on the bundled digits with the default settings on the
 * best backend, and report test accuracy on the held-out split and the wall time of the whole run
 * (preprocessing, training, evaluation and export included). Prints JSON.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistJob, runTrainingJob } from '../src/train/pipeline.js';

const start = performance.now();
const out = await mkdtemp(join(tmpdir(), 'edgeloop-mnist-'));
const report = await runTrainingJob(mnistJob(out, (line) => console.error(line)));
const seconds = (performance.now() - start) / 1000;
await rm(out, { recursive: true, force: true });
console.log(
  JSON.stringify({
    backend: report.backend.name,
    accuracy: report.test.accuracy,
    macroF1: report.test.macroF1,
    ece: report.test.ece,
    epochs: report.params.epochs,
    counts: report.counts,
    trainSeconds: report.trainSeconds,
    seconds,
  }),
);
