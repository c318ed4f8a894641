/**
 * `npm run bench:train`: training throughput of the MNIST CNN on every tfjs backend this machine
 * has, against PyTorch-CPU with the same architecture, plus one full MNIST training run for
 * accuracy and wall time. Writes bench-results/train.json.
 *
 * wasm also runs on one thread and with tfjs's own training step (EDGELOOP_TRAIN_FUSED=0), so
 * train.json says what the threads and the fused conv ops bring.
 *
 * Environment: EDGELOOP_BENCH_STEPS (default 40), EDGELOOP_BENCH_PAIRS (wasm/PyTorch pairs, default
 * 3), EDGELOOP_PYTHON (a python with torch; default python3), EDGELOOP_BENCH_SKIP_FULL=1 to skip
 * the full run.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { median, printTable, ROOT, ratio, runWorker, writeResults } from './report.js';

const steps = Number(process.env.EDGELOOP_BENCH_STEPS ?? 40);
const PAIRS = Number(process.env.EDGELOOP_BENCH_PAIRS ?? 3);
const batch = 64;
const inCI = process.env.CI === 'true';
const results: Record<string, Record<string, unknown>> = {};

const python = process.env.EDGELOOP_PYTHON ?? 'python3';

/** One PyTorch-CPU measurement with `threads` threads, or why there is none. */
function pytorch(threads: number): Record<string, unknown> {
  const torch = spawnSync(python, [join(ROOT, 'models/bench/pytorch_train.py'), String(steps), String(batch), String(threads)], {
    encoding: 'utf8',
  });
  if (torch.status === 0) return { available: true, ...(JSON.parse(torch.stdout.trim().split('\n').pop()!) as object) };
  const reason = `PyTorch is not available to ${python}: ${(torch.stderr || String(torch.error)).trim().split('\n').pop()}`;
  if (inCI) throw new Error(`CI=true: ${reason}`);
  console.error(`notice: skipping the PyTorch reference (${reason}); install torch or set EDGELOOP_PYTHON`);
  return { available: false, reason };
}

const tfjs = (backend: string, n: number, env: NodeJS.ProcessEnv = {}) => {
  console.error(
    `bench:train: ${backend}${env.EDGELOOP_TRAIN_THREADS ? ` (${env.EDGELOOP_TRAIN_THREADS} thread)` : ''}${env.EDGELOOP_TRAIN_FUSED === '0' ? " (tfjs's trainOnBatch)" : ''}, ${n} steps of ${batch}...`,
  );
  return runWorker('models/bench/train-worker.ts', [backend, String(n), String(batch)], undefined, env);
};

for (const backend of ['tensorflow-gpu', 'tensorflow']) results[backend] = tfjs(backend, steps);

// wasm against PyTorch-CPU on all cores (the official reference), in PAIRS adjacent pairs whose
// order alternates: this machine's speed drifts by up to 2x within minutes, so each pair's own
// ratio is taken, and the ratio reported is their median (as bench:browser does).
const wasmRuns: Record<string, unknown>[] = [];
const torchRuns: Record<string, unknown>[] = [];
for (let pair = 0; pair < PAIRS; pair++) {
  const wasmFirst = pair % 2 === 0;
  if (wasmFirst) wasmRuns.push(tfjs('wasm', steps));
  const torch = pytorch(cpus().length);
  torchRuns.push(torch);
  if (!wasmFirst) wasmRuns.push(tfjs('wasm', steps));
  if (!torch.available || !wasmRuns.at(-1)!.available) break; // nothing to pair with
}
const ipsOf = (r: Record<string, unknown>) => (r.available ? (r.images_per_second as number) : undefined);
/** The run whose images/s is the median of `runs` (the first when none is available). */
const medianRun = (runs: Record<string, unknown>[]) => {
  const m = median(runs.map(ipsOf).filter((x) => x !== undefined));
  return runs.find((r) => ipsOf(r) === m) ?? runs[0]!;
};
const pairs = wasmRuns.map((w, i) => {
  const [wasm, torch] = [ipsOf(w), ipsOf(torchRuns[i] ?? {})];
  return { wasm, pytorch: torch, ratio: wasm !== undefined && torch !== undefined ? wasm / torch : undefined };
});
const pairRatios = pairs.flatMap((p) => (p.ratio === undefined ? [] : [p.ratio]));
results.wasm = medianRun(wasmRuns);
// The cpu backend is ~50x slower: fewer steps keep the run short without changing images/s.
results.cpu = tfjs('cpu', Math.max(2, Math.round(steps / 10)));
results['pytorch-cpu'] = medianRun(torchRuns);
// The same wasm run with tfjs's own training step (EDGELOOP_TRAIN_FUSED=0): what the fused conv ops
// of fused-step.ts bring.
results['wasm-unfused'] = tfjs('wasm', steps, { EDGELOOP_TRAIN_FUSED: '0' });
// One thread on each side: tfjs-wasm with our kernels' worker threads off (EDGELOOP_TRAIN_THREADS=1;
// tfjs's own kernels run on one thread in Node), and PyTorch limited to one.
results['wasm-1thread'] = tfjs('wasm', steps, { EDGELOOP_TRAIN_THREADS: '1' });
results['pytorch-cpu-1thread'] = pytorch(1);

let full: Record<string, unknown> | undefined;
if (process.env.EDGELOOP_BENCH_SKIP_FULL !== '1') {
  console.error('bench:train: full MNIST training run on the best backend...');
  full = runWorker('models/bench/mnist-full.ts', []);
}

const ips = (b: string) => ipsOf(results[b] ?? {});
const ratios = {
  wasm_vs_cpu: ratio(ips('wasm'), ips('cpu')),
  // The median of the pairs' own ratios (see above); each pair is in `pairs`.
  wasm_vs_pytorch: pairRatios.length > 0 ? median(pairRatios) : null,
  wasm_vs_pytorch_1thread: ratio(ips('wasm-1thread'), ips('pytorch-cpu-1thread')),
  wasm_threads_vs_1thread: ratio(ips('wasm'), ips('wasm-1thread')),
  wasm_fused_vs_unfused: ratio(ips('wasm'), ips('wasm-unfused')),
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
  { ratio: 'wasm / cpu', value: ratios.wasm_vs_cpu?.toFixed(1) ?? '-', note: '' },
  {
    ratio: 'wasm / pytorch-cpu',
    value: ratios.wasm_vs_pytorch?.toFixed(2) ?? '-',
    note: `median of ${pairRatios.length} adjacent pairs: ${pairRatios.map((r) => r.toFixed(2)).join(', ')}`,
  },
  { ratio: 'wasm / pytorch-cpu, 1 thread each', value: ratios.wasm_vs_pytorch_1thread?.toFixed(2) ?? '-', note: '' },
  {
    ratio: 'wasm, all threads / 1 thread',
    value: ratios.wasm_threads_vs_1thread?.toFixed(2) ?? '-',
    note: `${(results.wasm?.details as Record<string, unknown> | undefined)?.wasmKernelThreads ?? '?'} threads for our convolutions`,
  },
  {
    ratio: 'wasm, fused step / trainOnBatch',
    value: ratios.wasm_fused_vs_unfused?.toFixed(2) ?? '-',
    note: 'conv layers as one op (EDGELOOP_TRAIN_FUSED=0 for the other)',
  },
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
  pairs: { wasm_vs_pytorch: pairs },
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
