/**
 * Issue #8: `npm start` on this checkout starts the whole system with embedded defaults (hub,
 * broker, SQLite, the fs object store, a local trainer worker, the browser client at `/`) and a
 * first model trained on the bundled MNIST digits; SIGTERM stops it cleanly. It runs the real
 * command in its own process group, as a person would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, expect, test } from 'vitest';
import { freePort } from '../support/ports.js';

const ROOT = new URL('../../', import.meta.url).pathname;
let child: ChildProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  if (child?.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

test('npm start serves the client, trains and releases a first model, and stops on SIGTERM', { timeout: 300_000 }, async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'edgeloop-start-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    EDGELOOP_DATA_DIR: dataDir,
    EDGELOOP_HTTP_PORT: String(await freePort()),
    EDGELOOP_MQTT_PORT: String(await freePort()),
    EDGELOOP_MQTT_WS_PORT: String(await freePort()),
    // Three epochs keep the test short; the default is ten.
    EDGELOOP_TRAIN_EPOCHS: '3',
    EDGELOOP_LOG_LEVEL: 'info',
  };
  delete env.EDGELOOP_ADMIN_TOKEN;
  child = spawn('npm', ['start', '--silent'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const events: Record<string, { urls?: { http: string } }> = {};
  const waitFor = (name: string) =>
    new Promise<void>((resolve, reject) => {
      const lines = createInterface({ input: child!.stdout! });
      const timer = setTimeout(() => reject(new Error(`no ${name} event; stderr:\n${stderr.slice(-3000)}`)), 280_000);
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return;
        const event = JSON.parse(line) as { event: string; urls?: { http: string } };
        events[event.event] = event;
        if (event.event === name) {
          clearTimeout(timer);
          resolve();
        }
      });
      child!.once('exit', (code) => reject(new Error(`npm start exited (${code}); stderr:\n${stderr.slice(-3000)}`)));
    });
  const ready = waitFor('ready');
  const modelReady = waitFor('model-ready');
  await ready;
  const http = events.ready!.urls!.http;
  const health = await fetch(`${http}/health`);
  expect(health.status).toBe(200);
  // The banner names the URLs and the admin token, which is kept for the next start.
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  expect(stderr).toContain(`admin token: ${token}`);
  expect(stderr).toContain(`${http}/`);
  // The browser client, built by npm start.
  const page = await fetch(`${http}/`);
  expect(await page.text()).toContain('data-testid="pad"');
  const config = (await (await fetch(`${http}/client-config.json`)).json()) as { model: string };
  expect(config.model).toBe('digits');

  await modelReady;
  const models = (await (await fetch(`${http}/models/digits/versions`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
    items: { version: number }[];
  };
  expect(models.items.map((m) => m.version)).toContain(1);
  const timestamp = await fetch(`${http}/tuf/metadata/timestamp.json`);
  expect(timestamp.status).toBe(200);
  const rollouts = (await (await fetch(`${http}/rollouts`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
    items: { state: string; releaseVersion: number }[];
  };
  expect(rollouts.items[0]).toMatchObject({ state: 'promoted', releaseVersion: 1 });

  // SIGTERM to the group (npm and the hub under it), as a terminal's Ctrl-C or a service manager would.
  const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
  await expect.poll(() => stderr, { timeout: 30_000 }).toContain('"msg":"hub stopped"');
});
