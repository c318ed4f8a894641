/**
 * The benchmark's model: the MNIST CNN trained for a few epochs on the bundled digits, cached in
 * `.cache/edge-agent-bench/` (git-ignored) so later runs skip the training.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mnistJob, runTrainingJob } from '@edgeloop/models';
import { ROOT } from '@edgeloop/tests/support/bench-report';

export interface BenchModel {
  name: string;
  dir: string;
  onnx: Uint8Array;
  manifestText: string;
  /** Test accuracy from the training run. */
  accuracy: number;
}

const EPOCHS = 3;

export async function mnistModel(log: (line: string) => void): Promise<BenchModel> {
  const dir = join(ROOT, '.cache/edge-agent-bench', `mnist-cnn-e${EPOCHS}`);
  if (!existsSync(join(dir, 'accuracy.json'))) {
    log(`training the MNIST CNN for ${EPOCHS} epochs (cached in ${dir})`);
    const out = await mkdtemp(join(tmpdir(), 'edgeloop-agent-bench-train-'));
    try {
      const report = await runTrainingJob({ ...mnistJob(out, log), epochs: EPOCHS });
      await mkdir(dir, { recursive: true });
      await copyFile(report.artifacts.onnx, join(dir, 'model.onnx'));
      await copyFile(report.artifacts.manifest, join(dir, 'manifest.json'));
      await writeFile(join(dir, 'accuracy.json'), JSON.stringify({ accuracy: report.test.accuracy }));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }
  const manifestText = await readFile(join(dir, 'manifest.json'), 'utf8');
  return {
    name: (JSON.parse(manifestText) as { name: string }).name,
    dir,
    onnx: new Uint8Array(await readFile(join(dir, 'model.onnx'))),
    manifestText,
    accuracy: (JSON.parse(await readFile(join(dir, 'accuracy.json'), 'utf8')) as { accuracy: number }).accuracy,
  };
}
