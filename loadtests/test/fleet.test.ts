/**
 * The fleet simulator against a real hub in this process: five real edge agents install the first
 * signed release through TUF, classify a stream that shifts partway, send samples over MQTT, and
 * the SIMULATED labelling oracle labels the hub's queue with the ground truth.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configFor, type Hub, KeyDir, ReleaseRepository, startHub } from '@edgeloop/hub';
import { writeMnistModel } from '@edgeloop/tests/support/model-fixture';
import { freePort } from '@edgeloop/tests/support/ports';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';
import { type Fleet, startFleet } from '../src/fleet.js';
import { hubClient } from '../src/hub-client.js';
import { ORACLE_ACTOR, ORACLE_TAG, startOracle } from '../src/oracle.js';
import { mnistDigits, SHIFTS } from '../src/shifts.js';

const MODEL = 'mnist-cnn';
const ADMIN = 'fleet-test-admin-token';
const AGENTS = 5;
const SHIFT_AFTER = 15;
const BUDGET = 30;

let dir: string;
let hub: Hub;
let fleet: Fleet | undefined;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloop-fleet-test-'));
  const base = configFor(join(dir, 'hub'));
  hub = await startHub({
    ...base,
    http: { ...base.http, port: 0 },
    mqtt: { ...base.mqtt, tcpPort: await freePort(), wsPort: -1, rateLimit: { messagesPerSecond: 2000, burst: 2000 } },
    adminToken: ADMIN,
    productionModel: MODEL,
    pipeline: { ...base.pipeline, model: MODEL },
    localTrainer: false,
    log: { level: 'warn' },
  });
  // The first release: an untrained MNIST CNN (seeded weights) is enough to exercise the plumbing.
  const model = await writeMnistModel(join(dir, 'model-v1'), { name: MODEL, version: 1 });
  const releases = new ReleaseRepository({ store: hub.store, keyDir: new KeyDir(base.releases.keysDir) });
  await releases.publishRelease({
    model: MODEL,
    version: 1,
    onnxBytes: model.onnx,
    manifestBytes: new Uint8Array(await readFile(join(model.dir, 'manifest.json'))),
  });
}, 60_000);

afterAll(async () => {
  await fleet?.stop();
  await hub?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the fleet simulator', () => {
  it('streams a shifting input through real agents, and the simulated oracle labels with the truth', { timeout: 90_000 }, async () => {
    const lines: string[] = [];
    fleet = await startFleet({
      hubUrl: hub.urls.http,
      mqttUrl: hub.urls.mqtt,
      adminToken: ADMIN,
      agents: AGENTS,
      model: MODEL,
      workDir: join(dir, 'fleet'),
      seed: 42,
      shift: SHIFTS['thick-slant']!,
      shiftAfter: SHIFT_AFTER,
      ratePerAgent: 20,
      updateCheckMs: 500,
      log: (l) => lines.push(l),
    });
    // Every agent installed the signed release at its boot check.
    expect(fleet.versions()).toEqual(Array(AGENTS).fill(1));
    await fleet.start();
    await until('every agent past the shift', () => fleet!.stats().agents.every((a) => a.classified >= 2 * SHIFT_AFTER));

    const api = hubClient({ hubUrl: hub.urls.http, adminToken: ADMIN });
    const total = async (query: string) => (await api.request<{ total: number }>('GET', `/samples?limit=1&${query}`)).total;
    await until('samples at the hub', async () => (await total('source=device')) >= 20);

    const oracleLines: string[] = [];
    const oracle = startOracle({
      hubUrl: hub.urls.http,
      adminToken: ADMIN,
      truthOf: fleet.truthOf,
      ratePerSecond: 100,
      budget: BUDGET,
      log: (l) => oracleLines.push(l),
    });
    await until('the label budget used', () => oracle.labelled() >= BUDGET);
    await oracle.stop();
    await fleet.stop();
    expect(oracle.labelled()).toBe(BUDGET);
    expect(oracleLines.length).toBeGreaterThan(0);
    for (const l of oracleLines) expect(l.startsWith(ORACLE_TAG)).toBe(true);

    // The hub's labels are the ground truth, written by the simulated oracle and attributed to it.
    const labelled = await api.request<{ items: { id: string; label: string | null }[]; total: number }>(
      'GET',
      '/samples?queueState=labelled&limit=500',
    );
    expect(labelled.total).toBe(BUDGET);
    for (const s of labelled.items) {
      expect(s.label).toBe(fleet.truthOf(s.id));
      const history = await api.request<{ items: { labelledBy: string; action: string }[] }>('GET', `/samples/${s.id}/labels`);
      expect(history.items.at(-1)).toMatchObject({ labelledBy: ORACLE_ACTOR, action: 'correct' });
    }
    // Every sample the hub holds is one the simulator sent (and so knows the truth of).
    const all = await api.request<{ items: { id: string }[] }>('GET', '/samples?source=device&limit=500');
    for (const s of all.items) expect(fleet.truthOf(s.id)).toBeDefined();

    // The books balance.
    const stats = fleet.stats();
    expect(stats.totals.errors).toBe(0);
    for (const a of stats.agents) {
      expect(a.before.n).toBe(SHIFT_AFTER);
      expect(a.classified).toBe(a.before.n + a.after.n);
      expect(a.correct).toBe(a.before.correct + a.after.correct);
      expect(a.modelVersion).toBe(1);
    }
    expect(stats.totals.classified).toBe(stats.agents.reduce((s, a) => s + a.classified, 0));
    expect(stats.shiftedByVersion['1']!.n).toBe(stats.totals.after.n);
    // Every sample the hub holds was stored by an agent (the fleet reads final counts at stop).
    expect(stats.totals.stored).toBeGreaterThanOrEqual(await total('source=device'));
    expect(lines.some((l) => l.includes('5 agents started'))).toBe(true);

    // The evaluation path reads the agent's installed model and sends nothing.
    const before = await total('source=device');
    const acc = await fleet.accuracyOn(mnistDigits('test').slice(0, 40), SHIFTS.none!);
    expect(acc).toBeGreaterThanOrEqual(0);
    expect(acc).toBeLessThanOrEqual(1);
    expect(await total('source=device')).toBe(before);
  });

  it('runs the demo: progress lines labelled as a simulation, and a clean stop', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    // The same device ids as the fleet above: the demo re-issues their credentials.
    const demo = await runDemo({
      hubUrl: hub.urls.http,
      mqttUrl: hub.urls.mqtt,
      adminToken: ADMIN,
      agents: 2,
      shiftAfter: 5,
      ratePerAgent: 10,
      progressMs: 300,
      labelBudget: 5,
      labelsPerSecond: 50,
      log: (l) => lines.push(l),
    });
    await until('a progress line with labels', () => lines.some((l) => /labelled by the simulated oracle [1-9]/.test(l)));
    await demo.stop();
    expect(lines.some((l) => l.startsWith('[simulation: fleet] classified'))).toBe(true);
    expect(lines.some((l) => l.startsWith(ORACLE_TAG))).toBe(true);
    for (const l of lines) expect(l.startsWith('[simulation')).toBe(true);
  });
});
