/**
 * The promotion gate's decision, a pure function of the two models' predictions on the same
 * examples (the frozen golden test set plus the recent reviewed hard samples):
 *
 * - a paired bootstrap CI of the accuracy difference (challenger − champion), and
 * - per-class recall non-regression: no class with enough examples may lose more than the tolerance.
 *
 * Promote iff the CI's lower bound is ≥ −ε and no class regresses. "Not worse by more than ε"
 * rather than "better": retraining on more data should be allowed to ship at equal accuracy, since
 * it also covers the new samples; a worse model, or one that trades a class away, never ships.
 */
import { HubError } from '../errors.js';
import type { GateConfig } from '../registry/config.js';
import { type BootstrapResult, pairedBootstrap } from './bootstrap.js';

/** Predictions as label indices, one per example, in the same example order for all three. */
export interface GateInput {
  labels: readonly string[];
  truth: readonly number[];
  champion: readonly number[];
  challenger: readonly number[];
}

export interface ClassResult {
  support: number;
  /** Recall (fraction of this class's examples predicted right); `null` without examples. */
  champion: number | null;
  challenger: number | null;
  delta: number | null;
  /** Whether this class blocks: enough support and a drop beyond the tolerance. */
  regressed: boolean;
  /** Too few examples to block (reported only). */
  lowSupport: boolean;
}

export interface GateResult {
  decision: 'promote' | 'reject';
  reasons: string[];
  examples: number;
  championAccuracy: number;
  challengerAccuracy: number;
  bootstrap: BootstrapResult;
  perClass: Record<string, ClassResult>;
  settings: GateConfig;
}

/** Tolerance for comparing computed fractions with thresholds. */
const SLACK = 1e-12;

export function checkGateInput(input: GateInput): void {
  const n = input.truth.length;
  if (input.labels.length < 2) throw new HubError('BAD_REQUEST', 'the gate needs at least two labels');
  if (n === 0) throw new HubError('BAD_REQUEST', 'the gate needs at least one example');
  if (input.champion.length !== n || input.challenger.length !== n) {
    throw new HubError(
      'BAD_REQUEST',
      `truth, champion and challenger must have the same length (${n}, ${input.champion.length}, ${input.challenger.length})`,
    );
  }
  for (const list of [input.truth, input.champion, input.challenger]) {
    for (const v of list) {
      if (!Number.isInteger(v) || v < 0 || v >= input.labels.length)
        throw new HubError('BAD_REQUEST', `label index ${v} is not in 0..${input.labels.length - 1}`);
    }
  }
}

export function checkGateConfig(settings: GateConfig): void {
  if (!Number.isInteger(settings.resamples) || settings.resamples < 1000)
    throw new HubError('BAD_CONFIG', 'the gate needs at least 1,000 bootstrap resamples');
  if (!(settings.confidence > 0.5 && settings.confidence < 1)) throw new HubError('BAD_CONFIG', 'gate confidence must be in (0.5, 1)');
  if (!(settings.epsilon >= 0 && settings.epsilon < 1)) throw new HubError('BAD_CONFIG', 'gate epsilon must be in [0, 1)');
  if (!(settings.classTolerance >= 0 && settings.classTolerance <= 1))
    throw new HubError('BAD_CONFIG', 'gate classTolerance must be in [0, 1]');
}

/** The gate's decision with every number it is based on. */
export function evaluateGate(input: GateInput, settings: GateConfig): GateResult {
  checkGateInput(input);
  checkGateConfig(settings);
  const n = input.truth.length;
  const k = input.labels.length;
  const d = new Float64Array(n);
  const support = new Array<number>(k).fill(0);
  const hitsChampion = new Array<number>(k).fill(0);
  const hitsChallenger = new Array<number>(k).fill(0);
  let correctChampion = 0;
  let correctChallenger = 0;
  for (let i = 0; i < n; i++) {
    const t = input.truth[i]!;
    const a = input.champion[i] === t ? 1 : 0;
    const b = input.challenger[i] === t ? 1 : 0;
    d[i] = b - a;
    support[t]! += 1;
    hitsChampion[t]! += a;
    hitsChallenger[t]! += b;
    correctChampion += a;
    correctChallenger += b;
  }
  const bootstrap = pairedBootstrap(d, settings);
  const reasons: string[] = [];
  const perClass: Record<string, ClassResult> = {};
  for (let c = 0; c < k; c++) {
    const s = support[c]!;
    const champion = s > 0 ? hitsChampion[c]! / s : null;
    const challenger = s > 0 ? hitsChallenger[c]! / s : null;
    const delta = champion !== null && challenger !== null ? challenger - champion : null;
    const lowSupport = s < settings.minClassSupport;
    const regressed = !lowSupport && delta !== null && delta < -settings.classTolerance - SLACK;
    perClass[input.labels[c]!] = { support: s, champion, challenger, delta, regressed, lowSupport };
    if (regressed)
      reasons.push(
        `class ${input.labels[c]} recall fell from ${pct(champion!)} to ${pct(challenger!)} (tolerance ${pct(settings.classTolerance)})`,
      );
  }
  const ciOk = bootstrap.low >= -settings.epsilon - SLACK;
  if (!ciOk)
    reasons.unshift(
      `the ${pct(settings.confidence)} CI of the accuracy difference starts at ${pct(bootstrap.low)}, below −ε = ${pct(-settings.epsilon)}`,
    );
  const decision = reasons.length === 0 ? 'promote' : 'reject';
  if (decision === 'promote') {
    reasons.push(
      `accuracy ${pct(correctChampion / n)} → ${pct(correctChallenger / n)}, CI [${pct(bootstrap.low)}, ${pct(bootstrap.high)}] ≥ −ε, no class regressed`,
    );
  }
  return {
    decision,
    reasons,
    examples: n,
    championAccuracy: correctChampion / n,
    challengerAccuracy: correctChallenger / n,
    bootstrap,
    perClass,
    settings: { ...settings },
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
