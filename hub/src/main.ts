/**
 * The hub's composition root. It is the only module that reads `EDGELOOP_*` environment variables
 * and the only one that starts listeners and timers: `startHub(config)` wires the database, the
 * object store, the broker, the ingest pipeline and the HTTP API; running this file starts a hub
 * from the environment and shuts it down gracefully on SIGTERM/SIGINT (drain ingest, then close
 * the broker, the HTTP server and the database).
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serve } from '@hono/node-server';
import { createApi } from './api/app.js';
import { ImportJobs } from './api/import-jobs.js';
import { bootstrapFirstModel } from './bootstrap.js';
import { startEmbeddedBroker } from './broker/embedded.js';
import { connectExternalBroker } from './broker/external.js';
import type { HubBroker } from './broker/hub-broker.js';
import { type Config, defaultConfig } from './config.js';
import { importDataset } from './datasets/import.js';
import { type OpenDatabase, openDatabase } from './db/open.js';
import { configFromEnv } from './env.js';
import { HubError } from './errors.js';
import { DeviceRegistry } from './fleet/devices.js';
import { TelemetryStore } from './fleet/telemetry-store.js';
import { BlobSpiller } from './ingest/blob-spiller.js';
import { createIngest, type Ingest } from './ingest/pipeline.js';
import { closeSqliteWriter } from './ingest/sqlite-writer.js';
import { type Classifier, loadOnnxClassifier } from './labeling/classifier.js';
import { PreAnnotator } from './labeling/pre-annotate.js';
import { LabellingQueue } from './labeling/queue.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type HubMetrics } from './metrics.js';
import { adminTokenFor, startBanner } from './start-banner.js';
import type { ObjectStore } from './storage/object-store.js';
import { openObjectStore } from './storage/open-object-store.js';
import { spawnLocalTrainer } from './trainer/local-trainer.js';
import { startTraining } from './training.js';
import { TriggerEngine } from './triggers/engine.js';

const DEFAULT_CLIENT_DIR = fileURLToPath(new URL('../../browser-client/dist', import.meta.url));

export { configFromEnv };

/** A running hub. `close()` is the graceful shutdown. */
export interface Hub {
  config: Config;
  log: Logger;
  metrics: HubMetrics;
  database: OpenDatabase;
  store: ObjectStore;
  devices: DeviceRegistry;
  broker: HubBroker;
  ingest: Ingest;
  /** Where clients reach the hub. */
  urls: { http: string; mqtt: string; ws?: string };
  /** With `bootstrap: 'mnist'`, resolves once the first model is live (at once otherwise). */
  firstModel: Promise<void>;
  close(): Promise<void>;
}

/** Starts every part of the hub from `config`; on failure it closes what it had opened. */
export async function startHub(config: Config, options: { log?: Logger } = {}): Promise<Hub> {
  const log = options.log ?? createLogger(config.log.level);
  const metrics = createMetrics();
  const cleanups: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log.error({ err: error }, 'shutdown step failed');
      }
    }
  };
  try {
    const database = openDatabase(config.databasePath);
    cleanups.push(async () => {
      // The group-commit writer thread has its own connection: it closes first.
      await closeSqliteWriter(database.sqlite);
      database.close();
    });
    const store = await openObjectStore(config.objectStoreUrl);
    cleanups.push(() => store.close());
    const devices = new DeviceRegistry(database);
    // The hub's own broker identity. Embedded mode never sends it on the wire, so a random one
    // will do; an external broker must know it (EDGELOOP_MQTT_HUB_PASSWORD or the URL's userinfo).
    if (config.mqtt.mode === 'external' && !config.mqtt.hubPassword && !new URL(config.mqtt.url ?? 'mqtt://x').username) {
      throw new HubError(
        'BAD_CONFIG',
        'an external broker needs the hub identity: set EDGELOOP_MQTT_HUB_PASSWORD or credentials in EDGELOOP_MQTT_URL',
      );
    }
    const mqtt = { ...config.mqtt, hubPassword: config.mqtt.hubPassword || randomBytes(24).toString('base64url') };
    const broker =
      mqtt.mode === 'external'
        ? await connectExternalBroker({ config: mqtt, log, metrics })
        : await startEmbeddedBroker({
            config: mqtt,
            authenticator: devices.authenticator({ hubUsername: mqtt.hubUsername, hubPassword: mqtt.hubPassword }),
            log,
            metrics,
          });
    cleanups.push(() => broker.close());
    // Small blobs are committed with their rows (one fsync per group) and moved to the object
    // store in the background; at shutdown the spiller flushes after ingest has drained.
    const spiller = new BlobSpiller({ db: database, store, log, metrics, deferBelow: Math.floor(config.ingest.maxStagedBlobs / 2) });
    spiller.start();
    cleanups.push(async () => {
      try {
        await spiller.flush(20_000);
      } finally {
        await spiller.stop();
      }
    });
    // Telemetry windows are stored for drift detection; the trigger engine is told of each one.
    const telemetry = new TelemetryStore(database);
    let triggers: TriggerEngine | undefined;
    const ingest = createIngest({
      onTelemetry: (deviceId, window, receivedAt) => {
        telemetry.record(deviceId, window, receivedAt);
        triggers?.notify('telemetry');
      },
      db: database,
      store,
      publish: (topic, payload) => broker.publish(topic, payload),
      config: config.ingest,
      log,
      metrics,
    });
    // Ingest drains before the broker closes (cleanups run in reverse).
    cleanups.push(() => ingest.drain());
    broker.onDeviceMessage((message) => ingest.handle(message));
    broker.onPresence((event) => {
      try {
        devices.setPresence(event.deviceId, event.online, event.at);
        metrics.connectedDevices.set(broker.connectedClients());
      } catch (error) {
        log.warn({ err: error, deviceId: event.deviceId }, 'cannot record presence');
      }
    });

    let classifier: Classifier | undefined;
    if (config.classifierModelDir) {
      classifier = await loadOnnxClassifier(config.classifierModelDir);
      log.info({ model: classifier }, 'production classifier loaded');
    }
    // Each label written in the queue asks the trigger engine to look again (coalesced).
    const queue = new LabellingQueue({ db: database, metrics, onLabelled: () => triggers?.notify('labelled') });
    const preAnnotator = new PreAnnotator({ db: database, store, log, classifier: () => classifier });
    if (config.preAnnotateIntervalMs > 0) {
      let running = false;
      const timer = setInterval(() => {
        if (running || !classifier) return;
        running = true;
        preAnnotator
          .runOnce()
          .catch((error: unknown) => log.warn({ err: error }, 'pre-annotation failed'))
          .finally(() => {
            running = false;
          });
      }, config.preAnnotateIntervalMs);
      timer.unref();
      cleanups.push(() => clearInterval(timer));
    }

    // Issue #6: triggers → pipeline (snapshot, train, gate, release to the canary) → rollout.
    const training = await startTraining(config, { database, store, broker, telemetry, log, cleanups });
    triggers = new TriggerEngine({
      db: database,
      config: config.triggers,
      telemetry,
      log,
      lastTraining: () => training.services.pipeline.lastTraining(),
      busy: () => training.services.pipeline.busy(),
      champion: () => training.services.pipeline.champion(),
      onFire: (firing) => {
        training.services.pipeline.onFire(firing);
      },
    });
    triggers.start();
    const engine = triggers;
    cleanups.push(() => engine.stop());

    const imports = new ImportJobs(importDataset, { db: database, store });
    cleanups.push(() => imports.idle());

    let ready = true;
    const api = createApi({
      // The monorepo's built client unless configured: hub/{src,dist}/main → browser-client/dist.
      config: { ...config, browserClient: { ...config.browserClient, dir: config.browserClient.dir ?? DEFAULT_CLIENT_DIR } },
      db: database,
      store,
      devices,
      queue,
      classifier: () => classifier,
      importer: importDataset,
      imports,
      importRoot: config.importDir,
      registry: { runs: training.services.runs, models: training.services.models, gate: training.services.gate },
      triggers: engine,
      training: training.services,
      broker,
      metrics,
      log,
      ready: () => ready,
    });
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const s = serve({ fetch: api.fetch, hostname: config.http.host, port: config.http.port }, () => resolve(s));
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          ready = false;
          server.close(() => resolve());
          // Keep-alive connections would hold close() open; they are idle at shutdown.
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    // A slow client may not hold a connection for Node's default five minutes.
    Object.assign(server as Server, { requestTimeout: 30_000, headersTimeout: 10_000 });
    const port = (server.address() as AddressInfo).port;
    if (config.localTrainer) {
      const trainer = spawnLocalTrainer(`http://127.0.0.1:${port}`, training.workerToken, log);
      cleanups.push(() => trainer.stop());
    }
    const urls = { http: `http://${config.http.host}:${port}`, ...broker.urls };
    log.info({ urls, objectStore: store.description, database: config.databasePath }, 'hub started');
    let firstModel: Promise<void> = Promise.resolve();
    if (config.bootstrap === 'mnist') {
      const boot = bootstrapFirstModel({
        db: database,
        store,
        log,
        model: config.pipeline.model,
        services: training.services,
        triggers: engine,
        ...(config.bootstrapPerClass ? { perClass: config.bootstrapPerClass } : {}),
      });
      cleanups.push(() => boot.stop());
      firstModel = boot.done;
    }

    let closing: Promise<void> | undefined;
    return {
      config,
      log,
      metrics,
      database,
      store,
      devices,
      broker,
      ingest,
      urls,
      firstModel,
      close: () => {
        closing ??= closeAll().then(() => log.info('hub stopped'));
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/**
 * The demo's quicker loop: the production defaults wait for 500 new labels, then 5 minutes, at
 * most once every 6 hours, and watch a canary for 30 minutes; a demo shows a whole loop in a few.
 */
export function demoConfig(config: Config): Config {
  const { triggers, pipeline } = config;
  return {
    ...config,
    triggers: {
      ...triggers,
      debounceMs: 10_000,
      cooldownMs: 120_000,
      intervalMs: 10_000,
      newLabels: { ...triggers.newLabels, minCount: 300 },
    },
    pipeline: { ...pipeline, rollout: { ...pipeline.rollout, watchMs: 60_000, minPredictions: 100, tickMs: 5_000 } },
  };
}

/** Runs a hub from the environment until SIGTERM or SIGINT; `--demo` adds the simulated fleet. */
async function runFromEnvironment(argv: string[]): Promise<void> {
  const demo = argv.includes('--demo');
  // Signals are handled from the first moment: one that arrives while the hub starts stops it as
  // soon as it has started, gracefully, instead of killing it half-open.
  let hub: Hub | undefined;
  let stopDemo: (() => Promise<void>) | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    if (!hub) return; // handled right after the start
    hub.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    const running = hub;
    Promise.resolve(stopDemo?.())
      .catch(() => {})
      .then(() => running.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const fromEnv = configFromEnv(process.env, defaultConfig);
  const base = demo ? demoConfig(fromEnv) : fromEnv;
  const config = { ...base, adminToken: adminTokenFor(base) };
  hub = await startHub(config);
  if (stopping) {
    stopping = false;
    stop('a signal during start');
    return;
  }
  const started = hub;
  // One line on stdout that tools (tests, the fleet simulator) can wait for; the banner is for people.
  process.stdout.write(`${JSON.stringify({ event: 'ready', urls: started.urls })}\n`);
  process.stderr.write(`${startBanner({ urls: started.urls, token: config.adminToken, config, demo })}\n`);
  started.firstModel
    .then(
      async () => {
        process.stdout.write(`${JSON.stringify({ event: 'model-ready', model: config.pipeline.model })}\n`);
        if (!demo || stopping) return;
        // The simulator lives in the loadtests workspace (a development part), so it is loaded only here.
        const specifier = '@edgeloop/loadtests';
        const { runDemo } = (await import(specifier)) as {
          runDemo(o: {
            hubUrl: string;
            mqttUrl: string;
            adminToken: string;
            model: string;
            canaryPercent: number;
            cohortSalt: string;
          }): Promise<{ stop(): Promise<void> }>;
        };
        const running = await runDemo({
          hubUrl: started.urls.http,
          mqttUrl: started.urls.mqtt,
          adminToken: config.adminToken,
          model: config.pipeline.model,
          canaryPercent: config.pipeline.rollout.canaryPercent,
          cohortSalt: config.pipeline.rollout.cohortSalt,
        });
        stopDemo = () => running.stop();
      },
      () => {}, // logged by the bootstrap
    )
    .catch((err: unknown) => started.log.error({ err }, 'the demo could not start'));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runFromEnvironment(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`edgeloop-hub: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
