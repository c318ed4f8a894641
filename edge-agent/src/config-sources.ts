/**
 * Where configuration comes from, in order of precedence: command-line flags, then
 * `EDGELOOP_AGENT_*` environment variables, then a JSON file, then {@link defaultConfig}. One table,
 * {@link SETTINGS}, names every flag and variable, so the CLI, the loader and the README agree.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { type AgentConfig, AgentConfigSchema, defaultConfig } from './config.js';
import { AgentError } from './errors.js';

export const ENV_PREFIX = 'EDGELOOP_AGENT_';

type Kind = 'string' | 'int' | 'number' | 'bool' | 'list';

export interface Setting {
  /** The long flag, without `--`. */
  flag: string;
  /** The variable, without {@link ENV_PREFIX}. */
  env: string;
  /** Where it lands in {@link AgentConfig}. */
  path: readonly string[];
  kind: Kind;
  help: string;
}

const s = (flag: string, path: string, kind: Kind, help: string): Setting => ({
  flag,
  env: flag.toUpperCase().replaceAll('-', '_'),
  path: path.split('.'),
  kind,
  help,
});

/** Every setting that a flag or a variable can set. Nested objects (sampling, budgets) come from the file. */
export const SETTINGS: readonly Setting[] = [
  s('device-id', 'deviceId', 'string', 'device id (MQTT client id and username)'),
  s('secret', 'secret', 'string', 'device broker password'),
  s('hub-mqtt-url', 'hub.mqttUrl', 'string', "hub broker URL; '' runs offline"),
  s('hub-http-url', 'hub.httpUrl', 'string', 'hub HTTP base URL'),
  s('repository-url', 'hub.repositoryUrl', 'string', 'TUF repository base URL (default <hub-http-url>/tuf/)'),
  s('model', 'model.name', 'string', 'model name to run and follow'),
  s('model-dir', 'model.dir', 'string', 'run exactly this model directory; no updates'),
  s('state-dir', 'stateDir', 'string', 'outbox, TUF metadata and sampler state'),
  s('models-dir', 'modelsDir', 'string', 'installed models (default <state-dir>/models)'),
  s('top-k', 'classifier.topK', 'int', 'classes returned per image'),
  s('threads', 'classifier.intraOpThreads', 'int', 'onnxruntime intra-op threads'),
  s('watch', 'watch.dirs', 'list', 'folder to watch (repeat the flag; comma-separated in the variable)'),
  s('watch-stable-ms', 'watch.stableMs', 'int', 'a file must be unchanged this long before it is read'),
  s('watch-rescan-ms', 'watch.rescanMs', 'int', 'periodic rescan of watched folders'),
  s('http', 'http.enabled', 'bool', 'serve the local HTTP API (true/false)'),
  s('http-host', 'http.host', 'string', 'HTTP API address'),
  s('http-port', 'http.port', 'int', 'HTTP API port (0 picks a free one)'),
  s('http-body-limit', 'http.bodyLimitBytes', 'int', 'largest POST /classify body'),
  s('outbox-max-bytes', 'outbox.maxBytes', 'int', 'outbox byte cap'),
  s('outbox-overflow', 'outbox.overflow', 'string', 'reject_new or evict_oldest'),
  s('outbox-ttl-s', 'outbox.ttlS', 'int', 'samples older than this are dropped unsent'),
  s('telemetry-interval-s', 'telemetry.intervalS', 'int', 'telemetry window length'),
  s('heartbeat-s', 'telemetry.heartbeatS', 'int', 'status heartbeat period'),
  s('update-interval-s', 'updates.checkIntervalS', 'int', 'poll for model updates (0: announcements only)'),
  s('trusted-root', 'updates.trustedRoot', 'string', 'provisioned TUF root.json (trusted until a verified root is stored)'),
  s('log-level', 'log.level', 'string', 'fatal, error, warn, info, debug, trace or silent'),
];

export type Flags = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ConfigSources {
  /** Parsed flags by long name (as `node:util` `parseArgs` gives them). */
  flags?: Flags;
  /** The environment; only the CLI entry passes `process.env`. */
  env?: Record<string, string | undefined>;
  /** A JSON file's path, or its parsed content. Default: `--config`, then `EDGELOOP_AGENT_CONFIG`. */
  file?: string | object;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys a file replaces whole: a sampling config is one strategy, and mixing two would be neither. */
const REPLACED_WHOLE = new Set(['sampling']);

function merge(base: Json, over: Json, top = true): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) && !(top && REPLACED_WHOLE.has(k)) ? merge(out[k] as Json, v, false) : v;
  }
  return out;
}

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1]!] = value;
}

function convert(setting: Setting, raw: string | boolean | (string | boolean)[], where: string): unknown {
  const one = Array.isArray(raw) ? raw[raw.length - 1]! : raw;
  switch (setting.kind) {
    case 'list':
      return (Array.isArray(raw) ? raw : [raw])
        .flatMap((v) => String(v).split(','))
        .map((v) => v.trim())
        .filter(Boolean);
    case 'bool':
      if (one === true || one === 'true' || one === '1') return true;
      if (one === false || one === 'false' || one === '0') return false;
      throw new AgentError('BAD_CONFIG', `${where} must be true or false, got "${one}"`);
    case 'int':
    case 'number': {
      const n = Number(one);
      if (String(one).trim() === '' || !Number.isFinite(n) || (setting.kind === 'int' && !Number.isInteger(n))) {
        throw new AgentError('BAD_CONFIG', `${where} must be ${setting.kind === 'int' ? 'an integer' : 'a number'}, got "${one}"`);
      }
      return n;
    }
    default:
      return String(one);
  }
}

function readFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AgentError('BAD_CONFIG', `cannot read the config file ${file}`, { cause });
  }
  try {
    const json: unknown = JSON.parse(text);
    if (!isObject(json)) throw new Error('not a JSON object');
    return json;
  } catch (cause) {
    throw new AgentError('BAD_CONFIG', `config file ${file} is not a JSON object`, { cause });
  }
}

function describeIssues(error: z.ZodError, origins: Map<string, string>): string {
  return error.issues
    .map((i) => {
      const path = i.path.map(String).join('.');
      const origin = origins.get(path) ?? [...origins].find(([p]) => path.startsWith(`${p}.`))?.[1] ?? 'defaults or file';
      return `  ${path || '(root)'}: ${i.message} (from ${origin})`;
    })
    .join('\n');
}

/** Merges the sources over {@link defaultConfig} and validates the result; throws `BAD_CONFIG` listing every problem. */
export function loadConfig(sources: ConfigSources = {}): AgentConfig {
  const { flags = {}, env = {} } = sources;
  const origins = new Map<string, string>();
  const fileSource = sources.file ?? (flags.config as string | undefined) ?? env[`${ENV_PREFIX}CONFIG`];
  const file = typeof fileSource === 'string' ? readFile(fileSource) : ((fileSource ?? {}) as Json);
  const fileName = typeof fileSource === 'string' ? `file ${fileSource}` : 'file';
  // A deep copy: the flag and env layers below write into nested objects.
  const { modelsDir: _derived, ...defaults } = structuredClone(defaultConfig);
  const merged = merge(defaults, file);
  for (const key of Object.keys(file)) origins.set(key, fileName);
  for (const setting of SETTINGS) {
    const name = `${ENV_PREFIX}${setting.env}`;
    const fromEnv = env[name];
    if (fromEnv !== undefined && fromEnv !== '') {
      setPath(merged, setting.path, convert(setting, fromEnv, name));
      origins.set(setting.path.join('.'), `env ${name}`);
    }
    const fromFlag = flags[setting.flag];
    if (fromFlag !== undefined) {
      setPath(merged, setting.path, convert(setting, fromFlag, `--${setting.flag}`));
      origins.set(setting.path.join('.'), `flag --${setting.flag}`);
    }
  }
  // modelsDir follows stateDir unless some layer set it.
  if (merged.modelsDir === undefined && typeof merged.stateDir === 'string') merged.modelsDir = join(merged.stateDir, 'models');
  const parsed = AgentConfigSchema.safeParse(merged);
  if (!parsed.success) throw new AgentError('BAD_CONFIG', `invalid configuration:\n${describeIssues(parsed.error, origins)}`);
  return parsed.data;
}
