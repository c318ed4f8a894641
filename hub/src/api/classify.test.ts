import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encoded, flatPngBomb, lyingPng } from '../ingest/test-images.js';
import { noisePng } from '../labeling/test-support.js';
import { type ApiFixture, auth, openApiFixture, tinyClassifier } from './test-support.js';

let f: ApiFixture;
let modelDir: string;

beforeAll(async () => {
  modelDir = mkdtempSync(join(tmpdir(), 'edgeloop-api-model-'));
  f = await openApiFixture({ classifier: await tinyClassifier(modelDir) });
});
afterAll(async () => {
  await f.close();
  rmSync(modelDir, { recursive: true, force: true });
});

const classify = (body: Uint8Array | string, type = 'image/png') =>
  f.app.request('/classify', { method: 'POST', headers: { ...auth, 'content-type': type }, body: body as BodyInit });

describe('POST /classify', () => {
  it('classifies PNG, JPEG and WebP bytes with the production model', async () => {
    for (const [bytes, type] of [
      [await noisePng(7, 28, 1), 'image/png'],
      [await encoded('jpeg', 40, 30), 'image/jpeg'],
      [await encoded('webp', 30, 40), 'application/octet-stream'],
    ] as const) {
      const res = await classify(bytes, type);
      expect(res.status, type).toBe(200);
      const c = (await res.json()) as { label: string; confidence: number; probabilities: number[]; labels: string[]; model: string };
      expect(c.model).toBe('tiny@1');
      expect(c.labels).toEqual(['circle', 'square', 'triangle']);
      expect(c.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(c.label).toBe(c.labels[c.probabilities.indexOf(Math.max(...c.probabilities))]);
    }
  });

  it('answers 422 BAD_IMAGE for bytes that are no image, a lying header and a decompression bomb', async () => {
    for (const bytes of [new TextEncoder().encode('not an image'), lyingPng(60_000, 60_000), await flatPngBomb(17_000)]) {
      const res = await classify(bytes);
      expect(res.status).toBe(422);
      expect(await res.json()).toMatchObject({ code: 'BAD_IMAGE' });
    }
  });

  it('refuses other content types (415) and an empty body (400)', async () => {
    const text = await classify('hello', 'text/plain');
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect((await classify(new Uint8Array(0))).status).toBe(400);
  });
});
