import { encodeJson, encodeSampleFrame } from '@edgeloop/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../storage/object-store.js';
import { readSampleBlob } from '../storage/sample-blob.js';
import { sampleObjectKey } from './sample-handler.js';
import { DEVICES, type Harness, metricValue, sampleMessage, startHarness } from './test-harness.js';
import { envelopeOf, frameOf, numberedPng } from './test-images.js';

const png8 = { mime: 'image/png' as const, width: 8, height: 8 };

function sample(deviceId: string, n: number) {
  const bytes = numberedPng(n);
  const envelope = envelopeOf(deviceId, bytes, png8);
  return { bytes, sampleId: envelope.sampleId, message: sampleMessage(deviceId, encodeSampleFrame(envelope)) };
}

describe('ingest pipeline', () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  it('stores an accepted sample (row and identical blob) and acks it only after the COMMIT', async () => {
    h = await startHarness();
    const s = sample('dev-a', 1);
    await h.ingest.handle(s.message);
    expect(h.acks).toEqual([
      {
        topic: 'edgeloop/v1/devices/dev-a/acks',
        ack: { v: 1, accepted: [s.sampleId], rejected: [], at: expect.any(String) },
        committedWhenPublished: [true],
        bytesWhenPublished: [true],
      },
    ]);
    const row = h.reader.prepare('SELECT * FROM samples').get();
    expect(row).toMatchObject({
      id: s.sampleId,
      source: 'device',
      device_id: 'dev-a',
      mime: 'image/png',
      width: 8,
      height: 8,
      byte_length: s.bytes.length,
      object_key: sampleObjectKey(s.sampleId),
      model_name: 'digits',
      model_version: 3,
      predicted_label: 'seven',
      sampling_strategy: 'margin',
      inclusion_probability: 0.5,
      queue_state: 'pending',
    });
    expect(JSON.parse((row as { extra: string }).extra)).toEqual({ probabilities: [0.6, 0.4], latencyMs: 4, samplingReason: 'uncertain' });
    // The small image was committed with its row; the spiller moves it to the object store.
    const staged = h.reader.prepare('SELECT bytes FROM sample_blobs WHERE sample_id = ?').pluck().get(s.sampleId) as Buffer;
    expect(staged.equals(s.bytes)).toBe(true);
    expect(h.puts.count).toBe(0);
    expect(Buffer.from((await readSampleBlob({ db: h.database, store: h.store }, s.sampleId))!).equals(s.bytes)).toBe(true);
    expect(await h.spiller.flush()).toBe(1);
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(0);
    expect(Buffer.from((await h.store.get(sampleObjectKey(s.sampleId)))!).equals(s.bytes)).toBe(true);
    expect(await metricValue(h.metrics.samples, { labels: { outcome: 'accepted' } })).toBe(1);
    expect(await metricValue(h.metrics.ackLatency, { suffix: '_count' })).toBe(1);
    expect(await metricValue(h.metrics.ingestQueueDepth)).toBe(0);
  });

  it('records a label a person gave on the device', async () => {
    h = await startHarness();
    const bytes = numberedPng(2);
    const envelope = envelopeOf('dev-a', bytes, png8, { annotation: { label: 'four', source: 'user' } });
    await h.ingest.handle(sampleMessage('dev-a', encodeSampleFrame(envelope)));
    expect(h.reader.prepare('SELECT sample_id, label, source, action, labelled_by FROM labels').all()).toEqual([
      { sample_id: envelope.sampleId, label: 'four', source: 'device-user', action: 'annotate', labelled_by: 'device:dev-a' },
    ]);
  });

  it('records a correction of a sample stored before, once, with a duplicate ack', async () => {
    h = await startHarness();
    const bytes = numberedPng(5);
    await h.ingest.handle(sampleMessage('dev-a', encodeSampleFrame(envelopeOf('dev-a', bytes, png8))));
    const corrected = envelopeOf('dev-a', bytes, png8, { annotation: { label: 'seven', source: 'user' } });
    await h.ingest.handle(sampleMessage('dev-a', encodeSampleFrame(corrected)));
    await h.ingest.handle(sampleMessage('dev-a', encodeSampleFrame(corrected)));
    expect(h.reader.prepare('SELECT COUNT(*) AS n FROM samples').get()).toEqual({ n: 1 });
    expect(h.reader.prepare('SELECT sample_id, label, labelled_by FROM labels').all()).toEqual([
      { sample_id: corrected.sampleId, label: 'seven', labelled_by: 'device:dev-a' },
    ]);
    expect(await metricValue(h.metrics.samples, { labels: { outcome: 'duplicate' } })).toBe(2);
  });

  it('acks a duplicate again without storing it twice, also when the copies arrive together', async () => {
    h = await startHarness();
    const s = sample('dev-a', 3);
    await h.ingest.handle(s.message);
    await h.ingest.handle(s.message);
    expect(h.acks.map((a) => a.ack.accepted)).toEqual([[s.sampleId], [s.sampleId]]);
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(1); // staged once; the duplicate wrote nothing
    expect(await metricValue(h.metrics.samples, { labels: { outcome: 'duplicate' } })).toBe(1);

    const t = sample('dev-b', 4);
    await Promise.all(Array.from({ length: 5 }, () => h.ingest.handle(t.message)));
    const forT = h.acks.filter((a) => a.ack.accepted.includes(t.sampleId));
    expect(forT.length).toBeGreaterThan(0);
    expect(forT.every((a) => a.committedWhenPublished.every(Boolean))).toBe(true);
    expect(h.count('SELECT count(*) FROM samples')).toBe(2);
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(2);
    expect(await h.spiller.flush()).toBe(2);
    expect(await h.storedKeys()).toHaveLength(2);
    expect(h.puts.count).toBe(2);
  });

  it('acks a sample stored before as a duplicate even if the limits now refuse its image', async () => {
    h = await startHarness({ config: { maxSide: 4 } }); // the 8×8 test images are now too large
    const s = sample('dev-a', 5);
    h.database.sqlite
      .prepare(
        `INSERT INTO samples (id, source, device_id, received_at, mime, width, height, byte_length, object_key)
         VALUES (?, 'device', 'dev-a', '2026-01-01T00:00:00.000Z', 'image/png', 8, 8, ?, ?)`,
      )
      .run(s.sampleId, s.bytes.length, sampleObjectKey(s.sampleId));
    await h.ingest.handle(s.message);
    expect(h.acks.map((a) => [a.ack.accepted, a.ack.rejected])).toEqual([[[s.sampleId], []]]);
    const t = sample('dev-a', 6);
    await h.ingest.handle(t.message);
    expect(h.acks[1]!.ack.rejected).toMatchObject([{ sampleId: t.sampleId, code: 'IMAGE_TOO_LARGE' }]);
  });

  it('commits concurrent samples in groups and batches their acks per device', async () => {
    h = await startHarness({ config: { groupCommitMaxItems: 64, groupCommitMaxDelayMs: 20 } });
    const samples = Array.from({ length: 200 }, (_, i) => sample(DEVICES[i % DEVICES.length]!, 100 + i));
    await Promise.all(samples.map((s) => h.ingest.handle(s.message)));
    expect(h.count('SELECT count(*) FROM samples')).toBe(200);
    const commits = await metricValue(h.metrics.commitBatch, { suffix: '_count' });
    expect(await metricValue(h.metrics.commitBatch, { suffix: '_sum' })).toBe(200);
    expect(commits).toBeLessThan(100); // > 2 rows per COMMIT on average
    const acked = h.acks.flatMap((a) => a.ack.accepted);
    expect(acked.sort()).toEqual(samples.map((s) => s.sampleId).sort()); // each exactly once
    expect(h.acks.length).toBeLessThan(200);
    expect(h.acks.every((a) => a.committedWhenPublished.every(Boolean) && a.bytesWhenPublished.every(Boolean))).toBe(true);
    for (const a of h.acks) {
      const device = a.topic.split('/')[3]!;
      expect(a.ack.accepted.every((id) => samples.find((s) => s.sampleId === id)?.message.deviceId === device)).toBe(true);
    }
  });

  it('drain waits for samples in flight, commits them, then refuses new ones', async () => {
    h = await startHarness({ config: { groupCommitMaxDelayMs: 60_000 } });
    const handled = Array.from({ length: 30 }, (_, i) => h.ingest.handle(sample('dev-a', 300 + i).message));
    const started = performance.now();
    await h.ingest.drain();
    expect(performance.now() - started).toBeLessThan(10_000); // not the 60 s group delay
    expect(h.count('SELECT count(*) FROM samples')).toBe(30);
    expect(h.acks.flatMap((a) => a.ack.accepted)).toHaveLength(30);
    await Promise.all(handled);
    await expect(h.ingest.handle(sample('dev-a', 399).message)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });

  it('sheds samples beyond maxQueuedSamples without acking them', async () => {
    h = await startHarness({ config: { maxQueuedSamples: 3 } });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => h.ingest.handle(sample('dev-a', 400 + i).message)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(7);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'OVERLOADED' });
    expect(h.acks.flatMap((a) => a.ack.accepted)).toHaveLength(3);
    expect(h.acks.flatMap((a) => a.ack.rejected)).toHaveLength(0);
  });

  it('does not ack a sample the store could not take; the resend succeeds', async () => {
    let failing = true;
    // Test double: the real store, except that put fails while `failing` is set.
    const FailingObjectStoreTestDouble = (real: ObjectStore): ObjectStore => ({
      ...real,
      put: (key, bytes, opts) => (failing ? Promise.reject(new Error('disk full')) : real.put(key, bytes, opts)),
      list: (prefix) => real.list(prefix),
      close: () => real.close(),
    });
    // Staging off: the image goes to the store before its row (as images over stageMaxBytes do).
    h = await startHarness({ wrapStore: FailingObjectStoreTestDouble, config: { stageMaxBytes: 0 } });
    const s = sample('dev-a', 500);
    await expect(h.ingest.handle(s.message)).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    expect(h.acks).toEqual([]);
    expect(h.count('SELECT count(*) FROM samples')).toBe(0);
    expect(h.logs.some((l) => l.sampleId === s.sampleId && l.deviceId === 'dev-a' && l.level === 40)).toBe(true);
    failing = false;
    await h.ingest.handle(s.message);
    expect(h.acks.map((a) => a.ack.accepted)).toEqual([[s.sampleId]]);
    expect(h.acks[0]!.bytesWhenPublished).toEqual([true]);
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(0);
  });

  it('acks a staged sample while the store is down; the spiller moves it once the store is back', async () => {
    let failing = true;
    // Test double: the real store, except that put fails while `failing` is set.
    const FailingObjectStoreTestDouble = (real: ObjectStore): ObjectStore => ({
      ...real,
      put: (key, bytes, opts) => (failing ? Promise.reject(new Error('disk full')) : real.put(key, bytes, opts)),
      list: (prefix) => real.list(prefix),
      close: () => real.close(),
    });
    h = await startHarness({ wrapStore: FailingObjectStoreTestDouble });
    const s = sample('dev-a', 510);
    await h.ingest.handle(s.message);
    expect(h.acks.map((a) => a.ack.accepted)).toEqual([[s.sampleId]]);
    await expect(h.spiller.flush()).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(1);
    failing = false;
    expect(await h.spiller.flush()).toBe(1);
    expect(Buffer.from((await h.store.get(sampleObjectKey(s.sampleId)))!).equals(s.bytes)).toBe(true);
  });

  it('puts images over stageMaxBytes, and any while the staged backlog is full, into the store before the row', async () => {
    const first = sample('dev-a', 520);
    h = await startHarness({ config: { stageMaxBytes: first.bytes.length - 1 } });
    await h.ingest.handle(first.message);
    expect(h.puts.count).toBe(1);
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(0);
    expect(h.acks[0]!.bytesWhenPublished).toEqual([true]);
    await h.close();

    h = await startHarness({ config: { maxStagedBlobs: 2 } });
    for (let i = 0; i < 4; i++) await h.ingest.handle(sample('dev-a', 530 + i).message);
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(2);
    expect(h.puts.count).toBe(2);
    expect(h.acks.flatMap((a) => a.bytesWhenPublished)).toEqual([true, true, true, true]);
    // Once the spiller has caught up (and ingest has looked at the backlog again), samples are staged again.
    await h.spiller.flush();
    await new Promise((r) => setTimeout(r, 30));
    await h.ingest.handle(sample('dev-a', 540).message);
    expect(h.count('SELECT count(*) FROM sample_blobs')).toBe(1);
  });

  it('records status and telemetry, ignoring messages that do not decode or name another device', async () => {
    h = await startHarness();
    const status = (deviceId: string, payload: Uint8Array, channel: 'status' | 'telemetry' = 'status') =>
      h.ingest.handle({ deviceId, channel, topic: `edgeloop/v1/devices/${deviceId}/${channel}`, payload, qos: 1 });
    const at = '2026-01-02T03:04:05.000Z';
    const agent = { kind: 'edge' as const, version: '1.0.0' };
    await status(
      'dev-a',
      encodeJson('status', { v: 1, deviceId: 'dev-a', state: 'online', at, agent, model: { name: 'digits', version: 3 } }),
    );
    await status('dev-b', encodeJson('status', { v: 1, deviceId: 'dev-a', state: 'offline', at, agent })); // names another device
    await status('dev-c', new TextEncoder().encode('{"v":1,'));
    const window = {
      v: 1 as const,
      deviceId: 'dev-d',
      model: { name: 'digits', version: 4 },
      windowStart: at,
      windowEnd: '2026-01-02T03:05:05.000Z',
      total: 0,
      classes: {},
      latencyMs: { p50: 1, p95: 2 },
      lowConfidenceThreshold: 0.5,
      lowConfidenceRate: 0,
    };
    await status('dev-d', encodeJson('telemetry', window), 'telemetry');
    const devices = h.reader.prepare('SELECT id, status, last_seen_at, model FROM devices ORDER BY id').all();
    expect(devices).toEqual([
      { id: 'dev-a', status: 'online', last_seen_at: at, model: 'digits@3' },
      { id: 'dev-b', status: 'unknown', last_seen_at: null, model: null },
      { id: 'dev-c', status: 'unknown', last_seen_at: null, model: null },
      { id: 'dev-d', status: 'unknown', last_seen_at: '2026-01-02T03:05:05.000Z', model: 'digits@4' },
    ]);
    expect(await metricValue(h.metrics.rejections, { labels: { code: 'STATUS_FORBIDDEN' } })).toBe(1);
    expect(await metricValue(h.metrics.rejections, { labels: { code: 'STATUS_BAD_JSON' } })).toBe(1);
    expect(h.acks).toEqual([]);
  });

  it('puts the device id, and the sample id where there is one, on every log line', async () => {
    h = await startHarness();
    await h.ingest.handle(sample('dev-a', 600).message);
    await h.ingest.handle(sampleMessage('dev-a', frameOf('dev-b', numberedPng(601), png8)));
    const lines = h.logs.filter((l) => l.msg !== 'ingest drained');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatchObject({ deviceId: 'dev-a', sampleId: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});
