/**
 * The simulator's ground-truth bookkeeping: per agent, what it classified and how often it was
 * right, before and after the shift; per model version, accuracy on shifted inputs (overall and
 * over a rolling window, so a new version's accuracy shows up quickly).
 */

/** A count of outcomes; `accuracy` is null when there are none. */
export interface Tally {
  n: number;
  correct: number;
  accuracy: number | null;
}

export interface AgentStats {
  deviceId: string;
  /** Images classified (a classification with a model; images offered with no model yet are `waiting`). */
  classified: number;
  correct: number;
  accuracy: number | null;
  /** Before the shift point, and after it. */
  before: Tally;
  after: Tally;
  /** Attempts that found no model installed yet (the agent waits for its first release). */
  waiting: number;
  /** Classifications that failed for another reason. */
  errors: number;
  /** The model version serving now; 0 while none is installed. */
  modelVersion: number;
  /** Samples the agent's sampler selected, stored in its outbox, and still queued there (last status read). */
  sampled: number;
  stored: number;
  outbox: number;
}

export interface VersionStats extends Tally {
  /** Accuracy over the last {@link ROLLING_WINDOW} shifted inputs this version classified. */
  rolling: number | null;
  rollingN: number;
}

export interface FleetStats {
  agents: AgentStats[];
  /** The agents' counts summed (accuracy recomputed from the sums). */
  totals: Omit<AgentStats, 'deviceId' | 'modelVersion'>;
  /** Accuracy on shifted inputs, by the model version (as a string key) that classified them. */
  shiftedByVersion: Record<string, VersionStats>;
  /** Distinct sample ids the simulator knows the truth of. */
  knownSamples: number;
}

export const ROLLING_WINDOW = 500;

const tally = (n: number, correct: number): Tally => ({ n, correct, accuracy: n > 0 ? correct / n : null });

interface AgentCounts {
  deviceId: string;
  before: [number, number];
  after: [number, number];
  waiting: number;
  errors: number;
  modelVersion: number;
  sampled: number;
  stored: number;
  outbox: number;
}

/** Mutable counters the fleet updates; {@link FleetLedger.snapshot} turns them into {@link FleetStats}. */
export class FleetLedger {
  readonly agents: AgentCounts[];
  private readonly byVersion = new Map<number, { n: number; correct: number; window: boolean[]; next: number }>();
  private readonly truth = new Map<string, string>();

  constructor(deviceIds: readonly string[]) {
    this.agents = deviceIds.map((deviceId) => ({
      deviceId,
      before: [0, 0],
      after: [0, 0],
      waiting: 0,
      errors: 0,
      modelVersion: 0,
      sampled: 0,
      stored: 0,
      outbox: 0,
    }));
  }

  remember(sampleId: string, label: string): void {
    this.truth.set(sampleId, label);
  }

  truthOf(sampleId: string): string | undefined {
    return this.truth.get(sampleId);
  }

  /** One classification by agent `i` with `version`, on a shifted input or not. */
  record(i: number, version: number, shifted: boolean, correct: boolean): void {
    const a = this.agents[i]!;
    a.modelVersion = version;
    const t = shifted ? a.after : a.before;
    t[0]++;
    if (correct) t[1]++;
    if (!shifted) return;
    let v = this.byVersion.get(version);
    if (!v) {
      v = { n: 0, correct: 0, window: [], next: 0 };
      this.byVersion.set(version, v);
    }
    v.n++;
    if (correct) v.correct++;
    // A ring buffer of the last ROLLING_WINDOW outcomes.
    if (v.window.length < ROLLING_WINDOW) v.window.push(correct);
    else v.window[v.next] = correct;
    v.next = (v.next + 1) % ROLLING_WINDOW;
  }

  snapshot(): FleetStats {
    const agents: AgentStats[] = this.agents.map((a) => ({
      deviceId: a.deviceId,
      classified: a.before[0] + a.after[0],
      correct: a.before[1] + a.after[1],
      accuracy: tally(a.before[0] + a.after[0], a.before[1] + a.after[1]).accuracy,
      before: tally(...a.before),
      after: tally(...a.after),
      waiting: a.waiting,
      errors: a.errors,
      modelVersion: a.modelVersion,
      sampled: a.sampled,
      stored: a.stored,
      outbox: a.outbox,
    }));
    const sum = (f: (a: AgentStats) => number) => agents.reduce((s, a) => s + f(a), 0);
    const classified = sum((a) => a.classified);
    const correct = sum((a) => a.correct);
    const shiftedByVersion: Record<string, VersionStats> = {};
    for (const [version, v] of [...this.byVersion].sort((x, y) => x[0] - y[0])) {
      const hits = v.window.filter(Boolean).length;
      shiftedByVersion[String(version)] = {
        ...tally(v.n, v.correct),
        rolling: v.window.length > 0 ? hits / v.window.length : null,
        rollingN: v.window.length,
      };
    }
    return {
      agents,
      totals: {
        classified,
        correct,
        accuracy: tally(classified, correct).accuracy,
        before: tally(
          sum((a) => a.before.n),
          sum((a) => a.before.correct),
        ),
        after: tally(
          sum((a) => a.after.n),
          sum((a) => a.after.correct),
        ),
        waiting: sum((a) => a.waiting),
        errors: sum((a) => a.errors),
        sampled: sum((a) => a.sampled),
        stored: sum((a) => a.stored),
        outbox: sum((a) => a.outbox),
      },
      shiftedByVersion,
      knownSamples: this.truth.size,
    };
  }
}
