/**
 * `npm run bench:train`: training throughput of the MNIST CNN on every tfjs backend this machine
 * has, against PyTorch-CPU with the same architecture, plus one full MNIST training run for
 * accuracy and wall time. Writes bench-results/train.json.
 *
 * Environment: EDGELOOP_BENCH_STEPS (default 40), EDGELOOP_PYTHON (a python with torch; default
 * python3), EDGELOOP_BENCH_SKIP_FULL=1 to skip the full run.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { printTable, ROOT, ratio, runWorker, writeResults } from './report.js';

const steps = Number(process.env.EDGELOOP_BENCH_STEPS ?? 40);
const batch = 64;
const inCI = process.env.CI === 'true';
const results: Record<string, Record<string, unknown>> = {};

for (const backend of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']) {
  // The cpu backend is ~50x slower: fewer steps keep the run short without changing images/s.
  const n = backend === 'cpu' ? Math.max(2, Math.round(steps / 10)) : steps;
  console.error(`bench:train: ${backend}, ${n} steps of ${batch}...`);
  results[backend] = runWorker('models/bench/train-worker.ts', [backend, String(n), String(batch)]);
}

const python = process.env.EDGELOOP_PYTHON ?? 'python3';
// All cores (the official reference) and one thread (tfjs-wasm runs single-threaded in Node).
for (const [key, threads] of [
  ['pytorch-cpu', cpus().length],
  ['pytorch-cpu-1thread', 1],
] as const) {
  const torch = spawnSync(python, [join(ROOT, 'models/bench/pytorch_train.py'), String(steps), String(batch), String(threads)], {
    encoding: 'utf8',
  });
  if (torch.status === 0) results[key] = { available: true, ...(JSON.parse(torch.stdout.trim().split('\n').pop()!) as object) };
  else {
    const reason = `PyTorch is not available to ${python}: ${(torch.stderr || String(torch.error)).trim().split('\n').pop()}`;
    if (inCI) throw new Error(`CI=true: ${reason}`);
    console.error(`notice: skipping the PyTorch reference (${reason}); install torch or set EDGELOOP_PYTHON`);
    results[key] = { available: false, reason };
  }
}

let full: Record<string, unknown> | undefined;
if (process.env.EDGELOOP_BENCH_SKIP_FULL !== '1') {
  console.error('bench:train: full MNIST training run on the best backend...');
  full = runWorker('models/bench/mnist-full.ts', []);
}

const ips = (b: string) => (results[b]?.available ? (results[b]?.images_per_second as number) : undefined);
const ratios = {
  wasm_vs_cpu: ratio(ips('wasm'), ips('cpu')),
  wasm_vs_pytorch: ratio(ips('wasm'), ips('pytorch-cpu')),
  wasm_vs_pytorch_1thread: ratio(ips('wasm'), ips('pytorch-cpu-1thread')),
};
printTable(
  `MNIST CNN training throughput (batch ${batch})`,
  Object.entries(results).map(([b, r]) => ({
    backend: b,
    'images/s': r.available ? Math.round(r.images_per_second as number) : '-',
    note: r.available ? `${r.steps} steps` : String(r.reason).slice(0, 70),
  })),
);
printTable('Ratios (goal: wasm/cpu ≥ 50, wasm/pytorch ≥ 0.5)', [
  { ratio: 'wasm / cpu', value: ratios.wasm_vs_cpu?.toFixed(1) ?? '-' },
  { ratio: 'wasm / pytorch-cpu', value: ratios.wasm_vs_pytorch?.toFixed(2) ?? '-' },
  { ratio: 'wasm / pytorch-cpu, 1 thread', value: ratios.wasm_vs_pytorch_1thread?.toFixed(2) ?? '-' },
]);
if (full) {
  printTable('Full MNIST run (goal: ≥ 97% test accuracy in < 120 s)', [
    {
      backend: String(full.backend),
      accuracy: `${((full.accuracy as number) * 100).toFixed(2)}%`,
      seconds: (full.seconds as number).toFixed(1),
      epochs: String(full.epochs),
    },
  ]);
}
const file = writeResults('train', {
  steps,
  batch,
  backends: results,
  ratios,
  accuracy: { mnist_cnn: full?.accuracy ?? null },
  mnist_run: full ?? null,
  goals: {
    wasm_vs_cpu: { goal: 50, met: (ratios.wasm_vs_cpu ?? 0) >= 50 },
    wasm_vs_pytorch: { goal: 0.5, met: (ratios.wasm_vs_pytorch ?? 0) >= 0.5 },
    mnist_accuracy: { goal: 0.97, met: ((full?.accuracy as number) ?? 0) >= 0.97 },
    mnist_seconds: { goal: 120, met: ((full?.seconds as number) ?? Number.POSITIVE_INFINITY) < 120 },
  },
});
console.log(`\nwrote ${file}`);
