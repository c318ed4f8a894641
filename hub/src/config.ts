/**
 * The hub's typed configuration. `defaultConfig` runs everything in one process with no outside
 * services; `main.ts` is the only place that reads `EDGELOOP_*` environment variables into it.
 */
import { MAX_MQTT_PAYLOAD_BYTES, type SamplingConfigInput } from '@edgeloop/protocol';
import { defaultPipelineConfig, type PipelineConfig } from './pipeline/config.js';
import { defaultRegistryConfig, type RegistryConfig } from './registry/config.js';
import { defaultTriggerConfig, type TriggerConfig } from './triggers/config.js';

/** The signed release repository (see docs/releases.md). */
export interface ReleasesConfig {
  /** Where `edgeloop-hub keys init` wrote the role keys. */
  keysDir: string;
  /** How often the online roles (snapshot, timestamp) are re-signed before they expire. */
  resignIntervalMs: number;
  /**
   * Create keys (one online root key) and an empty repository at start when there is none, so a
   * development hub works at once. Production: `keys init` with offline root keys, and false.
   */
  autoInit: boolean;
}

export interface MqttConfig {
  /** `embedded` runs aedes in-process; `external` makes the hub a client of `url`. */
  mode: 'embedded' | 'external';
  /** External broker URL (`mqtt://user:pass@host:1883`), used when `mode` is `external`. */
  url?: string;
  /** Interface the embedded broker listens on. */
  host: string;
  /** MQTT over TCP port of the embedded broker (0 picks a free port). */
  tcpPort: number;
  /** MQTT over WebSocket port of the embedded broker, for browsers (0 picks one; -1 disables). */
  wsPort: number;
  /** Largest MQTT packet accepted, in bytes. */
  maxPayloadBytes: number;
  maxTopicLevels: number;
  /** A client that has not sent CONNECT within this time is dropped. */
  connectTimeoutMs: number;
  /** A client whose socket does not drain within this time is dropped (slow consumers). */
  drainTimeoutMs: number;
  /** Per-client publish rate limit (token bucket). */
  rateLimit: { messagesPerSecond: number; burst: number };
  /** Largest number of QoS1 publishes from one client that the hub is still processing. */
  maxInflightPerClient: number;
  /** Rate-limit or in-flight violations tolerated before the client is disconnected. */
  maxViolations: number;
  /** The hub's own broker identity (separate from every device). */
  hubUsername: string;
  hubPassword: string;
  /** Shared-subscription group, so that hub replicas on an external broker split the load. */
  sharedGroup: string;
}

export interface IngestConfig {
  /** Most samples committed in one transaction. */
  groupCommitMaxItems: number;
  /** Longest a sample waits for its group to fill before the commit. */
  groupCommitMaxDelayMs: number;
  /** Samples accepted for processing but not yet committed; beyond this the hub sheds load. */
  maxQueuedSamples: number;
  /**
   * Images of at most this many bytes are staged: written into the `sample_blobs` table in the
   * same group-commit transaction as their row, so one fsync makes a whole group durable, and moved
   * to the object store later by the `BlobSpiller`. Larger images are put into the object store
   * before their row is committed. 0 turns staging off.
   */
  stageMaxBytes: number;
  /**
   * Staged blobs the spiller may lag behind by. Beyond this, new samples take the direct path
   * (object-store put, then row) until it catches up, so ingest slows to the store's pace instead
   * of the database growing without bound.
   */
  maxStagedBlobs: number;
  /** Image bounds checked from the header before decoding. */
  maxPixels: number;
  maxSide: number;
  maxChannels: number;
}

/** The browser client (the PWA in `browser-client/`), served at `/`. */
export interface BrowserClientConfig {
  /** The built client (`browser-client/dist`); undefined serves a page that says how to build it. */
  dir?: string;
  /**
   * The MQTT-over-WebSocket URL handed to browsers. Default: the embedded broker's WebSocket port
   * on the host name the page was loaded from (`wss` when the page came over https).
   */
  mqttUrl?: string;
  /** Sampling configuration for browsers until the hub sends one on a device's config topic. */
  sampling?: SamplingConfigInput;
  /** How often an open page checks for a model update, besides announcements. */
  updatePollSeconds: number;
  /**
   * Browsers register themselves (`POST /browser/register`): each gets its own device credentials,
   * with the same default-deny ACL as any device. Rate-limited per client address and in total.
   */
  selfRegister: { enabled: boolean; perAddressPerHour: number; totalPerHour: number };
}

export interface Config {
  /** Where the database and the default object store live. */
  dataDir: string;
  databasePath: string;
  /** `file:///abs/dir` or `s3://bucket/prefix?endpoint=http://host:port&region=...`. */
  objectStoreUrl: string;
  http: { host: string; port: number; bodyLimitBytes: number };
  mqtt: MqttConfig;
  ingest: IngestConfig;
  /** Bearer token for the admin API. Empty disables admin routes (they answer 401). */
  adminToken: string;
  /** Name of the production model, used for pre-annotation and `/classify`. */
  productionModel: string;
  /**
   * Directory with `model.onnx` and `manifest.json` (as `edgeloop-models train` writes them) used
   * to pre-annotate samples and answer `/classify`, until the registry (#6) provides one.
   */
  classifierModelDir?: string;
  /** How often pending samples are pre-annotated; 0 turns it off. */
  preAnnotateIntervalMs: number;
  /** Folder imports through the API resolve below this directory. */
  importDir: string;
  triggers: TriggerConfig;
  registry: RegistryConfig;
  releases: ReleasesConfig;
  pipeline: PipelineConfig;
  /** Spawn one local trainer worker (`npm start`); remote workers use `edgeloop-trainer`. */
  localTrainer: boolean;
  browserClient: BrowserClientConfig;
  /**
   * `mnist`: with no champion yet, import the bundled MNIST digits and train, gate and release a
   * first model at start (what `npm start` does). `none` (the default for embedded uses) waits for
   * data and triggers.
   */
  bootstrap: 'none' | 'mnist';
  /** With `bootstrap: 'mnist'`, import only this many digits per class (default: all 1,000). */
  bootstrapPerClass?: number;
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

/** Defaults for `dataDir`; every path below it is derived with {@link configFor}. */
export function configFor(dataDir: string, overrides: Partial<Config> = {}): Config {
  return {
    dataDir,
    databasePath: `${dataDir}/hub.db`,
    objectStoreUrl: `file://${dataDir}/objects`,
    http: { host: '127.0.0.1', port: 8080, bodyLimitBytes: 2 * 1024 * 1024 },
    mqtt: {
      mode: 'embedded',
      host: '127.0.0.1',
      tcpPort: 1883,
      wsPort: 8083,
      maxPayloadBytes: MAX_MQTT_PAYLOAD_BYTES + 1024,
      maxTopicLevels: 16,
      connectTimeoutMs: 10_000,
      drainTimeoutMs: 30_000,
      rateLimit: { messagesPerSecond: 200, burst: 400 },
      maxInflightPerClient: 256,
      maxViolations: 50,
      hubUsername: 'edgeloop-hub',
      hubPassword: '',
      sharedGroup: 'edgeloop-hub',
    },
    ingest: {
      groupCommitMaxItems: 256,
      groupCommitMaxDelayMs: 5,
      maxQueuedSamples: 10_000,
      stageMaxBytes: 256 * 1024,
      maxStagedBlobs: 50_000,
      maxPixels: 4_000_000,
      maxSide: 8192,
      maxChannels: 4,
    },
    adminToken: '',
    productionModel: 'default',
    preAnnotateIntervalMs: 2_000,
    importDir: `${dataDir}/imports`,
    triggers: structuredClone(defaultTriggerConfig),
    registry: structuredClone(defaultRegistryConfig),
    releases: { keysDir: `${dataDir}/keys`, resignIntervalMs: 3_600_000, autoInit: true },
    pipeline: structuredClone(defaultPipelineConfig),
    localTrainer: true,
    browserClient: { updatePollSeconds: 300, selfRegister: { enabled: true, perAddressPerHour: 20, totalPerHour: 600 } },
    bootstrap: 'none',
    log: { level: 'info' },
    ...overrides,
  };
}

/**
 * What `npm start` runs: everything under `./.edgeloop`, and a first model trained on the bundled
 * MNIST digits at first start (the model is called `digits`).
 */
export const defaultConfig: Config = (() => {
  const base = configFor('./.edgeloop');
  return { ...base, bootstrap: 'mnist', productionModel: 'digits', pipeline: { ...base.pipeline, model: 'digits' } };
})();
