import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { announceTopic, encodeJson } from '@edgeloop/protocol';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HubDouble } from '../test/hub-double.js';
import { mnistPngs, mnistRelease, writeMnistModel } from '../test/model-fixture.js';
import { TufRepository, TufServer } from '../test/support/tuf-repo.js';
import type { AgentStatus } from './agent/wiring.js';
import { type Agent, startAgent } from './agent.js';
import { loadConfig } from './config-sources.js';
import { createLogger } from './log.js';
import { releasePaths } from './updates/index.js';

const silent = createLogger('silent');
const everything = {
  sampling: { strategy: { strategy: 'random', rate: 1 } },
  budgets: { device: { capacity: 1e6, refillPerHour: 0 }, perClass: { capacity: 1e6, refillPerHour: 0 } },
};

async function until<T>(f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(25);
  }
}

let pngs: Uint8Array<ArrayBuffer>[];
let modelDir: string;
const agents: Agent[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  pngs = (await mnistPngs(60)).map((p) => p.bytes);
  modelDir = join(mkdtempSync(join(tmpdir(), 'agent-model-')), 'm');
  await writeMnistModel(modelDir, { name: 'digits', version: 1 });
});

afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
  for (const c of cleanups.splice(0)) await c();
});

async function start(file: object, deps = {}): Promise<Agent> {
  const agent = await startAgent(loadConfig({ file: { http: { port: 0 }, updates: { checkIntervalS: 0 }, ...file } }), {
    logger: silent,
    ...deps,
  });
  agents.push(agent);
  return agent;
}

const post = (agent: Agent, body: Uint8Array<ArrayBuffer>) => fetch(`${agent.httpUrl}/classify`, { method: 'POST', body });
const status = async (agent: Agent) => (await (await fetch(`${agent.httpUrl}/status`)).json()) as AgentStatus;

describe('startAgent, offline with a pinned model', () => {
  it('classifies from HTTP and a watched folder, queues selected samples durably, reports status and metrics', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    const watchDir = mkdtempSync(join(tmpdir(), 'agent-in-'));
    const file = { stateDir, model: { name: 'digits', dir: modelDir }, watch: { dirs: [watchDir], stableMs: 50 }, ...everything };
    const agent = await start(file);
    for (const png of pngs.slice(0, 20)) expect((await post(agent, png)).status).toBe(200);
    expect((await post(agent, pngs[0]!)).status).toBe(200); // the same image again: a duplicate sample
    for (const [i, png] of pngs.slice(20, 25).entries()) writeFileSync(join(watchDir, `img-${i}.png`), png);
    await until(async () => (await status(agent)).watch.processed === 5);
    await agent.idle();
    const s = await status(agent);
    expect(s).toMatchObject({
      model: { name: 'digits', version: 1 },
      modelSource: 'pinned',
      uplink: { configured: false, connected: false },
      watch: { processed: 5, failed: 0 },
      outbox: { count: 25 },
      sampler: { source: 'local', counts: { offered: 26, selected: 25, stored: 25, duplicate: 1, errors: 0 } },
    });
    const metrics = await (await fetch(`${agent.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^edgeloop_agent_outbox_items 25$/m);
    expect(metrics).toMatch(/^edgeloop_agent_model_info\{model="digits",version="1"\} 1$/m);
    const total = [...metrics.matchAll(/^edgeloop_agent_classifications_total\{label="\d"\} (\d+)$/gm)].reduce(
      (a, m) => a + Number(m[1]),
      0,
    );
    expect(total).toBe(26);
    await agent.stop();
    agents.pop();

    // The queue survives a restart.
    const again = await start(file);
    expect((await status(again)).outbox).toMatchObject({ count: 25 });
  });

  it('refuses to start on a port in use, and releases what it had opened', async () => {
    const a = await start({ stateDir: mkdtempSync(join(tmpdir(), 'agent-state-')), model: { name: 'digits', dir: modelDir } });
    const port = Number(new URL(a.httpUrl!).port);
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    const file = { stateDir, model: { name: 'digits', dir: modelDir }, http: { port } };
    await expect(startAgent(loadConfig({ file }), { logger: silent })).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    // The same state directory opens again at once: the failed start closed its database.
    const b = await start({ ...file, http: { port: 0 } });
    expect((await b.status()).model).toMatchObject({ name: 'digits' });
  });

  it('fails fast when the pinned model does not load', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    await expect(start({ stateDir, model: { name: 'digits', dir: join(stateDir, 'nothing') } })).rejects.toMatchObject({
      code: 'NO_MODEL',
    });
  });
});

describe('startAgent with a hub', () => {
  it('queues while the hub is down and delivers every sample once it is back, with no duplicates stored', async () => {
    const hub = await HubDouble.start(0, { dev1: 's3cret' });
    cleanups.push(() => hub.close());
    await hub.down();
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    const agent = await start({
      stateDir,
      deviceId: 'dev1',
      secret: 's3cret',
      hub: { mqttUrl: hub.url, httpUrl: 'http://127.0.0.1:9' },
      model: { name: 'digits', dir: modelDir },
      ...everything,
    });
    await Promise.all(pngs.map((p) => agent.classify(p)));
    await agent.idle();
    expect((await agent.status()).outbox).toMatchObject({ count: 60 });
    await hub.up();
    await until(async () => ((await agent.status()).outbox as { count: number }).count === 0, 60_000);
    expect(hub.stored.size).toBe(60);
    expect((await agent.status()).uplink.connected).toBe(true);
  });
});

describe('startAgent with verified updates', () => {
  it('installs the first model, swaps under load without failing a classification, refuses a bad release, follows announcements', async () => {
    const repo = new TufRepository();
    const server = await TufServer.start(repo);
    cleanups.push(() => server.close());
    const addRelease = async (version: number) => {
      const r = await mnistRelease('digits', version);
      const paths = releasePaths('digits', version);
      repo.addTarget(paths.model, r.onnx);
      repo.addTarget(paths.manifest, r.manifest);
      repo.publish();
    };
    const hub = await HubDouble.start(0, { dev2: 'pw' });
    cleanups.push(() => hub.close());
    const stateDir = mkdtempSync(join(tmpdir(), 'agent-state-'));
    const agent = await start(
      {
        stateDir,
        deviceId: 'dev2',
        secret: 'pw',
        model: { name: 'digits' },
        hub: { mqttUrl: hub.url, httpUrl: 'http://127.0.0.1:9', repositoryUrl: server.url },
      },
      { updater: { trustedRoot: repo.trustedRoot(), fetch: { timeoutMs: 10_000, stallTimeoutMs: 5_000 } } },
    );
    expect((await status(agent)).model).toBeNull();
    expect((await post(agent, pngs[0]!)).status).toBe(503);

    await addRelease(1);
    expect(await agent.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 1 } });
    expect((await agent.classify(pngs[0]!)).model.version).toBe(1);

    // v2 arrives while classifications run: none fails, each runs on v1 or v2, v2 serves afterwards.
    await addRelease(2);
    let running = true;
    const versions: number[] = [];
    const loop = async (offset: number) => {
      for (let i = offset; running; i++) versions.push((await agent.classify(pngs[i % pngs.length]!)).model.version);
    };
    const loads = [loop(0), loop(20), loop(40)]; // a rejection here would fail the test
    await sleep(20);
    expect(await agent.checkForUpdate()).toMatchObject({ status: 'updated', model: { version: 2 } });
    const atSwap = versions.length;
    await sleep(100);
    running = false;
    await Promise.all(loads);
    expect(versions.slice(0, atSwap)).toContain(1);
    expect(versions.slice(atSwap)).toContain(2);
    expect((await agent.classify(pngs[0]!)).model.version).toBe(2);

    // A release whose ONNX bytes do not match its signed manifest is refused; v2 keeps serving.
    const bad = await mnistRelease('digits', 3);
    const good = await mnistRelease('digits', 3, 99);
    const paths = releasePaths('digits', 3);
    repo.addTarget(paths.model, good.onnx);
    repo.addTarget(paths.manifest, bad.manifest);
    repo.publish();
    expect(await agent.checkForUpdate()).toMatchObject({ status: 'rejected' });
    expect((await agent.classify(pngs[1]!)).model.version).toBe(2);
    expect((await status(agent)).updates).toMatchObject({ status: 'rejected' });

    // v4, announced over MQTT (a hint): the agent checks, verifies and swaps by itself.
    await addRelease(4);
    await until(() => agent.status().then((s) => s.uplink.connected));
    const announcement = encodeJson('announcement', {
      v: 1,
      model: 'digits',
      version: 4,
      timestampVersion: 1,
      publishedAt: new Date().toISOString(),
    });
    await new Promise<void>((resolve, reject) =>
      hub.broker.publish(
        { cmd: 'publish', topic: announceTopic('digits'), payload: Buffer.from(announcement), qos: 1, retain: true, dup: false },
        (e) => (e ? reject(e) : resolve()),
      ),
    );
    await until(async () => (await status(agent)).model?.version === 4);
    expect((await agent.classify(pngs[2]!)).model.version).toBe(4);
    // Instant local rollback to the previous model.
    expect(await agent.rollback()).toMatchObject({ version: 2 });
    expect((await agent.classify(pngs[2]!)).model.version).toBe(2);
  });
});
