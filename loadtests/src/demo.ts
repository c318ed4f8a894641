/**
 * The demo (`npm start -- --demo`): a simulated fleet streams digits to a running hub, the input
 * distribution shifts partway, and the SIMULATED labelling oracle labels the queue with ground
 * truth, so the whole loop (samples, labels, retrain, gate, rollout) runs with no one at the
 * keyboard. Progress is printed every few seconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleet } from './fleet.js';
import type { FleetStats } from './fleet-stats.js';
import { ORACLE_TAG, startOracle } from './oracle.js';
import { shiftByName } from './shifts.js';

export interface DemoOptions {
  hubUrl: string;
  mqttUrl: string;
  adminToken: string;
  /** Default 10. */
  agents?: number;
  /** Default `mnist-cnn`. */
  model?: string;
  /** A name from `SHIFTS`; default `thick-slant`. */
  shift?: string;
  /** Images per agent before the shift; default 100 (about 50 s at the default rate). */
  shiftAfter?: number;
  /** Images per second per agent; default 2. */
  ratePerAgent?: number;
  /** Oracle labels per second; default 5. */
  labelsPerSecond?: number;
  labelBudget?: number;
  seed?: number;
  /** The hub's canary percentage, so each simulated device is provisioned on its track. */
  canaryPercent?: number;
  cohortSalt?: string;
  /** Default: a fresh temporary directory, removed on stop. */
  workDir?: string;
  progressMs?: number;
  log?: (line: string) => void;
}

const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);

/** One progress line from fleet stats. */
export function progressLine(s: FleetStats, labelled: number, versions: number[]): string {
  const byVersion = new Map<number, number>();
  for (const v of versions) byVersion.set(v, (byVersion.get(v) ?? 0) + 1);
  const fleet = [...byVersion].sort((a, b) => a[0] - b[0]).map(([v, n]) => (v === 0 ? `${n}× no model` : `${n}× v${v}`));
  const shifted = Object.entries(s.shiftedByVersion)
    .map(([v, t]) => `v${v} ${pct(t.rolling)}`)
    .join(', ');
  return (
    `[simulation: fleet] classified ${s.totals.classified}, accuracy ${pct(s.totals.accuracy)} ` +
    `(before shift ${pct(s.totals.before.accuracy)}, after ${pct(s.totals.after.accuracy)}${shifted ? `; on shifted by version: ${shifted}` : ''}), ` +
    `samples sent ${s.totals.stored} (queued ${s.totals.outbox}), labelled by the simulated oracle ${labelled}, fleet: ${fleet.join(', ')}`
  );
}

/** Starts the fleet and the oracle against a running hub; `stop()` ends both. */
export async function runDemo(o: DemoOptions): Promise<{ stop(): Promise<void> }> {
  const log = o.log ?? ((line: string) => console.log(line));
  const ownDir = o.workDir === undefined;
  const workDir = o.workDir ?? (await mkdtemp(join(tmpdir(), 'edgeloop-fleet-')));
  const shift = shiftByName(o.shift ?? 'thick-slant');
  const agents = o.agents ?? 10;
  const shiftAfter = o.shiftAfter ?? 100;
  const ratePerAgent = o.ratePerAgent ?? 2;
  log(
    `[simulation] demo: ${agents} simulated edge agents (real edge-agent code) stream MNIST digits at ${ratePerAgent}/s each; ` +
      `after ${shiftAfter} images each, the input shifts: ${shift.name} (${shift.description})`,
  );
  log(`${ORACLE_TAG} labels come from the simulator's ground truth, not from a person`);
  const fleet = await startFleet({
    hubUrl: o.hubUrl,
    mqttUrl: o.mqttUrl,
    adminToken: o.adminToken,
    agents,
    model: o.model ?? 'mnist-cnn',
    workDir,
    seed: o.seed ?? 1,
    shift,
    shiftAfter,
    ratePerAgent,
    log: (line) => log(`[simulation] ${line}`),
    ...(o.canaryPercent === undefined ? {} : { canaryPercent: o.canaryPercent }),
    ...(o.cohortSalt === undefined ? {} : { cohortSalt: o.cohortSalt }),
  });
  await fleet.start();
  const oracle = startOracle({
    hubUrl: o.hubUrl,
    adminToken: o.adminToken,
    truthOf: fleet.truthOf,
    ratePerSecond: o.labelsPerSecond ?? 5,
    log,
    ...(o.labelBudget === undefined ? {} : { budget: o.labelBudget }),
  });
  const timer = setInterval(() => log(progressLine(fleet.stats(), oracle.labelled(), fleet.versions())), o.progressMs ?? 5000);
  let stopping: Promise<void> | undefined;
  return {
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(timer);
        await oracle.stop();
        await fleet.stop();
        log(progressLine(fleet.stats(), oracle.labelled(), fleet.versions()));
        if (ownDir) await rm(workDir, { recursive: true, force: true });
      })()),
  };
}
