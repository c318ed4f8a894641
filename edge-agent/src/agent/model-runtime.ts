/**
 * The running model and its updates: the classifier holder, fed by the {@link ModelUpdater}. An
 * update is self-tested (the updater's ONNX canaries, then a full {@link loadClassifier} with its
 * hash check and warm-up) before the updater moves its `current` pointer; the classifier loaded by
 * the self-test is the one swapped in, so the swap itself is one assignment. A rejected update
 * leaves the holder untouched.
 */
import type { ModelRef } from '@edgeloop/protocol';
import { type Classifier, type LoadOptions, loadClassifier } from '../classifier/classifier.js';
import { ClassifierHolder } from '../classifier/holder.js';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../log.js';
import {
  type InstalledModel,
  ModelStore,
  ModelUpdater,
  type ModelUpdaterOptions,
  onnxSelfTest,
  type UpdateResult,
} from '../updates/index.js';

/** The last update check, for `/status`. */
export interface UpdateSummary {
  at: string;
  status: UpdateResult['status'];
  version?: number;
  code?: string;
  message?: string;
  /** For an update: from the start of the check to the pointer swap, and the self-test within it. */
  timings?: { totalMs: number; selfTestMs: number; swapMs: number };
}

export interface ModelRuntimeOptions {
  config: AgentConfig;
  log: Logger;
  /** Called after every swap, with the model now running. */
  onModel?: (model: ModelRef | undefined) => void;
  /** Overrides for the updater (tests: the clock, fetch limits, the provisioned root). */
  updater?: Partial<ModelUpdaterOptions>;
  repositoryUrl: string;
}

/** The directory of the installed current model, read without touching the store (safe beside a running daemon). */
export async function installedModelDir(config: AgentConfig): Promise<string | undefined> {
  if (config.model.dir) return config.model.dir;
  const store = new ModelStore(config.modelsDir, config.model.name);
  const { current } = await store.readPointer();
  return current === undefined ? undefined : store.dirOf(current);
}

export class ModelRuntime {
  readonly holder = new ClassifierHolder();
  readonly updater: ModelUpdater | undefined;
  lastUpdate: UpdateSummary | undefined;
  private staged: Classifier | undefined;
  private swapping: Promise<void> = Promise.resolve();
  private readonly load: LoadOptions;

  constructor(private readonly options: ModelRuntimeOptions) {
    const { config } = options;
    this.load = { intraOpThreads: config.classifier.intraOpThreads };
    if (config.model.dir) return; // a pinned model: no updates
    this.updater = new ModelUpdater({
      modelName: config.model.name,
      stateDir: config.stateDir,
      modelsDir: config.modelsDir,
      repositoryUrl: options.repositoryUrl,
      selfTest: (dir) => this.selfTest(dir),
      ...options.updater,
    });
    this.updater.on('model', (m) => {
      this.swapping = this.swapping.then(() => this.swapTo(m));
    });
    this.updater.on('result', (r) => this.onResult(r));
  }

  /** Boot: the pinned model, or the updater's recovered current model (falling back to the previous one). */
  async start(): Promise<void> {
    const { config, log } = this.options;
    if (config.model.dir) {
      // A pinned model that does not load is a configuration error: fail fast.
      const c = await loadClassifier(config.model.dir, this.load);
      await this.holder.swap(c);
      log.info({ model: c.model, dir: config.model.dir }, 'pinned model in service');
      return this.options.onModel?.(c.model);
    }
    const current = await this.updater!.recover();
    if (!current) return log.warn({ model: config.model.name }, 'no model installed yet; classification waits for the first update');
    await this.swapTo(current);
    if (!this.holder.current()) {
      log.error({ version: current.version }, 'the current model does not load; rolling back');
      await this.updater!.rollback().catch((err) => log.error({ err }, 'no model to roll back to'));
      await this.swapping;
    }
  }

  /** Checks for an update; resolves after a new model, if any, is serving. */
  async checkForUpdate(): Promise<UpdateResult | undefined> {
    if (!this.updater) return undefined;
    const result = await this.updater.checkForUpdate();
    await this.swapping;
    return result;
  }

  /** Swaps back to the previous model (no download). */
  async rollback(): Promise<InstalledModel | undefined> {
    if (!this.updater) return undefined;
    const m = await this.updater.rollback();
    await this.swapping;
    return m;
  }

  async stop(): Promise<void> {
    await this.swapping;
    await this.holder.close();
    await this.staged?.release();
    this.staged = undefined;
  }

  private async selfTest(dir: string): Promise<void> {
    await onnxSelfTest(dir);
    const c = await loadClassifier(dir, this.load);
    await this.staged?.release();
    this.staged = c;
  }

  private async swapTo(m: InstalledModel | undefined): Promise<void> {
    const { log, onModel } = this.options;
    if (!m) return log.warn('the updater has no current model; keeping the one running');
    let next: Classifier;
    try {
      next = this.staged?.dir === m.dir ? this.staged : await loadClassifier(m.dir, this.load);
    } catch (err) {
      return log.error({ err, dir: m.dir }, 'model does not load; keeping the one running');
    }
    if (next === this.staged) this.staged = undefined;
    const previous = await this.holder.swap(next).catch(async (err) => {
      await next.release();
      throw err;
    });
    log.info({ model: next.model, previous: previous?.model }, 'model in service');
    onModel?.(next.model);
  }

  private onResult(r: UpdateResult): void {
    const at = new Date().toISOString();
    if (r.status === 'rejected') {
      void this.staged?.release();
      this.staged = undefined;
      this.lastUpdate = { at, status: r.status, code: r.code, message: r.error.message, ...(r.version ? { version: r.version } : {}) };
      this.options.log.warn({ code: r.code, version: r.version, err: r.error }, 'update rejected; the running model is unchanged');
    } else {
      this.lastUpdate = {
        at,
        status: r.status,
        ...(r.model ? { version: r.model.version } : {}),
        ...(r.status === 'updated' ? { timings: r.timings } : {}),
      };
      if (r.status === 'updated') this.options.log.info({ version: r.model.version, timings: r.timings }, 'model updated');
    }
  }
}
