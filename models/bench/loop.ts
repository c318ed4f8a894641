/**
 * `npm run bench:loop`: the learning-efficacy benchmark (see `loop/learning.ts`). Seeded: the same
 * backend and seed give the same numbers. Progress goes to stderr, one line per round; tables to
 * stdout; results to bench-results/loop.json and the plot to bench-results/loop.svg.
 *
 * Flags (or EDGELOOP_LOOP_<NAME> environment variables, e.g. EDGELOOP_LOOP_SHIFT, with `-` as `_`):
 * --seed, --shift (thick-slant | low-contrast-noise), --strength (of thick-slant; 1 is the shift as
 * shipped), --budget, --batch (round sizes, comma-separated, the last repeating: `50,50,100,250`),
 * --epochs, --replay, --lr (fine-tuning), --base-epochs (champion), --class-cap (batch diversity),
 * --score (margin | entropy | least_confidence), --target, --backend (wasm by default: the same
 * numbers on every machine).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { printTable, ROOT, writeResults } from '@edgeloop/tests/support/bench-report';
import type { BackendName } from '../src/index.js';
import { defaultLearningBenchOptions as d, type LearningBenchOptions, runLearningBench } from './loop/learning.js';
import { accuracyPlotSvg } from './loop/plot.js';
import type { UncertaintyScoreName } from './loop/select.js';

const names = [
  'seed',
  'shift',
  'strength',
  'budget',
  'batch',
  'epochs',
  'replay',
  'lr',
  'base-epochs',
  'class-cap',
  'score',
  'target',
  'backend',
] as const;
const { values } = parseArgs({ options: Object.fromEntries(names.map((n) => [n, { type: 'string' }])) });
const arg = (n: (typeof names)[number]): string | undefined =>
  (values as Record<string, string | undefined>)[n] ?? process.env[`EDGELOOP_LOOP_${n.toUpperCase().replace('-', '_')}`];
const num = (n: (typeof names)[number], fallback: number) => {
  const v = arg(n);
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new Error(`--${n} must be a non-negative number, not "${v}"`);
  return x;
};
/** A comma-separated list of positive integers (round sizes; the last repeats). */
const sizes = (n: (typeof names)[number], fallback: number[]) => {
  const v = arg(n);
  if (v === undefined) return fallback;
  const xs = v.split(',').map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`--${n} must be positive integers separated by commas, not "${v}"`);
  return xs;
};

const options: Partial<LearningBenchOptions> = {
  seed: num('seed', d.seed),
  shift: arg('shift') ?? d.shift,
  shiftStrength: num('strength', d.shiftStrength),
  budget: num('budget', d.budget),
  batches: sizes('batch', d.batches),
  epochs: Math.max(1, num('epochs', d.epochs)),
  replay: num('replay', d.replay),
  learningRate: num('lr', d.learningRate),
  baseEpochs: Math.max(1, num('base-epochs', d.baseEpochs)),
  classCap: num('class-cap', d.classCap),
  score: (arg('score') ?? d.score) as UncertaintyScoreName,
  target: num('target', d.target),
  backend: (arg('backend') ?? d.backend) as BackendName,
  log: (line) => console.error(`bench:loop: ${line}`),
};
const r = await runLearningBench(options);

/** The shift as the results name it: its name, and its strength when it is not the shipped one. */
const shiftLabel = r.params.shiftStrength === 1 ? r.params.shift : `${r.params.shift} at strength ${r.params.shiftStrength}`;
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(2)}%`);
const labelsOrNever = (v: number | null) => (v === null ? 'not reached' : String(v));
const times = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}×`);
printTable(
  `Accuracy on the shifted test set (${shiftLabel}) against labels used — the labels come from a SIMULATED oracle (ground truth)`,
  r.curves.uncertainty.map((u, i) => ({
    labels: u.labels,
    [`uncertainty (${r.params.score})`]: pct(u.accuracy),
    random: pct(r.curves.random[i]?.accuracy),
  })),
);
printTable('Summary', [
  { measure: 'champion accuracy, clean test', value: pct(r.clean_accuracy) },
  { measure: 'baseline: champion accuracy, shifted test', value: pct(r.baseline_accuracy) },
  { measure: 'final accuracy, uncertainty', value: pct(r.final_accuracy) },
  { measure: 'final accuracy, random', value: pct(r.final_accuracy_random) },
  { measure: `labels to ${pct(r.target)}, uncertainty`, value: labelsOrNever(r.labels_to_target.uncertainty) },
  { measure: `labels to ${pct(r.target)}, random`, value: labelsOrNever(r.labels_to_target.random) },
  { measure: 'label efficiency (random ÷ uncertainty)', value: times(r.label_efficiency) },
  { measure: 'label efficiency, lower bound (budget ÷ uncertainty)', value: times(r.label_efficiency_lower_bound) },
  ...r.fallbacks.map((f) => ({
    measure: `fallback "${f.rule}" ${pct(f.target)}: labels U / R, efficiency`,
    value: `${labelsOrNever(f.labels_to_target.uncertainty)} / ${labelsOrNever(f.labels_to_target.random)}, ${times(f.label_efficiency)}`,
  })),
  {
    measure: 'seconds (data, champion, uncertainty, random, total)',
    value: Object.values(r.seconds)
      .map((s) => s.toFixed(0))
      .join(', '),
  },
]);
// The system half: seconds from a trigger firing to every agent running the retrained model, as
// tests/test/loop.test.ts measured it with a real hub, its worker and 20 agents (CI runs the tests
// before the benchmarks). Taken only if it was measured within the last 6 hours.
const systemFile = join(ROOT, 'bench-results', 'loop-system.json');
if (existsSync(systemFile)) {
  const system = JSON.parse(readFileSync(systemFile, 'utf8')) as { generatedAt: string; seconds_trigger_to_fleet: number; note: string };
  if (Date.now() - Date.parse(system.generatedAt) < 6 * 3_600_000) {
    r.seconds_trigger_to_fleet = system.seconds_trigger_to_fleet;
    r.seconds_trigger_to_fleet_note = `${system.note} (at ${system.generatedAt})`;
    const goal = r.goals.seconds_trigger_to_fleet;
    goal.value = system.seconds_trigger_to_fleet;
    goal.met = system.seconds_trigger_to_fleet <= goal.goal;
    goal.note = 'tests/test/loop.test.ts';
  }
}
printTable(
  'Goals',
  Object.entries(r.goals).map(([goal, g]) => ({
    goal,
    target: goal === 'final_accuracy' ? `≥ ${pct(g.goal)}` : goal === 'label_efficiency' ? `≥ ${g.goal}×` : `≤ ${g.goal} s`,
    value:
      g.value === null
        ? '-'
        : goal === 'final_accuracy'
          ? pct(g.value)
          : goal === 'label_efficiency'
            ? times(g.value)
            : `${g.value.toFixed(0)} s`,
    met: g.met === null ? 'not measured (run tests/test/loop.test.ts)' : g.met ? 'yes' : 'NO',
  })),
);

const file = writeResults('loop', r);
const svg = join(ROOT, 'bench-results', 'loop.svg');
writeFileSync(
  svg,
  accuracyPlotSvg({
    title: `Recovering from ${shiftLabel} (seed ${r.params.seed}, simulated oracle)`,
    curves: [
      { name: `uncertainty (${r.params.score})`, color: '#d9480f', points: r.curves.uncertainty },
      { name: 'random', color: '#1c7ed6', points: r.curves.random },
    ],
    baseline: r.baseline_accuracy,
    target: r.target,
  }),
);
console.log(`\nwrote ${file} and ${svg}`);
