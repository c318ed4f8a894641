#!/usr/bin/env node
/**
 * `edgeloop-models`: train, evaluate and export models without the hub.
 *
 *   edgeloop-models train  --mnist | --folder DIR | --csv FILE  --out DIR  [options]
 *   edgeloop-models eval   --model DIR  --mnist | --folder DIR | --csv FILE  [--split test|all] [--out DIR]
 *   edgeloop-models export --model DIR  --out FILE.onnx
 *   edgeloop-models backends
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ModelManifestSchema } from '@edgeloop/protocol';
import type { ArchitectureName } from './architectures.js';
import { importCsv } from './datasets/csv.js';
import { importFolder } from './datasets/folder.js';
import { loadMnist, mnistPreprocessing } from './datasets/mnist.js';
import { splitItems } from './datasets/split.js';
import { toTensorData } from './datasets/tensors.js';
import type { Dataset } from './datasets/types.js';
import { ModelsError } from './errors.js';
import { confusionMatrixSvg } from './evaluate/confusion-svg.js';
import { evaluatePredictions } from './evaluate/metrics.js';
import { exportToOnnx } from './export/onnx.js';
import { loadModel } from './io.js';
import { BACKEND_ORDER, type BackendName, selectBackend } from './train/backend.js';
import { onnxNaming, rgbPreprocessing, runTrainingJob } from './train/pipeline.js';
import { predictAll } from './train/train.js';

const USAGE = `usage:
  edgeloop-models train  (--mnist | --folder DIR | --csv FILE) --out DIR
                         [--arch mnist-cnn|rgb-cnn] [--size 64] [--epochs 8] [--batch-size 64]
                         [--lr 0.002] [--seed 1] [--backend ${BACKEND_ORDER.join('|')}]
                         [--name NAME] [--version 1] [--init-from RUN_DIR]
  edgeloop-models eval   --model DIR (--mnist | --folder DIR | --csv FILE) [--split test|all] [--out DIR]
  edgeloop-models export --model DIR --out FILE.onnx
  edgeloop-models backends`;

const options = {
  mnist: { type: 'boolean' },
  folder: { type: 'string' },
  csv: { type: 'string' },
  out: { type: 'string' },
  model: { type: 'string' },
  arch: { type: 'string' },
  size: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  split: { type: 'string' },
  'init-from': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function num(flags: Flags, key: 'size' | 'epochs' | 'batch-size' | 'lr' | 'seed' | 'version'): number | undefined {
  const v = flags[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new ModelsError('BAD_ARGUMENT', `--${key} must be a positive number, not "${v}"`);
  return n;
}

async function loadDataset(flags: Flags): Promise<Dataset> {
  const given = [flags.mnist, flags.folder, flags.csv].filter(Boolean).length;
  if (given !== 1) throw new ModelsError('BAD_ARGUMENT', 'give exactly one of --mnist, --folder DIR, --csv FILE');
  const progress = (what: string) => (done: number, total: number) => {
    if (done === total || done % 200 === 0) console.error(`${what}: ${done}/${total}`);
  };
  if (flags.mnist) return loadMnist();
  const result = flags.folder
    ? await importFolder(flags.folder, { onProgress: progress('importing') })
    : await importCsv(await readFile(flags.csv!, 'utf8'), { onProgress: progress('downloading') });
  for (const p of result.problems) console.error(`skipped ${p.source}: ${p.reason}`);
  return result.dataset;
}

async function train(flags: Flags) {
  if (!flags.out) throw new ModelsError('BAD_ARGUMENT', '--out DIR is required');
  const ds = await loadDataset(flags);
  const arch = (flags.arch ?? (flags.mnist ? 'mnist-cnn' : 'rgb-cnn')) as ArchitectureName;
  if (arch !== 'mnist-cnn' && arch !== 'rgb-cnn') throw new ModelsError('BAD_ARGUMENT', `unknown --arch ${arch}`);
  const backend = flags.backend as BackendName | undefined;
  if (backend && !BACKEND_ORDER.includes(backend)) throw new ModelsError('BAD_ARGUMENT', `unknown --backend ${backend}`);
  const report = await runTrainingJob({
    dataset: ds,
    architecture: arch,
    preprocessing: arch === 'mnist-cnn' ? mnistPreprocessing : rgbPreprocessing(num(flags, 'size') ?? 64),
    modelName: flags.name ?? ds.name.replace(/[^A-Za-z0-9._-]/g, '-'),
    version: num(flags, 'version') ?? 1,
    epochs: num(flags, 'epochs'),
    batchSize: num(flags, 'batch-size'),
    learningRate: num(flags, 'lr'),
    seed: num(flags, 'seed'),
    backend,
    ...(flags['init-from'] ? { initFrom: flags['init-from'] } : {}),
    outDir: flags.out,
    log: (line) => console.error(line),
  });
  console.log(JSON.stringify({ accuracy: report.test.accuracy, backend: report.backend.name, artifacts: report.artifacts }, null, 2));
}

async function readManifest(dir: string) {
  return ModelManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
}

async function evaluate(flags: Flags) {
  if (!flags.model) throw new ModelsError('BAD_ARGUMENT', '--model DIR is required');
  await selectBackend(flags.backend as BackendName | undefined);
  const manifest = await readManifest(flags.model);
  const model = await loadModel(join(flags.model, 'tfjs'));
  const ds = await loadDataset(flags);
  const items = flags.split === 'all' ? ds.items : splitItems(ds.items).test;
  const data = await toTensorData(
    items.filter((i) => manifest.labels.includes(i.label)),
    manifest.labels,
    manifest.preprocessing,
  );
  const e = evaluatePredictions(predictAll(model, data), data.y, manifest.labels);
  if (flags.out) {
    await mkdir(flags.out, { recursive: true });
    await writeFile(join(flags.out, 'eval.json'), `${JSON.stringify(e, null, 2)}\n`);
    await writeFile(join(flags.out, 'confusion.svg'), confusionMatrixSvg(e, `${manifest.name} v${manifest.version}`));
  }
  console.log(JSON.stringify({ accuracy: e.accuracy, macroF1: e.macroF1, ece: e.ece, count: e.count }, null, 2));
}

async function exportOnnx(flags: Flags) {
  if (!flags.model || !flags.out) throw new ModelsError('BAD_ARGUMENT', '--model DIR and --out FILE.onnx are required');
  await selectBackend('cpu');
  const manifest = await readManifest(flags.model);
  const onnx = exportToOnnx(await loadModel(join(flags.model, 'tfjs')), onnxNaming(manifest.name, manifest.version));
  await writeFile(flags.out, onnx);
  const updated = {
    ...manifest,
    model: { format: 'onnx' as const, sha256: createHash('sha256').update(onnx).digest('hex'), length: onnx.byteLength },
  };
  await writeFile(`${flags.out.replace(/\.onnx$/, '')}.manifest.json`, `${JSON.stringify(updated, null, 2)}\n`);
  console.log(JSON.stringify({ onnx: flags.out, bytes: onnx.byteLength, sha256: updated.model.sha256 }));
}

async function backends() {
  const rows = [];
  for (const name of BACKEND_ORDER) {
    try {
      const info = await selectBackend(name);
      rows.push({ backend: name, available: true, details: info.details });
    } catch (e) {
      rows.push({ backend: name, available: false, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  console.log(JSON.stringify(rows, null, 2));
}

async function main() {
  const { values: flags, positionals } = parseArgs({ options, allowPositionals: true });
  const command = positionals[0];
  if (flags.help || !command) {
    console.log(USAGE);
    return;
  }
  if (command === 'train') await train(flags);
  else if (command === 'eval') await evaluate(flags);
  else if (command === 'export') await exportOnnx(flags);
  else if (command === 'backends') await backends();
  else throw new ModelsError('BAD_ARGUMENT', `unknown command "${command}"\n${USAGE}`);
}

main().catch((e: unknown) => {
  const code = e instanceof ModelsError ? e.code : 'ERROR';
  console.error(`edgeloop-models: ${code}: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = e instanceof ModelsError && e.code === 'BAD_ARGUMENT' ? 2 : 1;
});
