/**
 * One sample, from frame to ack. Each step names what it enforces; a rejection is acked as final
 * (the device drops the sample) and writes nothing. Failures of the hub itself (store, database,
 * overload) are thrown instead: the sample is not acked, so the device sends it again later.
 */

import { decodeSampleFrame, type ProtocolErrorCode, type RejectCode, type SampleEnvelope, verifySampleId } from '@edgeloop/protocol';
import type Database from 'better-sqlite3';
import type { DeviceMessage } from '../broker/hub-broker.js';
import type { IngestConfig } from '../config.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { AckBatcher } from './ack-batcher.js';
import { salvageSampleId } from './frame-salvage.js';
import type { GroupCommit, SampleRow } from './group-commit.js';
import { checkImage } from './image-check.js';

export interface SampleHandlerDeps {
  sqlite: Database.Database;
  store: ObjectStore;
  commit: GroupCommit;
  acks: AckBatcher;
  config: IngestConfig;
  log: Logger;
  metrics: HubMetrics;
  now: () => Date;
}

/** Where a sample's image lives in the object store: fanned out by the first two hex digits. */
export function sampleObjectKey(sampleId: string): string {
  return `samples/${sampleId.slice(0, 2)}/${sampleId}`;
}

/** Frame errors have no reject code of their own: anything but size is a schema violation. */
const rejectCodeOf = (code: ProtocolErrorCode): RejectCode => (code === 'TOO_LARGE' ? 'TOO_LARGE' : 'SCHEMA');

export function createSampleHandler(deps: SampleHandlerDeps): (message: DeviceMessage) => Promise<void> {
  const { sqlite, store, commit, acks, config, log, metrics, now } = deps;
  const exists = sqlite.prepare('SELECT 1 FROM samples WHERE id = ?').pluck();

  async function reject(deviceId: string, sampleId: string, code: RejectCode, reason: string): Promise<void> {
    metrics.samples.inc({ outcome: 'rejected' });
    metrics.rejections.inc({ code });
    log.info({ deviceId, sampleId, code, reason }, 'sample rejected');
    await acks.reject(deviceId, { sampleId, code, reason });
  }

  async function accept(deviceId: string, sampleId: string, outcome: 'accepted' | 'duplicate', started: number): Promise<void> {
    metrics.samples.inc({ outcome });
    await acks.accept(deviceId, sampleId);
    metrics.ackLatency.observe((performance.now() - started) / 1000);
    log.debug({ deviceId, sampleId, outcome }, 'sample acked');
  }

  return async (message) => {
    const started = performance.now();
    const receivedAt = now().toISOString();
    const { deviceId } = message;
    // 1. Envelope: size, preamble, JSON header, schema, image length (protocol `decodeSampleFrame`).
    const decoded = decodeSampleFrame(message.payload);
    if (!decoded.ok) {
      const sampleId = salvageSampleId(message.payload);
      const code = rejectCodeOf(decoded.error.code);
      if (sampleId) return reject(deviceId, sampleId, code, decoded.error.message);
      metrics.samples.inc({ outcome: 'rejected' });
      metrics.rejections.inc({ code: 'UNREADABLE' });
      log.warn({ deviceId, code: decoded.error.code, reason: decoded.error.message }, 'sample frame without a readable id; cannot ack');
      return;
    }
    const sample = decoded.value;
    const { sampleId } = sample;
    // 2. A device speaks only for itself: the header names the identity the broker authenticated.
    if (sample.deviceId !== deviceId) return reject(deviceId, sampleId, 'FORBIDDEN', `header names device ${sample.deviceId}`);
    // 3. The id is the sha256 of the bytes, so it cannot be forged to overwrite another sample.
    const verified = await verifySampleId(sample);
    if (!verified.ok) return reject(deviceId, sampleId, 'ID_MISMATCH', verified.error.message);
    // 4. Idempotence: a sample stored before (its ack was lost) is acked again, not stored again.
    if (exists.get(sampleId) !== undefined) return accept(deviceId, sampleId, 'duplicate', started);
    // 5. The image is a bounded, decodable image of the declared kind.
    const image = await checkImage(sample.image.bytes, sample.image, config);
    if (!image.ok) return reject(deviceId, sampleId, image.code, image.reason);
    try {
      // 6. Blob first, then the row: a crash in between leaves an orphan blob, never a row without one.
      const objectKey = sampleObjectKey(sampleId);
      await store.put(objectKey, sample.image.bytes, { contentType: sample.image.mime }).catch((cause: unknown) => {
        throw cause instanceof HubError ? cause : new HubError('STORAGE_FAILED', `cannot store sample ${sampleId}`, { cause });
      });
      // 7. The row, in a group commit; 8. the ack, only after that COMMIT.
      const outcome = await commit.enqueue(rowOf(sample, objectKey, receivedAt));
      await accept(deviceId, sampleId, outcome === 'inserted' ? 'accepted' : 'duplicate', started);
    } catch (error) {
      log.warn({ deviceId, sampleId, err: error }, 'sample not ingested; the device will resend it');
      throw error;
    }
  };
}

function rowOf(sample: SampleEnvelope, objectKey: string, receivedAt: string): SampleRow {
  const { image, prediction, sampling } = sample;
  const row: SampleRow = {
    id: sample.sampleId,
    deviceId: sample.deviceId,
    receivedAt,
    capturedAt: sample.capturedAt,
    mime: image.mime,
    width: image.width,
    height: image.height,
    byteLength: image.bytes.byteLength,
    objectKey,
    modelName: sample.model.name,
    modelVersion: sample.model.version,
    predictedLabel: prediction.label,
    confidence: prediction.confidence,
    samplingStrategy: sampling.strategy,
    samplingScore: sampling.score,
    inclusionProbability: sampling.inclusionProbability,
    audit: sampling.audit,
    extra: {
      probabilities: prediction.probabilities,
      latencyMs: prediction.latencyMs,
      samplingReason: sampling.reason,
      annotation: sample.annotation,
    },
  };
  if (sample.annotation) row.annotation = { label: sample.annotation.label, labelledBy: `device:${sample.deviceId}` };
  return row;
}
