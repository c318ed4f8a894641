/**
 * The ingest pipeline: what the hub does with every message a device publishes. Samples are
 * validated, stored (a small image staged with its row in a group commit, a large one put into
 * the object store before its row) and acked after the COMMIT
 * (`sample-handler.ts`); status and telemetry update the device's row (`device-updates.ts`).
 *
 * `handle` settles only when the message is done (its ack published), so the broker's per-client
 * in-flight cap bounds the work in progress. It rejects, and nothing is acked, when the hub cannot
 * take the sample now: `OVERLOADED`, `SHUTTING_DOWN`, `STORAGE_FAILED`, `DATABASE_FAILED`, or a
 * failed ack publish. The device resends such a sample later and ingest is idempotent.
 */
import type { DeviceMessage } from '../broker/hub-broker.js';
import type { IngestConfig } from '../config.js';
import type { OpenDatabase } from '../db/open.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';
import type { ObjectStore } from '../storage/object-store.js';
import { createAckBatcher } from './ack-batcher.js';
import { createDeviceUpdater, type DeviceUpdatesOptions } from './device-updates.js';
import { createGroupCommit } from './group-commit.js';
import { createSampleHandler } from './sample-handler.js';

export interface IngestOptions {
  /** Receives each valid telemetry window (the trigger engine's drift input). */
  onTelemetry?: DeviceUpdatesOptions['onTelemetry'];
  db: OpenDatabase;
  store: ObjectStore;
  /** Publishes as the hub (QoS1): the broker boundary, used for SampleAcks. */
  publish: (topic: string, payload: Uint8Array) => Promise<void>;
  config: IngestConfig;
  log: Logger;
  metrics: HubMetrics;
  /** The clock, for tests. */
  now?: () => Date;
}

export interface Ingest {
  /** Processes one device message; resolves when it is done (a sample: after its ack). */
  handle(message: DeviceMessage): Promise<void>;
  /** Stops accepting messages, waits for those in flight and commits what is queued. */
  drain(): Promise<void>;
}

export function createIngest(options: IngestOptions): Ingest {
  const { db, store, publish, config, log, metrics } = options;
  const now = options.now ?? (() => new Date());
  const commit = createGroupCommit({ sqlite: db.sqlite, config, metrics });
  const acks = createAckBatcher({ publish, now });
  const handleSample = createSampleHandler({ sqlite: db.sqlite, store, commit, acks, config, log, metrics, now });
  const updateDevice = createDeviceUpdater({ sqlite: db.sqlite, log, metrics, now, onTelemetry: options.onTelemetry });
  const inFlight = new Set<Promise<void>>();
  let samplesInFlight = 0;
  let draining: Promise<void> | undefined;

  async function sample(message: DeviceMessage): Promise<void> {
    // Shed load before doing any work: the payloads of queued samples are what costs memory.
    if (samplesInFlight >= config.maxQueuedSamples) {
      metrics.rejections.inc({ code: 'OVERLOADED' });
      throw new HubError('OVERLOADED', `${samplesInFlight} samples are in progress; device ${message.deviceId} should retry`);
    }
    samplesInFlight++;
    metrics.ingestQueueDepth.inc();
    try {
      await handleSample(message);
    } finally {
      samplesInFlight--;
      metrics.ingestQueueDepth.dec();
    }
  }

  return {
    handle(message) {
      if (draining) return Promise.reject(new HubError('SHUTTING_DOWN', 'ingest is draining'));
      if (message.channel !== 'samples') {
        updateDevice(message);
        return Promise.resolve();
      }
      const work = sample(message);
      inFlight.add(work);
      // Anonymous handlers, not a named closure per sample: under tsx (which `npm start` uses) a
      // named function created at run time also costs a call that sets its name.
      work.then(
        () => inFlight.delete(work),
        () => inFlight.delete(work),
      );
      return work;
    },
    drain() {
      draining ??= (async () => {
        // Commit the open group now rather than after its delay, then wait for every sample that
        // is still being checked or stored, and commit whatever those queued last.
        await commit.drain();
        await Promise.allSettled([...inFlight]);
        await commit.drain();
        log.info('ingest drained');
      })();
      return draining;
    },
  };
}
