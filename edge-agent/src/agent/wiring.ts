/** The agent's status report, its HTTP app and its folder watcher, built from the composed parts. */
import type { ModelRef } from '@edgeloop/protocol';
import type { Classification, ClassifyOptions } from '../classifier/classifier.js';
import type { AgentConfig } from '../config.js';
import { createHttpApp } from '../http/server.js';
import type { Logger } from '../log.js';
import type { Outbox, OutboxStats } from '../outbox/outbox.js';
import type { Sampler } from '../sampler/sampler.js';
import type { AgentMetrics } from '../telemetry/metrics.js';
import type { Uplink } from '../uplink/uplink.js';
import { FolderWatcher } from '../watch/folder-watcher.js';
import type { ModelRuntime, UpdateSummary } from './model-runtime.js';
import type { SampleCounts, SamplePath } from './sample-path.js';

/** `GET /status` and `edgeloop-agent status`. */
export interface AgentStatus {
  deviceId: string;
  agent: { version: string; uptimeS: number };
  model: ModelRef | null;
  modelSource: 'pinned' | 'updates';
  updates: UpdateSummary | null;
  outbox: OutboxStats | { error: string };
  uplink: { configured: boolean; url: string | null; connected: boolean };
  sampler: { source: 'local' | 'hub'; counts: SampleCounts };
  watch: { dirs: string[]; processed: number; failed: number };
  http: { url: string | null };
}

/** The broker URL without its credentials, for display. */
function displayUrl(url: string): string | null {
  if (!url) return null;
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.href;
}

export interface StatusParts {
  config: AgentConfig;
  version: string;
  startedAt: number;
  runtime: ModelRuntime;
  outbox: Outbox;
  uplink: Uplink | undefined;
  sampler: Sampler;
  samples: SamplePath;
  watchCounts: { processed: number; failed: number };
  httpUrl: string | undefined;
}

export async function agentStatus(p: StatusParts): Promise<AgentStatus> {
  const outbox = await p.outbox.stats().catch((e: Error) => ({ error: e.message }));
  return {
    deviceId: p.config.deviceId,
    agent: { version: p.version, uptimeS: Math.round((Date.now() - p.startedAt) / 1000) },
    model: p.runtime.holder.current()?.model ?? null,
    modelSource: p.config.model.dir ? 'pinned' : 'updates',
    updates: p.runtime.lastUpdate ?? null,
    outbox,
    uplink: { configured: p.uplink !== undefined, url: displayUrl(p.config.hub.mqttUrl), connected: p.uplink?.connected ?? false },
    sampler: { source: p.sampler.config.source, counts: { ...p.samples.counts } },
    watch: { dirs: [...p.config.watch.dirs], ...p.watchCounts },
    http: { url: p.httpUrl ?? null },
  };
}

export function createAgentHttpApp(p: {
  config: AgentConfig;
  classify: (bytes: Uint8Array, options: ClassifyOptions) => Promise<Classification>;
  status: () => Promise<AgentStatus>;
  metrics: AgentMetrics;
  runtime: ModelRuntime;
  log: Logger;
}) {
  return createHttpApp({
    classify: p.classify,
    status: p.status,
    metrics: async () => ({ contentType: p.metrics.registry.contentType, body: await p.metrics.registry.metrics() }),
    ready: () => p.runtime.holder.current() !== undefined,
    bodyLimitBytes: p.config.http.bodyLimitBytes,
    defaultTopK: p.config.classifier.topK,
    onError: (err) => p.log.error({ err }, 'request failed'),
  });
}

/** The folder watcher over the classification path, logging each file; `undefined` when no folder is configured. */
export function createWatcher(
  config: AgentConfig,
  classify: (bytes: Uint8Array) => Promise<Classification>,
  counts: { processed: number; failed: number },
  log: Logger,
): FolderWatcher<Classification> | undefined {
  if (config.watch.dirs.length === 0) return undefined;
  return new FolderWatcher<Classification>({
    dirs: config.watch.dirs,
    stableMs: config.watch.stableMs,
    rescanMs: config.watch.rescanMs,
    maxBytes: config.http.bodyLimitBytes,
    handle: (bytes) => classify(bytes),
    onEvent: (e) => {
      if (e.error === undefined) {
        counts.processed++;
        log.info({ file: e.path, label: e.result?.label, confidence: e.result?.confidence, movedTo: e.movedTo }, 'classified');
      } else {
        counts.failed++;
        log.warn({ file: e.path, err: e.error, movedTo: e.movedTo }, 'file not classified');
      }
    },
    onError: (err, path) => log.warn({ err, path }, 'watch problem'),
  });
}
