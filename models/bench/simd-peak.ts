/**
 * `npm run bench:simd`: the most multiply-adds per second that WebAssembly SIMD reaches on this
 * CPU, in Node (where tfjs-wasm trains) and in Chromium (where onnxruntime-web infers). It is the
 * ceiling for every wasm kernel in bench:train, bench:infer and bench:browser, so a kernel's own
 * rate can be read as a share of it.
 *
 * The kernel is 12 independent f32x4 accumulators in registers, with no memory traffic, written
 * two ways: `f32x4.mul` then `f32x4.add` (plain SIMD, what the shipped tfjs and onnxruntime wasm
 * builds use), and `f32x4.relaxed_madd` (relaxed SIMD, which may fuse into one FMA instruction).
 * Node 20 needs `--experimental-wasm-relaxed-simd` for the second; it is set here at startup.
 * Writes bench-results/simd-peak.json.
 */
import { setFlagsFromString } from 'node:v8';
import { hasChromium, launchChromium } from '@edgeloop/tests/support/chromium';
import wabtInit from 'wabt';
import { printTable, writeResults } from './report.js';

setFlagsFromString('--experimental-wasm-relaxed-simd');

const ACCUMULATORS = 12;
const ITERATIONS = 20_000_000;
const ROUNDS = 5;

/** The text of a module exporting `plain(n)` and `fused(n)`: n iterations of ACCUMULATORS × 4 multiply-adds. */
function moduleText(): string {
  const locals = Array.from({ length: ACCUMULATORS }, (_, i) => `(local $a${i} v128)`).join(' ');
  const step = (fused: boolean) =>
    Array.from({ length: ACCUMULATORS }, (_, i) =>
      fused
        ? `(local.set $a${i} (f32x4.relaxed_madd (local.get $x) (local.get $y) (local.get $a${i})))`
        : `(local.set $a${i} (f32x4.add (local.get $a${i}) (f32x4.mul (local.get $x) (local.get $y))))`,
    ).join('\n');
  // Summing the accumulators into the result keeps the engine from dropping the loop.
  const sum = Array.from({ length: ACCUMULATORS - 1 }, (_, i) => `(local.set $a0 (f32x4.add (local.get $a0) (local.get $a${i + 1})))`).join(
    '\n',
  );
  const fn = (name: string, fused: boolean) => `
  (func (export "${name}") (param $n i32) (result f32) ${locals} (local $x v128) (local $y v128)
    (local.set $x (f32x4.splat (f32.const 1.0001)))
    (local.set $y (f32x4.splat (f32.const 0.9999)))
    (loop $l
      ${step(fused)}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    ${sum}
    (f32x4.extract_lane 0 (local.get $a0)))`;
  return `(module ${fn('plain', false)} ${fn('fused', true)})`;
}

const wabt = await wabtInit();
const binary = wabt.parseWat('simd-peak.wat', moduleText(), { simd: true, relaxed_simd: true }).toBinary({}).buffer;
const macsPerCall = ITERATIONS * ACCUMULATORS * 4;

interface MeasureJob {
  bytes: number[];
  iterations: number;
  rounds: number;
  macsPerIteration: number;
}

/** Best GMAC/s of `rounds` calls of each function, after a warm-up call; self-contained, to run in a page too. */
async function measure({ bytes, iterations, rounds, macsPerIteration }: MeasureJob): Promise<Record<string, number>> {
  const { instance } = await WebAssembly.instantiate(new Uint8Array(bytes));
  const out: Record<string, number> = {};
  for (const name of ['plain', 'fused']) {
    const run = instance.exports[name] as (n: number) => number;
    run(iterations / 10);
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      run(iterations);
      best = Math.min(best, performance.now() - t0);
    }
    out[name] = (iterations * macsPerIteration) / best / 1e6;
  }
  return out;
}

const job: MeasureJob = { bytes: Array.from(binary), iterations: ITERATIONS, rounds: ROUNDS, macsPerIteration: ACCUMULATORS * 4 };
const node = await measure(job);
let chromium: Record<string, number> | undefined;
if (hasChromium) {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    chromium = await page.evaluate(measure, job);
  } finally {
    await browser.close();
  }
} else if (process.env.CI === 'true') {
  throw new Error('CI=true: bench:simd needs Chromium (apt-get install -y chromium)');
} else {
  console.error('notice: no Chromium; measuring Node only');
}

const rows = [
  { engine: `Node ${process.versions.node} (V8 ${process.versions.v8})`, ...node },
  ...(chromium ? [{ engine: 'Chromium', ...chromium }] : []),
];
printTable(`WebAssembly SIMD peak, GMAC/s (${ACCUMULATORS} f32x4 accumulators, best of ${ROUNDS})`, [
  ...rows.map((r) => ({ engine: r.engine, 'mul+add': r.plain!.toFixed(1), 'relaxed_madd (FMA)': r.fused!.toFixed(1) })),
]);
console.log(`(${(macsPerCall / 1e9).toFixed(2)} G multiply-adds per call)`);
console.log(`\nwrote ${writeResults('simd-peak', { accumulators: ACCUMULATORS, node_gmacs: node, chromium_gmacs: chromium ?? null })}`);
