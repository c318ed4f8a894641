/**
 * One sample, from frame to ack. Each step names what it enforces; a rejection is acked as final
 * (the device drops the sample) and writes nothing. Failures of the hub itself (store, database,
 * overload) are thrown instead: the sample is not acked, so the device sends it again later.
 */

import { hash } from 'node:crypto';
import { decodeSampleFrame, type ProtocolErrorCode, type RejectCode, type SampleEnvelope } from '@edgeloop/protocol';
import type Database from 'better-sqlite3';
import type { DeviceMessage } from '../broker/hub-broker.js';
import type { IngestConfig } from '../config.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { HubMetrics } from '../metrics.js';
import type { ObjectStore } from '../storage/object-store.js';
import { sampleObjectKey } from '../storage/sample-blob.js';
import type { AckBatcher } from './ack-batcher.js';
import { salvageSampleId } from './frame-salvage.js';
import type { GroupCommit, SampleRow } from './group-commit.js';
import { checkImage } from './image-check.js';
import { stagingGate } from './staged-backlog.js';

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

export { sampleObjectKey };

/** Frame errors have no reject code of their own: anything but size is a schema violation. */
const rejectCodeOf = (code: ProtocolErrorCode): RejectCode => (code === 'TOO_LARGE' ? 'TOO_LARGE' : 'SCHEMA');

export function createSampleHandler(deps: SampleHandlerDeps): (message: DeviceMessage) => Promise<void> {
  const { sqlite, store, commit, acks, config, log, metrics, now } = deps;
  const exists = sqlite.prepare('SELECT 1 FROM samples WHERE id = ?').pluck();
  const mayStage = stagingGate(sqlite, config.maxStagedBlobs);

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
    // 3. The id is the sha256 of the bytes, so it cannot be forged to overwrite another sample. The
    // protocol's `verifySampleId` is the same check through WebCrypto, whose promise costs ~30×
    // more than a one-shot hash of 1 KB here; the reason text is the same.
    const actual = hash('sha256', sample.image.bytes, 'hex');
    if (actual !== sampleId)
      return reject(deviceId, sampleId, 'ID_MISMATCH', `sampleId ${sampleId} is not the sha256 of the image (${actual})`);
    // 4. The image is a bounded, decodable image of the declared kind. (A sample stored before is
    // acked as stored even if the limits have changed since.)
    const image = await checkImage(sample.image.bytes, sample.image, config);
    if (!image.ok) {
      if (exists.get(sampleId) !== undefined) return accept(deviceId, sampleId, 'duplicate', started);
      return reject(deviceId, sampleId, image.code, image.reason);
    }
    try {
      // 5. The bytes are durable no later than the row. A small image is staged: written with its
      // row in the same transaction, and moved to the object store by the BlobSpiller. A large one,
      // or any while the spiller lags too far behind, is put first: a crash before the row leaves an
      // orphan blob, never a row without one.
      const { bytes } = sample.image;
      const objectKey = sampleObjectKey(sampleId);
      const row = rowOf(sample, objectKey, receivedAt);
      if (bytes.byteLength <= config.stageMaxBytes && mayStage()) {
        row.staged = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } else {
        // Idempotence before the costly put: a sample stored before (its ack was lost) is acked
        // again, not stored again. Staged samples leave this to the commit (ON CONFLICT DO
        // NOTHING, nothing staged): asking here cost ~9 µs a sample while the writer commits.
        // A person's label for a sample stored before still goes to the commit, which records it.
        const storedBefore = exists.get(sampleId) !== undefined;
        if (storedBefore && !sample.annotation) return accept(deviceId, sampleId, 'duplicate', started);
        if (!storedBefore) {
          await store.put(objectKey, bytes, { contentType: sample.image.mime }).catch((cause: unknown) => {
            throw cause instanceof HubError ? cause : new HubError('STORAGE_FAILED', `cannot store sample ${sampleId}`, { cause });
          });
        }
      }
      // 6. The row (and staged bytes), in a group commit: `duplicate` when the row exists already,
      // and then nothing is written but a label a person gave that the sample does not have yet (a
      // browser's "this is wrong" on an image it sent before). 7. The ack, only after that COMMIT.
      const outcome = await commit.enqueue(row);
      await accept(deviceId, sampleId, outcome === 'inserted' ? 'accepted' : 'duplicate', started);
    } catch (error) {
      log.warn({ deviceId, sampleId, err: error }, 'sample not ingested; the device will resend it');
      throw error;
    }
  };
}

/** The `samples` row of a decoded sample (exported for the pipeline benchmark). */
export function rowOf(sample: SampleEnvelope, objectKey: string, receivedAt: string): SampleRow {
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
