/**
 * The agent's Prometheus metrics, in a registry of their own (never prom-client's global one, so
 * two agents in one process, as in tests, do not collide). The HTTP `/metrics` route serves
 * `metrics.registry.metrics()` with `metrics.registry.contentType`.
 */
import type { ModelRef } from '@edgeloop/protocol';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Outbox, OutboxStats } from '../outbox/outbox.js';

export interface AgentMetrics {
  readonly registry: Registry;
  /** Predictions made, by top label. */
  readonly classifications: Counter<'label'>;
  /** Inference latency, seconds. */
  readonly latency: Histogram;
  /** Sample frames handed to the broker (each resend counts). */
  readonly samplesSent: Counter;
  /** Samples the hub accepted (SampleAck `accepted`). */
  readonly samplesAcked: Counter;
  /** Samples the hub refused for good (SampleAck `rejected`), by reject code. */
  readonly samplesRejected: Counter<'code'>;
  /** Reports the running model as `edgeloop_agent_model_info{model,version} 1`. */
  setModel(model: ModelRef | undefined): void;
  /** Reads the outbox gauges and its persisted totals from `outbox` at every scrape. */
  bindOutbox(outbox: Outbox): void;
}

export interface AgentMetricsOptions {
  /** Also collect prom-client's process metrics (RSS, CPU, event loop lag). Default false. */
  processMetrics?: boolean;
}

/** Creates the agent's metrics. Starts no timers. */
export function agentMetrics(options: AgentMetricsOptions = {}): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'edgeloop_agent_' });

  let outbox: Outbox | undefined;
  // One outbox read per scrape, shared by the gauges and counters below: a scrape calls every
  // metric's collect() synchronously, so the read is shared until the next microtask.
  let pending: Promise<OutboxStats | undefined> | undefined;
  const stats = (): Promise<OutboxStats | undefined> => {
    if (!pending) {
      pending = (outbox?.stats() ?? Promise.resolve(undefined)).catch(() => undefined);
      queueMicrotask(() => {
        pending = undefined;
      });
    }
    return pending;
  };
  const gauge = (name: string, help: string, pick: (s: OutboxStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const s = await stats();
        if (s) this.set(pick(s));
      },
    });
  /** A counter that mirrors a total the outbox persists: it moves by the difference since the last scrape. */
  const total = (name: string, help: string, pick: (s: OutboxStats) => number) => {
    let seen = 0;
    return new Counter({
      name,
      help,
      registers,
      async collect() {
        const s = await stats();
        if (s && pick(s) > seen) {
          this.inc(pick(s) - seen);
          seen = pick(s);
        }
      },
    });
  };
  gauge('edgeloop_agent_outbox_items', 'Samples waiting in the outbox for the hub ack.', (s) => s.count);
  gauge('edgeloop_agent_outbox_bytes', 'Bytes of sample frames in the outbox.', (s) => s.bytes);
  total('edgeloop_agent_outbox_evicted_total', 'Samples evicted by the outbox overflow policy.', (s) => s.evicted);
  total('edgeloop_agent_outbox_rejected_total', 'Samples the outbox refused (cap, full disk, storage error).', (s) => s.rejected);
  total('edgeloop_agent_outbox_expired_total', 'Samples dropped from the outbox by its TTL.', (s) => s.expired);
  total('edgeloop_agent_outbox_quarantined_total', 'Corrupt outbox databases quarantined and recreated.', (s) => s.quarantined);

  const modelInfo = new Gauge({
    name: 'edgeloop_agent_model_info',
    help: 'The running model.',
    labelNames: ['model', 'version'],
    registers,
  });
  return {
    registry,
    classifications: new Counter({
      name: 'edgeloop_agent_classifications_total',
      help: 'Predictions made, by top label.',
      labelNames: ['label'],
      registers,
    }),
    latency: new Histogram({
      name: 'edgeloop_agent_classification_latency_seconds',
      help: 'Inference latency.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    samplesSent: new Counter({
      name: 'edgeloop_agent_samples_sent_total',
      help: 'Sample frames published to the hub, resends included.',
      registers,
    }),
    samplesAcked: new Counter({ name: 'edgeloop_agent_samples_acked_total', help: 'Samples the hub acknowledged as stored.', registers }),
    samplesRejected: new Counter({
      name: 'edgeloop_agent_samples_rejected_total',
      help: 'Samples the hub rejected for good.',
      labelNames: ['code'],
      registers,
    }),
    setModel(model) {
      modelInfo.reset();
      if (model) modelInfo.set({ model: model.name, version: String(model.version) }, 1);
    },
    bindOutbox(o) {
      outbox = o;
    },
  };
}
