/**
 * Issue #7's acceptance, end to end with the real parts: the built PWA served by a real hub (its
 * embedded broker over WebSocket, SQLite, the TUF repository), a real trained MNIST model, and
 * Debian's Chromium driven by playwright-core. Screenshots land in `test-results/`.
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildClient } from '@edgeloop/browser-client/build';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrowserHub, MODEL, startBrowserHub, type TrainedModel, trainMnist } from '../support/browser-hub.js';
import { hasChromium, launchChromium } from '../support/chromium.js';
import { requirePart } from '../support/ci.js';

const run = requirePart('Chromium', hasChromium, 'apt-get install -y chromium');
const SHOTS = join(process.cwd(), 'test-results');

let browser: Browser;
let context: BrowserContext;
let page: Page;
let bh: BrowserHub;
let model: TrainedModel;
let clientDir: string;
const cleanup: string[] = [];

/** A stroke through the pad's unit square (0..1 coordinates). */
async function stroke(points: [number, number][]): Promise<void> {
  const box = (await page.getByTestId('pad').boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
  await page.mouse.move(...at(points[0]!));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 8 });
  await page.mouse.up();
}

const DIGITS: Record<string, [number, number][][]> = {
  '1': [
    [
      [0.52, 0.15],
      [0.5, 0.85],
    ],
  ],
  '7': [
    [
      [0.28, 0.2],
      [0.72, 0.2],
      [0.45, 0.85],
    ],
  ],
  '0': [
    Array.from({ length: 25 }, (_, i) => {
      const t = (i / 24) * 2 * Math.PI;
      return [0.5 + 0.22 * Math.sin(t), 0.5 - 0.32 * Math.cos(t)] as [number, number];
    }),
  ],
};

async function draw(digit: string): Promise<void> {
  await page.getByTestId('clear').click();
  for (const s of DIGITS[digit]!) await stroke(s);
}

async function top1(): Promise<string> {
  await expect.poll(async () => (await page.getByTestId('top1').textContent())?.trim() ?? '', { timeout: 15_000 }).not.toBe('');
  return (await page.getByTestId('top1').textContent())!.trim();
}

async function version(): Promise<string> {
  return ((await page.getByTestId('model-version').textContent()) ?? '').trim();
}

async function checkForUpdates(): Promise<string> {
  await page.getByTestId('check-updates').click();
  await expect.poll(async () => (await page.getByTestId('notice').textContent()) ?? '', { timeout: 30_000 }).not.toBe('');
  return (await page.getByTestId('notice').textContent()) ?? '';
}

const hubCount = (sql: string, ...args: unknown[]) => (bh.hub.database.sqlite.prepare(sql).get(...args) as { n: number }).n;

describe.runIf(run)('the browser client against a real hub', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    clientDir = await mkdtemp(join(tmpdir(), 'edgeloop-client-build-'));
    cleanup.push(clientDir);
    await buildClient(clientDir);
    model = await trainMnist({ epochs: 3 });
    // Every uncertain prediction (top confidence under 0.95) is sent, and most scribbles are.
    bh = await startBrowserHub({ clientDir, sampling: { strategy: { strategy: 'least_confidence', threshold: 0.05 } } });
    await bh.publish(1, model);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 412, height: 915 }, deviceScaleFactor: 2 });
    page = await context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await bh?.close();
    for (const d of cleanup) await rm(d, { recursive: true, force: true });
  }, 60_000);

  it('classifies a drawn digit with the real model', async () => {
    await page.goto(bh.url);
    await expect.poll(version, { timeout: 60_000 }).toBe(`${MODEL} v1`);
    await page.screenshot({ path: join(SHOTS, 'browser-client-loaded.png') });
    for (const digit of ['1', '7', '0']) {
      await draw(digit);
      await expect.poll(top1, { timeout: 15_000 }).toBe(digit);
    }
    const bars = await page.getByTestId('results').locator('li').count();
    expect(bars).toBe(3);
    await page.screenshot({ path: join(SHOTS, 'browser-client-classified.png'), fullPage: true });
  });

  it('reloads offline and still classifies', async () => {
    // The service worker controls the page after its first load.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
    await context.setOffline(true);
    await page.reload();
    await expect.poll(version, { timeout: 30_000 }).toBe(`${MODEL} v1`);
    await expect.poll(async () => (await page.getByTestId('network').textContent())?.trim()).toBe('offline');
    await draw('1');
    await expect.poll(top1).toBe('1');
    await page.screenshot({ path: join(SHOTS, 'browser-client-offline.png'), fullPage: true });
  });

  it('queues uncertain samples offline, and the hub gets each once when it is back online', async () => {
    const before = hubCount('SELECT count(*) AS n FROM samples');
    // Zigzags and crossings that look like no digit in particular: the model is unsure of most.
    const scribbles: [number, number][][] = Array.from({ length: 8 }, (_, k) =>
      Array.from(
        { length: 6 + k },
        (_, i) => [0.2 + 0.6 * (((i * (k + 3)) % 7) / 6), 0.2 + 0.6 * (((i * (2 * k + 5)) % 5) / 4)] as [number, number],
      ),
    );
    for (const s of scribbles) {
      await page.getByTestId('clear').click();
      await stroke(s);
      await top1();
      await page.waitForTimeout(300);
    }
    const queued = Number(await page.getByTestId('outbox-count').textContent());
    expect(queued).toBeGreaterThanOrEqual(2);
    expect(hubCount('SELECT count(*) AS n FROM samples')).toBe(before);
    // The queue survives a reload while offline.
    await page.reload();
    await expect.poll(async () => Number(await page.getByTestId('outbox-count').textContent()), { timeout: 30_000 }).toBe(queued);

    await context.setOffline(false);
    await expect.poll(async () => Number(await page.getByTestId('outbox-count').textContent()), { timeout: 60_000 }).toBe(0);
    expect(hubCount('SELECT count(*) AS n FROM samples')).toBe(before + queued);
    expect(hubCount("SELECT count(*) AS n FROM samples WHERE device_id LIKE 'web-%'")).toBe(before + queued);
    const duplicates = await bh.hub.metrics.samples.get();
    const dup = duplicates.values.find((v) => v.labels.outcome === 'duplicate')?.value ?? 0;
    expect(dup, 'no sample was delivered twice').toBe(0);
    await expect.poll(async () => (await page.getByTestId('network').textContent())?.trim()).toBe('online');
  });

  it('sends a correction that reaches the hub labelled', async () => {
    await draw('7');
    const predicted = await top1();
    const right = predicted === '1' ? '2' : '1';
    await page.getByTestId('wrong').click();
    await page.getByTestId('correct-label').selectOption(right);
    await page.screenshot({ path: join(SHOTS, 'browser-client-correction.png'), fullPage: true });
    await page.getByTestId('send-correction').click();
    await expect
      .poll(
        () =>
          hubCount(
            "SELECT count(*) AS n FROM labels WHERE label = ? AND source = 'device-user' AND labelled_by LIKE 'device:web-%'",
            right,
          ),
        {
          timeout: 30_000,
        },
      )
      .toBe(1);
    await expect.poll(async () => Number(await page.getByTestId('outbox-count').textContent()), { timeout: 30_000 }).toBe(0);
  });

  describe('refuses tampered updates and keeps the running model', () => {
    const modelKey = async (v: number) => {
      const targets = JSON.parse(Buffer.from((await bh.hub.store.get(`tuf/metadata/${await latest('targets')}`))!).toString('utf8'));
      const sha = targets.signed.targets[`${MODEL}/${v}/model.onnx`].hashes.sha256 as string;
      return `tuf/targets/${MODEL}/${v}/${sha}.model.onnx`;
    };
    async function latest(role: 'targets' | 'snapshot'): Promise<string> {
      const ts = JSON.parse(Buffer.from((await bh.hub.store.get('tuf/metadata/timestamp.json'))!).toString('utf8'));
      const snapV = ts.signed.meta['snapshot.json'].version as number;
      if (role === 'snapshot') return `${snapV}.snapshot.json`;
      const snap = JSON.parse(Buffer.from((await bh.hub.store.get(`tuf/metadata/${snapV}.snapshot.json`))!).toString('utf8'));
      return `${snap.signed.meta['targets.json'].version}.targets.json`;
    }
    const stillClassifies = async () => {
      await draw('1');
      await expect.poll(top1).toBe('1');
    };

    it('a bit-flipped model', async () => {
      await bh.publish(2, model);
      const key = await modelKey(2);
      const good = (await bh.hub.store.get(key))!;
      const bad = Uint8Array.from(good);
      bad[Math.floor(bad.length / 2)]! ^= 0x10;
      await bh.hub.store.put(key, bad);
      expect(await checkForUpdates()).toMatch(/TUF_BAD_HASH/);
      expect(await version()).toBe(`${MODEL} v1`);
      await stillClassifies();
      await page.screenshot({ path: join(SHOTS, 'browser-client-rejected.png'), fullPage: true });
      // The real file again: the same release now installs.
      await bh.hub.store.put(key, good);
      await checkForUpdates();
      await expect.poll(version, { timeout: 30_000 }).toBe(`${MODEL} v2`);
    });

    it('metadata signed with a wrong key', async () => {
      await bh.publish(3, model);
      const good = (await bh.hub.store.get('tuf/metadata/timestamp.json'))!;
      const doc = JSON.parse(Buffer.from(good).toString('utf8'));
      const { privateKey } = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
      const { canonicalJson } = await import('@edgeloop/protocol');
      const sig = new Uint8Array(
        await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, canonicalJson(doc.signed) as Uint8Array<ArrayBuffer>),
      );
      doc.signatures = doc.signatures.map((s: { keyid: string }) => ({ keyid: s.keyid, sig: Buffer.from(sig).toString('hex') }));
      await bh.hub.store.put('tuf/metadata/timestamp.json', new TextEncoder().encode(JSON.stringify(doc)));
      expect(await checkForUpdates()).toMatch(/TUF_BAD_SIGNATURE/);
      expect(await version()).toBe(`${MODEL} v2`);
      await stillClassifies();
      await bh.hub.store.put('tuf/metadata/timestamp.json', good);
      await checkForUpdates();
      await expect.poll(version, { timeout: 30_000 }).toBe(`${MODEL} v3`);
    });

    it('a rolled-back version', async () => {
      // The repository as it was at v3, served again after v4 has been installed.
      const atV3 = (await bh.hub.store.get('tuf/metadata/timestamp.json'))!;
      await bh.publish(4, model);
      await checkForUpdates();
      await expect.poll(version, { timeout: 30_000 }).toBe(`${MODEL} v4`);
      await bh.hub.store.put('tuf/metadata/timestamp.json', atV3);
      expect(await checkForUpdates()).toMatch(/TUF_ROLLBACK/);
      expect(await version()).toBe(`${MODEL} v4`);
      await stillClassifies();
    });
  });
});
