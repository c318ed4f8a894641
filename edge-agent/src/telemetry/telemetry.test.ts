import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeJson, mulberry32, type TelemetryWindow } from '@edgeloop/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteOutbox } from '../outbox/sqlite-outbox.js';
import { agentMetrics } from './metrics.js';
import { Telemetry } from './telemetry.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');

describe('Telemetry', () => {
  afterEach(() => vi.useRealTimers());

  it('emits a valid protocol window with counts, histograms, latency quantiles and the low-confidence rate', () => {
    let t = T0;
    const windows: TelemetryWindow[] = [];
    const tel = new Telemetry({
      deviceId: 'pi-1',
      intervalMs: 60_000,
      lowConfidenceThreshold: 0.5,
      model: { name: 'mnist', version: 3 },
      onWindow: (w) => windows.push(w),
      now: () => t,
      rng: mulberry32(1),
    });
    for (let i = 1; i <= 100; i++) tel.record({ label: i % 4 === 0 ? 'cat' : 'dog', confidence: i <= 20 ? 0.3 : 0.97, latencyMs: i });
    t += 60_000;
    const w = tel.flush();
    expect(windows).toEqual([w]);
    expect(() => encodeJson('telemetry', w!)).not.toThrow();
    expect(w).toMatchObject({
      deviceId: 'pi-1',
      model: { name: 'mnist', version: 3 },
      windowStart: '2026-01-01T00:00:00.000Z',
      windowEnd: '2026-01-01T00:01:00.000Z',
      total: 100,
      latencyMs: { p50: 50, p95: 95 },
      lowConfidenceRate: 0.2,
    });
    expect(w!.classes.cat!.count).toBe(25);
    expect(w!.classes.dog!.confidenceHistogram[6]).toBe(15); // 0.3 → bucket 6
    expect(w!.classes.dog!.confidenceHistogram[19]).toBe(60);
    // The next window starts where this one ended, empty.
    t += 1_000;
    expect(tel.flush()).toMatchObject({ windowStart: '2026-01-01T00:01:00.000Z', total: 0 });
  });

  it('closes the window on a model switch, and flushes on its timer until stopped', () => {
    vi.useFakeTimers({ now: T0 });
    const windows: TelemetryWindow[] = [];
    const tel = new Telemetry({
      deviceId: 'pi-1',
      intervalMs: 10_000,
      lowConfidenceThreshold: 0.5,
      model: { name: 'm', version: 1 },
      onWindow: (w) => windows.push(w),
      emitEmpty: false,
    });
    tel.start();
    tel.record({ label: 'a', confidence: 0.9, latencyMs: 2 });
    tel.setModel({ name: 'm', version: 2 });
    expect(windows.map((w) => [w.model.version, w.total])).toEqual([[1, 1]]);
    tel.record({ label: 'a', confidence: 0.9, latencyMs: 2 });
    vi.advanceTimersByTime(10_000);
    expect(windows.map((w) => [w.model.version, w.total])).toEqual([
      [1, 1],
      [2, 1],
    ]);
    vi.advanceTimersByTime(30_000); // empty windows are not emitted with emitEmpty: false
    expect(windows).toHaveLength(2);
    tel.setIntervalMs(5_000);
    tel.record({ label: 'b', confidence: 0.1, latencyMs: 4 });
    vi.advanceTimersByTime(5_000);
    expect(windows).toHaveLength(3);
    tel.record({ label: 'b', confidence: 0.1, latencyMs: 4 });
    tel.stop();
    expect(windows).toHaveLength(4);
    vi.advanceTimersByTime(60_000);
    expect(windows).toHaveLength(4);
  });
});

describe('agentMetrics', () => {
  it('exposes classifications, latency, model info, sample counters and the outbox in Prometheus text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metrics-'));
    const outbox = new SqliteOutbox({
      path: join(dir, 'a.db'),
      maxBytes: 1_000,
      overflow: 'reject_new',
      ttlMs: 1e9,
      backoff: { baseMs: 1, maxMs: 1, jitter: 0 },
    });
    try {
      const metrics = agentMetrics();
      metrics.bindOutbox(outbox);
      const tel = new Telemetry({
        deviceId: 'pi-1',
        intervalMs: 1_000,
        lowConfidenceThreshold: 0.5,
        model: { name: 'mnist', version: 4 },
        onWindow: () => {},
        metrics,
      });
      tel.record({ label: 'cat', confidence: 0.9, latencyMs: 12 });
      tel.record({ label: 'cat', confidence: 0.9, latencyMs: 12 });
      metrics.samplesSent.inc(3);
      metrics.samplesAcked.inc(2);
      metrics.samplesRejected.inc({ code: 'BAD_IMAGE' });
      await outbox.enqueue({ sampleId: 'a'.repeat(64), bytes: randomBytes(600) });
      await outbox.enqueue({ sampleId: 'b'.repeat(64), bytes: randomBytes(600) }); // over the cap: rejected
      const text = await metrics.registry.metrics();
      expect(text).toContain('edgeloop_agent_classifications_total{label="cat"} 2');
      expect(text).toContain('edgeloop_agent_classification_latency_seconds_count 2');
      expect(text).toContain('edgeloop_agent_model_info{model="mnist",version="4"} 1');
      expect(text).toContain('edgeloop_agent_samples_sent_total 3');
      expect(text).toContain('edgeloop_agent_samples_acked_total 2');
      expect(text).toContain('edgeloop_agent_samples_rejected_total{code="BAD_IMAGE"} 1');
      expect(text).toContain('edgeloop_agent_outbox_items 1');
      expect(text).toContain('edgeloop_agent_outbox_bytes 600');
      expect(text).toContain('edgeloop_agent_outbox_rejected_total 1');
      expect(text).toContain('edgeloop_agent_outbox_evicted_total 0');
      // Counters mirror the persisted totals: a second scrape does not double them.
      await outbox.enqueue({ sampleId: 'c'.repeat(64), bytes: randomBytes(600) });
      expect(await metrics.registry.metrics()).toContain('edgeloop_agent_outbox_rejected_total 2');
    } finally {
      await outbox.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
