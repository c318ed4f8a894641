/** fast-check generators of valid protocol messages, used by the property tests. */
import fc from 'fast-check';
import type { Announcement, DeviceConfig, ModelManifest, SampleAck, SampleEnvelope, Status, TelemetryWindow } from '../src/index.js';

const idChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-'.split(''));
const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));

/** Valid device ids / model names. */
export const topicId = fc.tuple(alnum, fc.array(idChars, { maxLength: 63 })).map(([first, rest]) => first + rest.join(''));

export const sha = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(''));

/** Finite doubles without -0 (JSON turns -0 into 0). */
const unit = fc.double({ min: 0, max: 1, noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x));

export const timestamp = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) }).map((ms) => new Date(ms).toISOString());

export const label = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/\p{Cc}/u.test(s) && s !== '__proto__');

/** A probability vector that sums to 1 within 1e-9. */
export const probabilities = fc
  .array(fc.integer({ min: 0, max: 1000 }), { minLength: 2, maxLength: 12 })
  .filter((w) => w.some((x) => x > 0))
  .map((w) => {
    const total = w.reduce((s, x) => s + x, 0);
    return w.map((x) => x / total);
  });

export const modelRef = fc.record({ name: topicId, version: fc.integer({ min: 1, max: 1_000_000 }) });

export const sampleEnvelope: fc.Arbitrary<SampleEnvelope> = fc
  .record({
    bytes: fc.uint8Array({ minLength: 1, maxLength: 2048 }),
    sampleId: sha,
    deviceId: topicId,
    model: modelRef,
    capturedAt: timestamp,
    mime: fc.constantFrom('image/png' as const, 'image/jpeg' as const, 'image/webp' as const),
    width: fc.integer({ min: 1, max: 8192 }),
    height: fc.integer({ min: 1, max: 8192 }),
    probs: probabilities,
    label,
    latencyMs: fc.option(
      fc.double({ min: 0, max: 10_000, noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
      { nil: undefined },
    ),
    sampling: fc.record({
      strategy: fc.constantFrom(
        'least_confidence' as const,
        'margin' as const,
        'entropy' as const,
        'threshold_band' as const,
        'random' as const,
      ),
      score: unit,
      inclusionProbability: unit.filter((x) => x > 0),
      audit: fc.boolean(),
      reason: fc.constantFrom('uncertain' as const, 'floor' as const, 'random' as const, 'audit' as const),
    }),
    annotation: fc.option(fc.record({ label, source: fc.constant('user' as const) }), { nil: undefined }),
  })
  .map((r) => {
    const env: SampleEnvelope = {
      v: 1,
      sampleId: r.sampleId,
      deviceId: r.deviceId,
      model: r.model,
      capturedAt: r.capturedAt,
      image: { mime: r.mime, width: r.width, height: r.height, byteLength: r.bytes.byteLength, bytes: r.bytes },
      prediction: { label: r.label, confidence: Math.max(...r.probs), probabilities: r.probs },
      sampling: r.sampling,
    };
    if (r.latencyMs !== undefined) env.prediction.latencyMs = r.latencyMs;
    if (r.annotation) env.annotation = r.annotation;
    return env;
  });

const rejectCode = fc.constantFrom('SCHEMA' as const, 'ID_MISMATCH' as const, 'BAD_IMAGE' as const, 'FORBIDDEN' as const);

export const sampleAck: fc.Arbitrary<SampleAck> = fc
  .record({
    accepted: fc.array(sha, { maxLength: 20 }),
    rejected: fc.array(fc.record({ sampleId: sha, code: rejectCode, reason: fc.string({ maxLength: 100 }) }), { maxLength: 5 }),
    at: timestamp,
  })
  .filter((a) => a.accepted.length + a.rejected.length > 0)
  .map((a) => ({ v: 1 as const, ...a }));

const histogram = fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 20, maxLength: 20 });

export const telemetryWindow: fc.Arbitrary<TelemetryWindow> = fc
  .record({
    deviceId: topicId,
    model: modelRef,
    start: fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2090, 0, 1) }),
    length: fc.integer({ min: 0, max: 86_400_000 }),
    classes: fc.dictionary(label, histogram, { maxKeys: 12 }),
    p50: fc.double({ min: 0, max: 1000, noNaN: true }),
    extra: fc.double({ min: 0, max: 1000, noNaN: true }),
    threshold: unit,
    rate: unit,
  })
  .map((r) => {
    const classes = Object.fromEntries(
      Object.entries(r.classes).map(([k, h]) => [k, { count: h.reduce((s, x) => s + x, 0), confidenceHistogram: h }]),
    );
    const p50 = Object.is(r.p50, -0) ? 0 : r.p50;
    return {
      v: 1 as const,
      deviceId: r.deviceId,
      model: r.model,
      windowStart: new Date(r.start).toISOString(),
      windowEnd: new Date(r.start + r.length).toISOString(),
      total: Object.values(classes).reduce((s, c) => s + c.count, 0),
      classes,
      latencyMs: { p50, p95: p50 + (Object.is(r.extra, -0) ? 0 : r.extra) },
      lowConfidenceThreshold: r.threshold,
      lowConfidenceRate: r.rate,
    };
  });

export const status: fc.Arbitrary<Status> = fc
  .record(
    {
      deviceId: topicId,
      state: fc.constantFrom('online' as const, 'offline' as const),
      at: timestamp,
      agent: fc.record({ kind: fc.constantFrom('edge' as const, 'browser' as const), version: fc.constantFrom('0.1.0', '1.2.3-beta') }),
      model: modelRef,
      outbox: fc.record({ count: fc.nat(), bytes: fc.nat() }),
      uptimeS: fc.nat(),
    },
    { requiredKeys: ['deviceId', 'state', 'at', 'agent'] },
  )
  .map((s) => ({ v: 1 as const, ...s }));

export const announcement: fc.Arbitrary<Announcement> = fc
  .record(
    {
      model: topicId,
      version: fc.integer({ min: 1, max: 1_000_000 }),
      timestampVersion: fc.integer({ min: 1, max: 1_000_000 }),
      publishedAt: timestamp,
      repository: fc.constantFrom('/tuf', 'https://hub.example/tuf'),
      cohort: fc.constantFrom('canary', 'all-kiosks'),
    },
    { requiredKeys: ['model', 'version', 'timestampVersion', 'publishedAt'] },
  )
  .map((a) => ({ v: 1 as const, ...a }));

const bucket = fc.record({ capacity: fc.integer({ min: 1, max: 10_000 }), refillPerHour: fc.integer({ min: 0, max: 10_000 }) });

export const deviceConfig: fc.Arbitrary<DeviceConfig> = fc
  .record({
    strategy: fc.oneof(
      fc.record({
        strategy: fc.constantFrom('least_confidence' as const, 'margin' as const, 'entropy' as const),
        threshold: unit,
        floor: unit,
      }),
      fc
        .tuple(unit, unit, unit)
        .map(([a, b, floor]) => ({ strategy: 'threshold_band' as const, low: Math.min(a, b), high: Math.max(a, b), floor })),
      fc.record({ strategy: fc.constant('random' as const), rate: unit }),
    ),
    auditRate: unit,
    device: bucket,
    perClass: bucket,
    overrides: fc.dictionary(fc.constantFrom('0', '1', 'cat', 'dog'), bucket),
    interval: fc.integer({ min: 5, max: 86_400 }),
  })
  .map((r) => ({
    v: 1 as const,
    sampling: { strategy: r.strategy, auditRate: r.auditRate },
    budgets: { device: r.device, perClass: r.perClass, classOverrides: r.overrides },
    telemetryIntervalS: r.interval,
  }));

export const manifest: fc.Arbitrary<ModelManifest> = fc
  .record({
    name: topicId,
    version: fc.integer({ min: 1, max: 1_000_000 }),
    labels: fc.uniqueArray(label, { minLength: 2, maxLength: 12 }),
    size: fc.integer({ min: 1, max: 512 }),
    channels: fc.constantFrom(1 as const, 3 as const),
    layout: fc.constantFrom('NHWC' as const, 'NCHW' as const),
    sha256: sha,
    length: fc.integer({ min: 1, max: 1e9 }),
    createdAt: timestamp,
    invert: fc.boolean(),
  })
  .map((r) => ({
    v: 1 as const,
    name: r.name,
    version: r.version,
    labels: r.labels,
    input: {
      name: 'input',
      shape: (r.layout === 'NHWC' ? [-1, r.size, r.size, r.channels] : [-1, r.channels, r.size, r.size]) as [-1, number, number, number],
      layout: r.layout,
      dtype: 'float32' as const,
    },
    output: { name: 'probabilities', kind: 'probabilities' as const },
    preprocessing: {
      width: r.size,
      height: r.size,
      channels: r.channels,
      fit: 'fill' as const,
      kernel: 'bilinear' as const,
      background: [255, 255, 255] as [number, number, number],
      invert: r.invert,
      mean: new Array<number>(r.channels).fill(0.5),
      std: new Array<number>(r.channels).fill(0.25),
    },
    model: { format: 'onnx' as const, sha256: r.sha256, length: r.length },
    createdAt: r.createdAt,
  }));
