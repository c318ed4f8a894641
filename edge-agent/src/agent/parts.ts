/** Construction of the agent's state database and uplink from its configuration (no side effects but opening the file). */
import { join } from 'node:path';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../log.js';
import { SqliteOutbox } from '../outbox/sqlite-outbox.js';
import type { Sampler } from '../sampler/sampler.js';
import type { AgentMetrics } from '../telemetry/metrics.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { Uplink } from '../uplink/uplink.js';
import type { ModelRuntime } from './model-runtime.js';

/** The outbox file inside the state directory (the sampler shares it). */
export const STATE_DB = 'agent.db';

/** Opens `<stateDir>/agent.db` with the configured cap, overflow policy and TTL. */
export function openOutbox(config: AgentConfig, options: { now?: () => number; log?: Logger } = {}): SqliteOutbox {
  return new SqliteOutbox({
    path: join(config.stateDir, STATE_DB),
    maxBytes: config.outbox.maxBytes,
    overflow: config.outbox.overflow,
    ttlMs: config.outbox.ttlS * 1000,
    backoff: { baseMs: 1_000, maxMs: 300_000, jitter: 0.5 },
    now: options.now,
    onAlert: (alert) => options.log?.error({ code: alert.code, reason: alert.reason, err: alert.cause }, alert.message),
  });
}

/** The MQTT uplink: hub config goes to the sampler and telemetry, announcements trigger a (verified) check. */
export function createUplink(p: {
  config: AgentConfig;
  version: string;
  outbox: SqliteOutbox;
  sampler: Sampler;
  telemetry: Telemetry;
  runtime: ModelRuntime;
  metrics: AgentMetrics;
  log: Logger;
  now?: () => number;
}): Uplink {
  const { config, runtime, log } = p;
  return new Uplink({
    url: config.hub.mqttUrl,
    deviceId: config.deviceId,
    secret: config.secret,
    outbox: p.outbox,
    agentVersion: p.version,
    model: () => runtime.holder.current()?.model,
    followModels: [config.model.name],
    heartbeatMs: config.telemetry.heartbeatS * 1000,
    now: p.now,
    metrics: p.metrics,
    log,
    onConfig: (c) => {
      p.sampler.applyConfig(c);
      p.telemetry.setIntervalMs(c.telemetryIntervalS * 1000);
      log.info({ telemetryIntervalS: c.telemetryIntervalS }, 'device config from the hub applied');
    },
    // A hint only: the check verifies everything against the TUF repository.
    onAnnouncement: (a) => {
      if (a.model === config.model.name) void runtime.checkForUpdate();
    },
  });
}
