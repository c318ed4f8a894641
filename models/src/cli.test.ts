import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ModelManifestSchema } from '@edgeloop/protocol';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solid } from '../test/images.js';

const run = promisify(execFile);
const cli = new URL('./cli.ts', import.meta.url).pathname;
const edgeloopModels = (args: string[]) =>
  run(process.execPath, ['--conditions=@edgeloop/source', '--import', 'tsx', cli, ...args], {
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  });

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-cli-'));
  // A tiny photo dataset: bright yellow-ish "dandelion" vs green "grass" squares with noise.
  for (const [label, base] of [
    ['dandelion', [240, 210, 20]],
    ['grass', [40, 150, 40]],
  ] as const) {
    await mkdir(join(root, 'photos', label), { recursive: true });
    for (let i = 0; i < 24; i++) {
      const jitter = (v: number) => Math.max(0, Math.min(255, v + ((i * 37) % 41) - 20));
      await writeFile(
        join(root, 'photos', label, `${i}.png`),
        await solid('png', 40 + i, 36, [jitter(base[0]), jitter(base[1]), jitter(base[2])]),
      );
    }
  }
});

afterAll(() => rm(root, { recursive: true, force: true }));

/** `train` on the photo folder at 16×16 in batches of 8, with `epochs`, `lr` and more flags. */
const trainPhotos = (out: string, epochs: number, lr: number, ...more: string[]) =>
  edgeloopModels([
    'train',
    '--folder',
    join(root, 'photos'),
    '--size',
    '16',
    '--batch-size',
    '8',
    '--epochs',
    String(epochs),
    '--lr',
    String(lr),
    '--out',
    out,
    ...more,
  ]);

describe('edgeloop-models CLI', () => {
  it('trains on a folder, writes every artifact, then evaluates and re-exports', async () => {
    const out = join(root, 'run');
    const train = await trainPhotos(out, 12, 0.01, '--name', 'dandelion-grass');
    expect(train.stderr).toMatch(/epoch 12\/12: loss/);
    expect(train.stderr).toMatch(/backend: wasm/);
    const summary = JSON.parse(train.stdout) as { accuracy: number; backend: string };
    expect(summary.backend).toBe('wasm');
    expect(summary.accuracy).toBeGreaterThanOrEqual(0.9);

    const manifest = ModelManifestSchema.parse(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')));
    expect(manifest).toMatchObject({
      name: 'dandelion-grass',
      labels: ['dandelion', 'grass'],
      input: { shape: [-1, 16, 16, 3], layout: 'NHWC' },
    });
    const onnx = await readFile(join(out, 'model.onnx'));
    expect(manifest.model.length).toBe(onnx.byteLength);
    const session = await ort.InferenceSession.create(onnx);
    expect(session.inputNames).toEqual(['input']);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.backend.name).toBe('wasm');
    expect(metrics.history).toHaveLength(12);
    expect(metrics.datasetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(metrics.overfit).toHaveProperty('gap');
    expect(await readFile(join(out, 'confusion.svg'), 'utf8')).toMatch(/^<svg/);

    const evaluated = await edgeloopModels([
      'eval',
      '--model',
      out,
      '--folder',
      join(root, 'photos'),
      '--split',
      'all',
      '--out',
      join(root, 'eval'),
    ]);
    expect(JSON.parse(evaluated.stdout).count).toBe(48);

    const exported = await edgeloopModels(['export', '--model', out, '--out', join(root, 'again.onnx')]);
    expect(JSON.parse(exported.stdout).sha256).toBe(manifest.model.sha256);

    // Fine-tuning from that run: it says where it started, and the run records it.
    const tuned = await trainPhotos(join(root, 'tuned'), 1, 0.001, '--init-from', out);
    expect(tuned.stderr).toContain(`starting from the weights of ${out} (fine-tuning)`);
    expect(JSON.parse(await readFile(join(root, 'tuned', 'metrics.json'), 'utf8')).initFrom).toBe(out);
  });

  it('fails with a clear message and exit code 2 on bad arguments', async () => {
    const err = await edgeloopModels(['train', '--mnist', '--folder', 'x', '--out', root]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/BAD_ARGUMENT: give exactly one of --mnist, --folder DIR, --csv FILE/);
  });
});
