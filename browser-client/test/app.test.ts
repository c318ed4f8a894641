/**
 * The built app in Chromium with no hub behind it (no model, no broker): it loads without console
 * errors, says it has no model, installs its service worker, and reloads with the network off.
 */
import { mkdirSync } from 'node:fs';
import { hasChromium, launchChromium, type StaticSite } from '@edgeloop/tests/support/chromium';
import { requirePart } from '@edgeloop/tests/support/ci';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineConfig, serveApp } from './support/site.js';

const results = new URL('../../test-results/', import.meta.url).pathname;

/** Records console errors and uncaught exceptions. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  return errors;
}

describe.runIf(requirePart('Chromium', hasChromium, 'apt-get install -y chromium'))('the app without a hub', () => {
  let site: StaticSite;
  let browser: Browser;

  beforeAll(async () => {
    site = await serveApp({ '/client-config.json': offlineConfig() });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('loads cleanly, shows no model, and keeps working with the network off', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(site.url);
    await expect.poll(() => page.getByTestId('model-version').textContent()).toBe('none');
    await expect.poll(() => page.getByTestId('network').textContent()).toBe('online');
    expect(await page.getByTestId('outbox-count').textContent()).toBe('0');
    for (const id of [
      'pad',
      'clear',
      'file',
      'results',
      'top1',
      'notice',
      'wrong',
      'correct-label',
      'send-correction',
      'check-updates',
      'camera',
    ]) {
      expect(await page.getByTestId(id).count(), id).toBe(1);
    }
    mkdirSync(results, { recursive: true });
    await page.screenshot({ path: `${results}browser-client-empty.png`, fullPage: true });

    // The service worker precaches the shell; then a reload with no network still shows the app.
    await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await expect
      .poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null || caches.keys().then((k) => k.length > 0)))
      .toBe(true);
    await expect.poll(() => page.evaluate(async () => (await caches.keys()).length)).toBeGreaterThan(0);
    await context.setOffline(true);
    await page.reload();
    await expect.poll(() => page.getByTestId('network').textContent()).toBe('offline');
    expect(await page.getByTestId('model-version').textContent()).toBe('none');
    expect(errors).toEqual([]);
    await context.close();
  });
});
