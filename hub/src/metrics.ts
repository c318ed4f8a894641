/** Prometheus metrics of the hub (prom-client), served at `/metrics`. One registry per hub. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface HubMetrics {
  registry: Registry;
  /** Samples by outcome: `accepted`, `duplicate`, `rejected`. */
  samples: Counter<'outcome'>;
  /** Rejections by code (protocol reject codes and broker refusals). */
  rejections: Counter<'code'>;
  /** Seconds from receiving a sample to publishing its ack (after the COMMIT). */
  ackLatency: Histogram;
  /** Rows per group commit. */
  commitBatch: Histogram;
  /** Samples received and not yet acknowledged. */
  ingestQueueDepth: Gauge;
  /** Samples waiting for a label. */
  labellingQueueDepth: Gauge;
  connectedDevices: Gauge;
  /** Clients disconnected by the broker's limits, by reason. */
  brokerDisconnects: Counter<'reason'>;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  /** Sample images staged in SQLite that the spiller has not moved to the object store yet. */
  stagedBlobs: Gauge;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): HubMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'edgeloop_hub_' });
  const registers = [registry];
  return {
    registry,
    samples: new Counter({ name: 'edgeloop_ingest_samples_total', help: 'Samples by outcome', labelNames: ['outcome'], registers }),
    rejections: new Counter({
      name: 'edgeloop_ingest_rejections_total',
      help: 'Rejected samples by code',
      labelNames: ['code'],
      registers,
    }),
    ackLatency: new Histogram({
      name: 'edgeloop_ingest_ack_latency_seconds',
      help: 'Receive to ack (after COMMIT)',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    }),
    commitBatch: new Histogram({
      name: 'edgeloop_ingest_commit_batch_size',
      help: 'Rows per group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    }),
    ingestQueueDepth: new Gauge({ name: 'edgeloop_ingest_queue_depth', help: 'Samples received, not yet acked', registers }),
    labellingQueueDepth: new Gauge({ name: 'edgeloop_labelling_queue_depth', help: 'Samples waiting for a label', registers }),
    connectedDevices: new Gauge({ name: 'edgeloop_broker_connected_devices', help: 'Connected device clients', registers }),
    brokerDisconnects: new Counter({
      name: 'edgeloop_broker_disconnects_total',
      help: 'Clients disconnected by broker limits',
      labelNames: ['reason'],
      registers,
    }),
    httpRequests: new Counter({
      name: 'edgeloop_http_requests_total',
      help: 'HTTP requests',
      labelNames: ['method', 'route', 'status'],
      registers,
    }),
    stagedBlobs: new Gauge({
      name: 'edgeloop_ingest_staged_blobs',
      help: 'Sample images staged in the database, not yet in the object store',
      registers,
    }),
  };
}
