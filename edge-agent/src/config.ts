/**
 * The agent's typed configuration. `defaultConfig` classifies offline with nothing but a model;
 * {@link loadConfig} (in `config-sources.ts`) layers a JSON file, `EDGELOOP_AGENT_*` variables and
 * command-line flags over it. Only the CLI entry reads the environment.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { BudgetConfigSchema, DeviceIdSchema, ModelNameSchema, SamplingConfigSchema } from '@edgeloop/protocol';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const OVERFLOW_POLICIES = ['reject_new', 'evict_oldest'] as const;

const url = (schemes: string[]) =>
  z.string().refine(
    (s) => {
      try {
        return schemes.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL with scheme ${schemes.join(' or ')}`,
  );

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);

/** The schema every layer is validated against once merged; `modelsDir` is derived when absent. */
export const AgentConfigSchema = z.strictObject({
  /** This device's id: its MQTT client id and the middle of its topics. */
  deviceId: DeviceIdSchema,
  /** The device's broker password (its username is the device id). Empty: connect without one. */
  secret: z.string().max(1024),
  hub: z.strictObject({
    /** The hub's broker (`mqtt://`, `mqtts://`, `ws://`, `wss://`); empty runs offline, with no uplink. */
    mqttUrl: z.union([z.literal(''), url(['mqtt:', 'mqtts:', 'ws:', 'wss:'])]),
    /** The hub's HTTP base URL. */
    httpUrl: url(['http:', 'https:']),
    /** Base URL of the TUF repository (metadata and targets); default `<httpUrl>/tuf/`. */
    repositoryUrl: url(['http:', 'https:']).optional(),
  }),
  model: z.strictObject({
    /** The model this device runs and follows updates of. */
    name: ModelNameSchema,
    /** Run exactly this model directory (`model.onnx` + `manifest.json`); disables updates. */
    dir: z.string().min(1).optional(),
  }),
  /** Where the agent keeps its outbox database, TUF metadata and sampler state. */
  stateDir: z.string().min(1),
  /** Installed models: `<modelsDir>/<name>/<version>/`; default `<stateDir>/models`. */
  modelsDir: z.string().min(1),
  classifier: z.strictObject({ topK: int(1, 1000), intraOpThreads: int(1, 64) }),
  watch: z.strictObject({
    /** Folders watched for new images; each one is classified once, then moved to `processed/`. */
    dirs: z.array(z.string().min(1)).max(64),
    /** A file is read only once its size and mtime have not changed for this long. */
    stableMs: int(0, 600_000),
    /** Periodic rescan, in case `fs.watch` misses an event (network shares, some containers). */
    rescanMs: int(100, 3_600_000),
  }),
  http: z.strictObject({
    enabled: z.boolean(),
    /** Loopback by default: the API has no authentication. */
    host: z.string().min(1),
    port: int(0, 65_535),
    bodyLimitBytes: int(1, 100_000_000),
  }),
  outbox: z.strictObject({
    maxBytes: int(1024),
    overflow: z.enum(OVERFLOW_POLICIES),
    ttlS: int(1),
  }),
  /** Local sampling defaults, used until the hub's device config arrives. */
  sampling: SamplingConfigSchema,
  budgets: BudgetConfigSchema,
  telemetry: z.strictObject({
    intervalS: int(1, 86_400),
    heartbeatS: int(1, 86_400),
    lowConfidenceThreshold: z.number().min(0).max(1),
  }),
  updates: z.strictObject({
    /** How often the TUF repository is polled besides announcements; 0 turns polling off. */
    checkIntervalS: int(0, 7 * 86_400),
    /** The provisioned TUF `root.json`, trusted only until a verified root is persisted in `stateDir`. */
    trustedRoot: z.string().min(1).optional(),
  }),
  log: z.strictObject({ level: z.enum(LOG_LEVELS) }),
});

export type AgentConfig = z.infer<typeof AgentConfigSchema>;
/** The house name for a package's configuration type. */
export type Config = AgentConfig;

/** The host name made into a valid device id, so a fresh install has a sensible default. */
function defaultDeviceId(): string {
  const id = hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return id || 'edge-agent';
}

/** Defaults for `stateDir`; `modelsDir` lies below it. */
export function configFor(stateDir: string): AgentConfig {
  return {
    deviceId: defaultDeviceId(),
    secret: '',
    hub: { mqttUrl: '', httpUrl: 'http://127.0.0.1:8080' },
    model: { name: 'default' },
    stateDir,
    modelsDir: join(stateDir, 'models'),
    classifier: { topK: 5, intraOpThreads: 1 },
    watch: { dirs: [], stableMs: 500, rescanMs: 5_000 },
    http: { enabled: true, host: '127.0.0.1', port: 8090, bodyLimitBytes: 10 * 1024 * 1024 },
    outbox: { maxBytes: 256 * 1024 * 1024, overflow: 'evict_oldest', ttlS: 7 * 86_400 },
    sampling: { strategy: { strategy: 'margin', threshold: 0.5, floor: 0.01 }, auditRate: 0.01 },
    budgets: { device: { capacity: 200, refillPerHour: 200 }, perClass: { capacity: 50, refillPerHour: 50 }, classOverrides: {} },
    telemetry: { intervalS: 60, heartbeatS: 30, lowConfidenceThreshold: 0.5 },
    updates: { checkIntervalS: 3_600 },
    log: { level: 'info' },
  };
}

export const defaultConfig: AgentConfig = configFor('./.edgeloop-agent');

/** The TUF repository base URL, with a trailing slash so relative paths resolve below it. */
export function repositoryUrlOf(config: AgentConfig): string {
  const base = config.hub.repositoryUrl ?? new URL('tuf/', `${config.hub.httpUrl.replace(/\/+$/, '')}/`).href;
  return base.endsWith('/') ? base : `${base}/`;
}
