/** `@edgeloop/edge-agent`: the offline-first classification daemon and its parts. */

export { installedModelDir, ModelRuntime, type UpdateSummary } from './agent/model-runtime.js';
export { type SampleCounts, SamplePath } from './agent/sample-path.js';
export type { AgentStatus } from './agent/wiring.js';
export { AGENT_VERSION, type Agent, type AgentDeps, startAgent } from './agent.js';
export { type Classification, type Classifier, type ClassifyOptions, type LoadOptions, loadClassifier } from './classifier/classifier.js';
export { ClassifierHolder } from './classifier/holder.js';
export { type ScoredLabel, toProbabilities, topK } from './classifier/probabilities.js';
export { runCli } from './commands/main.js';
export { type AgentConfig, AgentConfigSchema, type Config, configFor, defaultConfig, repositoryUrlOf } from './config.js';
export { type ConfigSources, ENV_PREFIX, loadConfig, SETTINGS, type Setting } from './config-sources.js';
export { AgentError, type AgentErrorCode } from './errors.js';
export { createHttpApp, type HttpDeps, type RunningHttpServer, startHttpServer } from './http/server.js';
export { createLogger, type Logger } from './log.js';
export type { EnqueueResult, Outbox, OutboxEntry, OutboxItem, OutboxPolicy, OutboxStats, OverflowPolicy } from './outbox/outbox.js';
export { SqliteOutbox, type SqliteOutboxOptions } from './outbox/sqlite-outbox.js';
export { Sampler, type SamplerOptions, type SampleVerdict } from './sampler/sampler.js';
export { type AgentMetrics, agentMetrics } from './telemetry/metrics.js';
export { Telemetry, type TelemetryOptions } from './telemetry/telemetry.js';
export * from './updates/index.js';
export { Uplink, type UplinkOptions } from './uplink/uplink.js';
export { FAILED_DIR, FolderWatcher, type FolderWatcherOptions, PROCESSED_DIR, type WatchEvent } from './watch/folder-watcher.js';
