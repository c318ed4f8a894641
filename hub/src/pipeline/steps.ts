/**
 * The pipeline's steps. Each one reads what earlier steps recorded, checks whether its own work is
 * already done (a restart between doing it and recording it), and returns what to record and the
 * next step; `wait` means "not yet, ask again on the next tick".
 *
 * - snapshot: a content-addressed snapshot (the same data gives the same id);
 * - train: one job per firing (`firing_id` is unique), then wait for it to end;
 * - register: the run's model as the next version, unless a version of this run exists;
 * - gate: with no champion, the first model whose test accuracy reaches `minFirstAccuracy` becomes
 *   champion and its snapshot's test split is frozen as the golden set; otherwise challenger and
 *   champion are evaluated on the golden set plus recent hard samples and the gate decides
 *   (a decision already stored for this challenger is reused);
 * - release: the rollout publishes to the canary track (idempotent per firing);
 * - rollout: wait for the rollout to be promoted or rolled back.
 */
import { createSnapshot } from '../datasets/snapshot.js';
import type { OpenDatabase } from '../db/open.js';
import type { PromotionGate } from '../gate/decisions.js';
import { buildGateInput } from '../gate/evaluate.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Logger } from '../log.js';
import type { ModelRegistry } from '../registry/models.js';
import { registerFromRun } from '../registry/register-run.js';
import type { RunTracker } from '../registry/runs.js';
import type { RolloutController } from '../rollout/controller.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { PipelineConfig } from './config.js';
import { freezeGolden, gateExamples, goldenDataset } from './examples.js';
import type { PipelineRunRecord, PipelineState, Step, StepOutputs } from './store.js';

export interface StepDeps {
  db: OpenDatabase;
  store: ObjectStore;
  jobs: JobQueue;
  runs: RunTracker;
  registry: ModelRegistry;
  gate: PromotionGate;
  rollout: RolloutController;
  config: PipelineConfig;
  log: Logger;
  now: () => Date;
}

export type StepResult = { kind: 'next'; step: Step; outputs?: StepOutputs; state?: PipelineState; error?: string } | { kind: 'wait' };

const ACTOR = 'system:pipeline';

export async function runStep(deps: StepDeps, run: PipelineRunRecord): Promise<StepResult> {
  const out = run.outputs as StepOutputs;
  const { config } = deps;
  const model = run.model;
  switch (run.step as Step) {
    case 'snapshot': {
      const snap = createSnapshot(
        { db: deps.db },
        {
          name: `${model} ${run.firingId}`,
          actor: ACTOR,
          note: out.reason?.slice(0, 2000),
          ...(config.labels ? { labels: config.labels } : {}),
        },
        deps.now,
      );
      return { kind: 'next', step: 'train', outputs: { datasetId: snap.id, snapshotAt: deps.now().toISOString() } };
    }
    case 'train': {
      const job = deps.jobs.enqueue({ firingId: run.firingId, model, datasetId: out.datasetId!, params: { ...config.trainParams } });
      if (job.state === 'succeeded') {
        const accuracy = job.result?.testAccuracy;
        return {
          kind: 'next',
          step: 'register',
          outputs: { jobId: job.id, runId: job.runId!, ...(typeof accuracy === 'number' ? { testAccuracy: accuracy } : {}) },
        };
      }
      if (job.state === 'failed' || job.state === 'cancelled')
        return {
          kind: 'next',
          step: 'train',
          state: job.state,
          outputs: { jobId: job.id },
          error: `training job ${job.state}: ${job.error ?? ''}`,
        };
      return out.jobId ? { kind: 'wait' } : { kind: 'next', step: 'train', outputs: { jobId: job.id } };
    }
    case 'register': {
      const existing = deps.registry.versions(model).find((v) => v.runId === out.runId);
      const version =
        existing ??
        (await registerFromRun(deps.runs, deps.registry, {
          runId: out.runId!,
          model,
          actor: ACTOR,
          reason: `trained for firing ${run.firingId}`,
        }));
      return { kind: 'next', step: 'gate', outputs: { modelVersion: version.version } };
    }
    case 'gate':
      return gateStep(deps, run, out);
    case 'release': {
      const rollout = await deps.rollout.begin({
        firingId: run.firingId,
        model,
        modelVersion: out.modelVersion!,
        ...(out.championBefore ? { previousModelVersion: out.championBefore } : {}),
      });
      return {
        kind: 'next',
        step: 'rollout',
        outputs: { rolloutId: rollout.id, releaseVersion: rollout.releaseVersion, rolloutState: rollout.state },
      };
    }
    case 'rollout': {
      const rollout = deps.rollout.require(out.rolloutId!);
      if (rollout.state === 'promoted' || rollout.state === 'rolled-back')
        return { kind: 'next', step: 'done', state: 'done', outputs: { rolloutState: rollout.state } };
      return out.rolloutState === rollout.state
        ? { kind: 'wait' }
        : { kind: 'next', step: 'rollout', outputs: { rolloutState: rollout.state } };
    }
    default:
      return { kind: 'wait' };
  }
}

async function gateStep(deps: StepDeps, run: PipelineRunRecord, out: StepOutputs): Promise<StepResult> {
  const { registry, gate, config } = deps;
  const model = run.model;
  const challenger = out.modelVersion!;
  const stored = gate.list(model, 200).find((d) => d.challengerVersion === challenger);
  const champion = registry.getAlias(model, 'champion');
  const championBefore =
    out.championBefore !== undefined ? out.championBefore : champion && champion.version !== challenger ? champion.version : null;
  if (stored) return decided(stored.decision, stored.reasons, stored.id, championBefore);

  if (championBefore === null) {
    // No champion: nothing to compare with; an absolute floor on the model's own test split.
    const accuracy = out.testAccuracy ?? 0;
    const ok = accuracy >= config.minFirstAccuracy;
    const reason = `first model: test accuracy ${(accuracy * 100).toFixed(1)}% ${ok ? '≥' : '<'} the ${(config.minFirstAccuracy * 100).toFixed(1)}% floor`;
    if (ok) {
      registry.setAlias(model, 'champion', challenger, 'system:gate', reason, { firingId: run.firingId });
      freezeGolden(deps.db, model, out.datasetId!, deps.now());
    } else registry.recordRejection(model, challenger, reason, { firingId: run.firingId });
    return decided(ok ? 'promote' : 'reject', [reason], null, null);
  }

  if (!goldenDataset(deps.db, model)) {
    // A champion chosen by hand: freeze its own snapshot (or this one) as the golden set.
    const championSnapshot = registry.getVersion(model, championBefore)?.datasetHash;
    const known = championSnapshot && deps.db.sqlite.prepare('SELECT 1 FROM datasets WHERE id = ?').get(championSnapshot);
    freezeGolden(deps.db, model, known ? championSnapshot : out.datasetId!, deps.now());
  }
  const { examples, detail } = await gateExamples(deps, model, out.datasetId!, config.hardSamples);
  const [championFiles, challengerFiles] = [await registry.files(model, championBefore), await registry.files(model, challenger)];
  const input = await buildGateInput(championFiles, challengerFiles, examples);
  const { record } = gate.decide({
    model,
    input,
    championVersion: championBefore,
    challengerVersion: challenger,
    challengerRunId: out.runId!,
    detail: { ...detail, firingId: run.firingId, datasetId: out.datasetId },
    apply: true,
  });
  return decided(record.decision, record.reasons, record.id, championBefore);
}

function decided(decision: 'promote' | 'reject', reasons: string[], id: string | null, championBefore: number | null): StepResult {
  const outputs: StepOutputs = { decision, decisionReasons: reasons, gateDecisionId: id, championBefore };
  return decision === 'promote'
    ? { kind: 'next', step: 'release', outputs }
    : { kind: 'next', step: 'gate', state: 'rejected', outputs, error: `gate rejected the model: ${reasons.join('; ')}` };
}
