/**
 * The agent's composition root: the running model (holder + updater), the state database (outbox
 * and sampler), telemetry, the uplink to the hub, the folder watcher and the local HTTP API. The
 * classification path is: classify → telemetry → sampler → frame → outbox, and only `classify`
 * itself can fail a request. Side effects (timers, sockets, watchers) start here and nowhere else.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { ModelRuntime } from './agent/model-runtime.js';
import { createUplink, openOutbox } from './agent/parts.js';
import { SamplePath } from './agent/sample-path.js';
import { type AgentStatus, agentStatus, createAgentHttpApp, createWatcher } from './agent/wiring.js';
import type { Classification, ClassifyOptions } from './classifier/classifier.js';
import { type AgentConfig, repositoryUrlOf } from './config.js';
import { type RunningHttpServer, startHttpServer } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { Sampler } from './sampler/sampler.js';
import { type AgentMetrics, agentMetrics } from './telemetry/metrics.js';
import { Telemetry } from './telemetry/telemetry.js';
import type { InstalledModel, ModelUpdaterOptions, UpdateResult } from './updates/index.js';
import type { Uplink } from './uplink/uplink.js';

export const AGENT_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

export interface AgentDeps {
  logger?: Logger;
  /** Epoch ms for the outbox (TTL, backoff), the sampler and telemetry. */
  now?: () => number;
  metrics?: AgentMetrics;
  /** Updater overrides (tests: the clock, fetch limits); `trustedRoot` wins over `config.updates.trustedRoot`. */
  updater?: Partial<ModelUpdaterOptions>;
}

export interface Agent {
  readonly config: AgentConfig;
  /** The local API's base URL, when it is enabled. */
  readonly httpUrl: string | undefined;
  readonly metrics: AgentMetrics;
  /** The full classification path; throws only for the classification itself. */
  classify(bytes: Uint8Array, options?: ClassifyOptions): Promise<Classification>;
  /** Checks the TUF repository now; resolves after a new model, if any, is serving. */
  checkForUpdate(): Promise<UpdateResult | undefined>;
  rollback(): Promise<InstalledModel | undefined>;
  status(): Promise<AgentStatus>;
  /** Resolves once every selected sample offered so far has been stored (or refused). */
  idle(): Promise<void>;
  /** Graceful stop: no new work, in-flight work finished, last telemetry sent, state closed. */
  stop(): Promise<void>;
}

/** Starts the agent described by `config`. */
export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<Agent> {
  const log = deps.logger ?? createLogger(config.log.level);
  // Memory on a small device: libvips' operation cache (up to 50 MB) never hits for a stream of
  // distinct images, and its per-image worker threads each keep a malloc arena; requests already
  // run in parallel on libuv's pool.
  sharp.cache(false);
  sharp.concurrency(1);
  const startedAt = Date.now();
  await mkdir(config.stateDir, { recursive: true });
  const metrics = deps.metrics ?? agentMetrics({ processMetrics: true });
  const child = (module: string) => log.child({ module });

  const outbox = openOutbox(config, { now: deps.now, log: child('outbox') });
  // Every part that needs stopping is pushed here as it starts; stop() (or a failed start) unwinds
  // it in reverse: HTTP, watcher, timers, telemetry (last window), uplink, pending enqueues, model, database.
  const started: (() => Promise<void> | void)[] = [() => outbox.close()];
  const unwind = async () => {
    for (const stopPart of started.splice(0).reverse()) {
      await Promise.resolve()
        .then(stopPart)
        .catch((err) => log.error({ err }, 'error while stopping'));
    }
  };
  try {
    metrics.bindOutbox(outbox);
    const sampler = new Sampler({
      db: outbox.database,
      defaults: { sampling: config.sampling, budgets: config.budgets },
      now: deps.now,
      onError: (err) => child('sampler').warn({ err }, 'sampler state not persisted'),
    });

    let uplink: Uplink | undefined;
    const telemetry = new Telemetry({
      deviceId: config.deviceId,
      intervalMs: config.telemetry.intervalS * 1000,
      lowConfidenceThreshold: config.telemetry.lowConfidenceThreshold,
      onWindow: (w) => uplink?.publishTelemetry(w),
      metrics,
      now: deps.now,
    });
    const trustedRoot = deps.updater?.trustedRoot ?? (config.updates.trustedRoot ? await readFile(config.updates.trustedRoot) : undefined);
    const runtime = new ModelRuntime({
      config,
      log: child('model'),
      repositoryUrl: repositoryUrlOf(config),
      updater: { ...deps.updater, ...(trustedRoot ? { trustedRoot } : {}) },
      onModel: (m) => m && telemetry.setModel(m),
    });
    started.push(() => runtime.stop());
    await runtime.start();

    const samples = new SamplePath({
      deviceId: config.deviceId,
      sampler,
      outbox,
      log: child('samples'),
      onStored: () => uplink?.kick(),
      now: deps.now,
    });
    started.push(() => samples.idle());
    const classify = async (bytes: Uint8Array, options: ClassifyOptions = {}) => {
      const result = await runtime.holder.classify(bytes, { topK: options.topK ?? config.classifier.topK });
      telemetry.record(result);
      samples.offer(bytes, result);
      return result;
    };

    if (config.hub.mqttUrl) {
      uplink = createUplink({
        config,
        version: AGENT_VERSION,
        outbox,
        sampler,
        telemetry,
        runtime,
        metrics,
        log: child('uplink'),
        now: deps.now,
      });
      uplink.start();
      started.push(() => uplink?.stop());
    }
    telemetry.start();
    started.push(() => telemetry.stop()); // emits the last partial window while the uplink is still up

    if (runtime.updater && config.updates.checkIntervalS > 0) {
      const timer = setInterval(() => void runtime.checkForUpdate(), config.updates.checkIntervalS * 1000).unref();
      started.push(() => clearInterval(timer));
      void runtime.checkForUpdate(); // at boot too: a device installed without a model gets one
    }

    const watchCounts = { processed: 0, failed: 0 };
    const watcher = createWatcher(config, classify, watchCounts, child('watch'));
    if (watcher) {
      await watcher.start();
      started.push(() => watcher.stop());
    }

    const statusOf = () =>
      agentStatus({
        config,
        startedAt,
        runtime,
        outbox,
        uplink,
        sampler,
        samples,
        watchCounts,
        httpUrl: http?.url,
        version: AGENT_VERSION,
      });
    let http: RunningHttpServer | undefined;
    if (config.http.enabled) {
      const app = createAgentHttpApp({ config, classify, status: statusOf, metrics, runtime, log: child('http') });
      http = await startHttpServer(app, { host: config.http.host, port: config.http.port });
      started.push(() => http?.close());
    }
    log.info(
      { http: http?.url, deviceId: config.deviceId, model: runtime.holder.current()?.model, watch: config.watch.dirs },
      'agent started',
    );

    let stopping: Promise<void> | undefined;
    return {
      config,
      httpUrl: http?.url,
      metrics,
      classify,
      checkForUpdate: () => runtime.checkForUpdate(),
      rollback: () => runtime.rollback(),
      status: statusOf,
      idle: () => samples.idle(),
      stop: () => (stopping ??= unwind().then(() => log.info('agent stopped'))),
    };
  } catch (e) {
    await unwind();
    throw e;
  }
}
