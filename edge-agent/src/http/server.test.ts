import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mnistPngs, writeMnistModel } from '../../test/model-fixture.js';
import { loadClassifier } from '../classifier/classifier.js';
import { ClassifierHolder } from '../classifier/holder.js';
import { createHttpApp, type RunningHttpServer, startHttpServer } from './server.js';

let server: RunningHttpServer;
let holder: ClassifierHolder;
let png: Uint8Array<ArrayBuffer>;
const registry = new Registry();
const classified = new Counter({ name: 'test_classified_total', help: 'x', registers: [registry] });

beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'agent-http-')), 'm');
  await writeMnistModel(dir, { version: 4 });
  png = (await mnistPngs(1))[0]!.bytes;
  holder = new ClassifierHolder(await loadClassifier(dir));
  const app = createHttpApp({
    classify: async (bytes, options) => {
      const r = await holder.classify(bytes, options);
      classified.inc();
      return r;
    },
    status: () => ({ model: holder.current()?.model ?? null, outbox: { count: 0, bytes: 0 } }),
    metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
    ready: () => holder.current() !== undefined,
    bodyLimitBytes: 64 * 1024,
    defaultTopK: 5,
  });
  server = await startHttpServer(app, { host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await server?.close();
  await holder?.close();
});

const post = (body: BodyInit, query = '') => fetch(`${server.url}/classify${query}`, { method: 'POST', body });

describe('local HTTP API', () => {
  it('binds to loopback on a free port', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
  });

  it('POST /classify answers top-k JSON', async () => {
    const res = await post(png, '?topK=3');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ model: { name: 'mnist-cnn', version: 4 } });
    expect(body.topK).toHaveLength(3);
    expect(body.probabilities).toBeUndefined();
    const withP = (await (await post(png, '?probabilities=true')).json()) as { probabilities: number[]; topK: unknown[] };
    expect(withP.probabilities).toHaveLength(10);
    expect(withP.topK).toHaveLength(5); // the default
  });

  it('answers bad input with a 4xx and a code', async () => {
    const cases: [BodyInit, string, number, string][] = [
      [new Uint8Array(0), '', 400, 'BAD_IMAGE'],
      ['hello, not an image', '', 415, 'UNSUPPORTED_FORMAT'],
      [png.subarray(0, 50), '', 400, 'BAD_IMAGE'],
      [png, '?topK=0', 400, 'BAD_ARGUMENT'],
      [png, '?topK=abc', 400, 'BAD_ARGUMENT'],
      [new Uint8Array(64 * 1024 + 1), '', 413, 'IMAGE_TOO_LARGE'],
    ];
    for (const [body, query, status, code] of cases) {
      const res = await post(body, query);
      expect({ status: res.status, code: ((await res.json()) as { code: string }).code }).toEqual({ status, code });
    }
  });

  it('refuses an over-limit chunked body without a content-length', async () => {
    const big = new Uint8Array(200 * 1024);
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < big.length; i += 16 * 1024) c.enqueue(big.subarray(i, i + 16 * 1024));
        c.close();
      },
    });
    const res = await fetch(`${server.url}/classify`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('GET /status, /metrics, /health', async () => {
    expect(await (await fetch(`${server.url}/status`)).json()).toEqual({
      model: { name: 'mnist-cnn', version: 4 },
      outbox: { count: 0, bytes: 0 },
    });
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toMatch(/^test_classified_total [1-9]/m);
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ ok: true, ready: true });
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('NOT_FOUND');
  });

  it('answers 503 NO_MODEL when no model is loaded', async () => {
    const empty = new ClassifierHolder();
    const app = createHttpApp({
      classify: (b, o) => empty.classify(b, o),
      status: () => ({}),
      metrics: async () => ({ contentType: 'text/plain', body: '' }),
      ready: () => false,
      bodyLimitBytes: 1024 * 1024,
      defaultTopK: 5,
    });
    const res = await app.request('/classify', { method: 'POST', body: png });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { code: string }).code).toBe('NO_MODEL');
    expect(await (await app.request('/health')).json()).toEqual({ ok: true, ready: false });
  });
});
