/**
 * The IndexedDB outbox in real Chromium: one entry per sample id, durable across a reload, gone
 * only on the hub's ack, and bounded with corrections kept over sampled predictions.
 */
import { hasChromium, launchChromium, type StaticSite, serveStatic } from '@edgeloop/tests/support/chromium';
import { requirePart } from '@edgeloop/tests/support/ci';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdbOutbox } from '../src/outbox/idb-outbox.js';

type Api = { open(o?: { maxEntries?: number; maxBytes?: number }): Promise<IdbOutbox> };
declare const outboxTest: Api;

const entry = new URL('./support/outbox-entry.ts', import.meta.url).pathname;

describe.runIf(requirePart('Chromium', hasChromium, 'apt-get install -y chromium'))('IdbOutbox in Chromium', () => {
  let site: StaticSite;
  let browser: Browser;

  beforeAll(async () => {
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      conditions: ['@edgeloop/source'],
    });
    site = await serveStatic({
      '/': { body: '<!doctype html><title>outbox</title><script src="/outbox.js"></script>', type: 'text/html' },
      '/outbox.js': { body: out.outputFiles[0]?.text ?? '', type: 'text/javascript' },
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  async function freshPage(): Promise<Page> {
    const page = await (await browser.newContext()).newPage();
    await page.goto(site.url);
    return page;
  }

  it('stores a sample id once, keeps it across a reload, and deletes it only on ack', async () => {
    const page = await freshPage();
    const first = await page.evaluate(async () => {
      const o = await outboxTest.open();
      const bytes = new Uint8Array([1, 2, 3]);
      const a = await o.enqueue({ sampleId: 'a'.repeat(64), bytes });
      const b = await o.enqueue({ sampleId: 'a'.repeat(64), bytes: new Uint8Array([9]) });
      return { a, b, stats: await o.stats() };
    });
    expect(first).toEqual({ a: 'stored', b: 'duplicate', stats: { count: 1, bytes: 3, dropped: 0 } });

    await page.reload();
    const after = await page.evaluate(async () => {
      const o = await outboxTest.open();
      const due = await o.due(10);
      await o.markSent(due.map((d) => d.sampleId));
      const stillThere = (await o.stats()).count;
      const acked = await o.ack(['a'.repeat(64), 'b'.repeat(64)]);
      return { ids: due.map((d) => d.sampleId), bytes: Array.from(due[0]?.bytes ?? []), stillThere, acked, stats: await o.stats() };
    });
    expect(after).toEqual({ ids: ['a'.repeat(64)], bytes: [1, 2, 3], stillThere: 1, acked: 1, stats: { count: 0, bytes: 0, dropped: 0 } });
    await page.context().close();
  });

  it('schedules resends with backoff, and a reset makes everything due again', async () => {
    const page = await freshPage();
    const r = await page.evaluate(async () => {
      const o = await outboxTest.open();
      await o.enqueue({ sampleId: 'c'.repeat(64), bytes: new Uint8Array([1]) });
      await o.markSent(['c'.repeat(64)]);
      const dueAfterSend = (await o.due(10)).length;
      await o.resetSchedule();
      return { dueAfterSend, dueAfterReset: (await o.due(10)).length };
    });
    expect(r).toEqual({ dueAfterSend: 0, dueAfterReset: 1 });
    await page.context().close();
  });

  it('drops the oldest sampled predictions first when full, keeps corrections, and counts drops', async () => {
    const page = await freshPage();
    const r = await page.evaluate(async () => {
      const o = await outboxTest.open({ maxEntries: 3 });
      const id = (c: string) => c.repeat(64);
      await o.enqueue({ sampleId: id('1'), bytes: new Uint8Array([1]), correction: true });
      await o.enqueue({ sampleId: id('2'), bytes: new Uint8Array([2]) });
      await o.enqueue({ sampleId: id('3'), bytes: new Uint8Array([3]) });
      await o.enqueue({ sampleId: id('4'), bytes: new Uint8Array([4]) });
      await o.enqueue({ sampleId: id('5'), bytes: new Uint8Array([5]), correction: true });
      const due = await o.due(10);
      return { ids: due.map((d) => d.sampleId[0]), stats: await o.stats() };
    });
    // Corrections go first when sending; the two oldest predictions (2, 3) were dropped.
    expect(r).toEqual({ ids: ['1', '5', '4'], stats: { count: 3, bytes: 3, dropped: 2 } });
    await page.context().close();
  });
});
