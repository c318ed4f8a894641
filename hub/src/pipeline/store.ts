/** The `pipeline_runs` rows: one per trigger firing, with its step and every step's outputs. */
import { asc, desc, eq } from 'drizzle-orm';
import type { OpenDatabase } from '../db/open.js';
import { pipelineRuns } from '../db/schema-pipeline.js';

export type PipelineRunRecord = typeof pipelineRuns.$inferSelect;
export type PipelineState = PipelineRunRecord['state'];

/** The steps in order; `done` is the end of a run that shipped (or rolled back) a release. */
export const STEPS = ['snapshot', 'train', 'register', 'gate', 'release', 'rollout', 'done'] as const;
export type Step = (typeof STEPS)[number];

/** What the steps record (all optional: each step adds its own). */
export interface StepOutputs {
  reason?: string;
  datasetId?: string;
  snapshotAt?: string;
  jobId?: string;
  runId?: string;
  testAccuracy?: number;
  modelVersion?: number;
  championBefore?: number | null;
  gateDecisionId?: string | null;
  decision?: 'promote' | 'reject';
  decisionReasons?: string[];
  rolloutId?: string;
  releaseVersion?: number;
  rolloutState?: string;
  /** When the run entered each step (and reached its final state): where the time went. */
  timeline?: Record<string, string>;
  [key: string]: unknown;
}

export class PipelineStore {
  constructor(
    private readonly db: OpenDatabase,
    private readonly now: () => Date,
  ) {}

  /** Adds a run for `firingId` unless it exists (a firing is taken once). */
  add(firingId: string, model: string, outputs: StepOutputs): PipelineRunRecord {
    const at = this.now().toISOString();
    this.db.db
      .insert(pipelineRuns)
      .values({
        firingId,
        model,
        step: 'snapshot',
        state: 'active',
        outputs: { ...outputs, timeline: { snapshot: at } },
        error: null,
        createdAt: at,
        updatedAt: at,
      })
      .onConflictDoNothing()
      .run();
    return this.get(firingId)!;
  }

  get(firingId: string): PipelineRunRecord | undefined {
    return this.db.db.select().from(pipelineRuns).where(eq(pipelineRuns.firingId, firingId)).get();
  }

  /** The oldest active run: runs go one at a time, in firing order. */
  nextActive(): PipelineRunRecord | undefined {
    return this.db.db.select().from(pipelineRuns).where(eq(pipelineRuns.state, 'active')).orderBy(asc(pipelineRuns.createdAt)).get();
  }

  list(limit = 50): PipelineRunRecord[] {
    return this.db.db.select().from(pipelineRuns).orderBy(desc(pipelineRuns.createdAt)).limit(limit).all();
  }

  /** Newest first, every run that has a trained model. */
  trained(): PipelineRunRecord[] {
    return this.list(1000).filter((r) => typeof (r.outputs as StepOutputs).runId === 'string');
  }

  /** Moves a run on: merges `outputs` into its outputs and sets the step (and state). */
  advance(firingId: string, set: { step?: Step; state?: PipelineState; outputs?: StepOutputs; error?: string | null }): PipelineRunRecord {
    const run = this.get(firingId)!;
    const at = this.now().toISOString();
    const before = run.outputs as StepOutputs;
    const timeline = {
      ...(before.timeline ?? { [run.step]: run.createdAt }),
      ...(set.step && set.step !== run.step ? { [set.step]: at } : {}),
      ...(set.state && set.state !== run.state ? { [set.state]: at } : {}),
    };
    this.db.db
      .update(pipelineRuns)
      .set({
        ...(set.step ? { step: set.step } : {}),
        ...(set.state ? { state: set.state } : {}),
        ...(set.error !== undefined ? { error: set.error } : {}),
        outputs: { ...before, ...(set.outputs ?? {}), timeline },
        updatedAt: at,
      })
      .where(eq(pipelineRuns.firingId, firingId))
      .run();
    return this.get(firingId)!;
  }
}
