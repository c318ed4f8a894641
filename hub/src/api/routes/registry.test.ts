/** The registry routes on the hub's real API app (`createApi` over real parts, as `apiRoutes` mounts them). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromotionGate } from '../../gate/decisions.js';
import { defaultRegistryConfig } from '../../registry/config.js';
import { ModelRegistry } from '../../registry/models.js';
import { RunTracker } from '../../registry/runs.js';
import { manifestFor } from '../../registry/test-support.js';
import { type ApiFixture, auth, openApiFixture } from '../test-support.js';

const json = { ...auth, 'content-type': 'application/json' };

let f: ApiFixture;
let runs: RunTracker;
let models: ModelRegistry;
let runId: string;
let decisionId: string;

beforeAll(async () => {
  f = await openApiFixture();
  runs = new RunTracker({ db: f.database, store: f.store, energy: defaultRegistryConfig.energy });
  models = new ModelRegistry({ db: f.database, store: f.store });
  const run = runs.create({ experiment: 'digits', params: { epochs: 2 }, datasetId: 'e'.repeat(64), createdBy: 'system:trigger:t1' });
  runId = run.id;
  runs.start(run.id, { backend: 'wasm', hardware: { cores: 2 } });
  runs.logMetrics(run.id, { epoch: 1, values: { loss: 0.9, accuracy: 0.7 } });
  runs.logMetrics(run.id, { epoch: 2, values: { loss: 0.4, accuracy: 0.85 } });
  await runs.logArtifact(run.id, 'confusion.svg', new TextEncoder().encode('<svg/>'), 'image/svg+xml');
  await runs.logArtifact(run.id, 'metrics.json', new TextEncoder().encode('{"accuracy":0.85}'), 'application/json');
  runs.finish(run.id);
  for (const n of [1, 2]) {
    const onnx = new Uint8Array(32).fill(n);
    await models.register({
      model: 'digits',
      onnx,
      manifest: manifestFor(onnx),
      runId: n === 1 ? run.id : undefined,
      actor: 'system:pipeline',
    });
  }
  models.setAlias('digits', 'champion', 1, 'system:gate', 'first model');
  const gate = new PromotionGate({ db: f.database, registry: models, settings: defaultRegistryConfig.gate });
  const truth = Array.from({ length: 60 }, (_, i) => i % 3);
  decisionId = gate.decide({
    model: 'digits',
    input: { labels: ['0', '1', '2'], truth, champion: truth, challenger: truth },
    championVersion: 1,
    challengerVersion: 2,
  }).record.id;
});
afterAll(() => f.close());

describe('registry routes', () => {
  it('GET /runs lists runs, filtered by status', async () => {
    const res = await f.app.request('/runs?status=succeeded', { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: { id: string; energyKwh: number }[] };
    expect(body.items.map((r) => r.id)).toEqual([runId]);
    expect(body.items[0]!.energyKwh).toBeGreaterThanOrEqual(0);
    expect(((await (await f.app.request('/runs?status=failed', { headers: auth })).json()) as { items: unknown[] }).items).toEqual([]);
    expect((await f.app.request('/runs?status=bogus', { headers: auth })).status).toBe(400);
    expect((await f.app.request('/runs')).status).toBe(401);
  });

  it('GET /runs/{id} has the metrics per epoch and the artifacts; the artifact downloads', async () => {
    const res = await f.app.request(`/runs/${runId}`, { headers: auth });
    const run = (await res.json()) as {
      status: string;
      backend: string;
      metrics: { key: string; step: number; value: number }[];
      artifacts: { name: string; sha256: string }[];
    };
    expect(run).toMatchObject({ status: 'succeeded', backend: 'wasm' });
    expect(run.metrics.filter((m) => m.key === 'loss').map((m) => [m.step, m.value])).toEqual([
      [1, 0.9],
      [2, 0.4],
    ]);
    expect(run.artifacts.map((a) => a.name)).toEqual(['confusion.svg', 'metrics.json']);
    const file = await f.app.request(`/runs/${runId}/artifacts/metrics.json`, { headers: auth });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/json');
    expect(await file.text()).toBe('{"accuracy":0.85}');
    // A type outside the documented list is served as bytes.
    expect((await f.app.request(`/runs/${runId}/artifacts/confusion.svg`, { headers: auth })).headers.get('content-type')).toBe(
      'application/octet-stream',
    );
    expect((await f.app.request(`/runs/${runId}/artifacts/nope.bin`, { headers: auth })).status).toBe(404);
    expect((await f.app.request(`/runs/${crypto.randomUUID()}`, { headers: auth })).status).toBe(404);
    expect((await f.app.request('/runs/not-a-uuid', { headers: auth })).status).toBe(400);
  });

  it('GET /models, /models/{name}/versions and /history show versions, lineage and aliases', async () => {
    expect(await (await f.app.request('/models', { headers: auth })).json()).toEqual({
      items: [{ model: 'digits', latestVersion: 2, aliases: { champion: 1 } }],
    });
    const versions = (await (await f.app.request('/models/digits/versions', { headers: auth })).json()) as {
      items: { version: number; runId: string | null }[];
      aliases: unknown;
    };
    expect(versions.items.map((v) => [v.version, v.runId])).toEqual([
      [2, null],
      [1, runId],
    ]);
    expect(versions.aliases).toEqual({ champion: 1 });
  });

  it('POST /models/{name}/aliases/{alias} moves an alias by hand, recorded as the user with the reason', async () => {
    const res = await f.app.request('/models/digits/aliases/champion', {
      method: 'POST',
      headers: { ...json, 'x-edgeloop-actor': 'ann' },
      body: JSON.stringify({ version: 2, reason: 'manual promotion after review' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { changed: boolean; event: { actor: string; replacedVersion: number } };
    expect(body.changed).toBe(true);
    expect(body.event).toMatchObject({ toAlias: 'champion', version: 2, replacedVersion: 1, reason: 'manual promotion after review' });
    expect(body.event.actor).toMatch(/^user:/);
    const again = await f.app.request('/models/digits/aliases/champion', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ version: 2, reason: 'again' }),
    });
    expect(await again.json()).toEqual({ changed: false, event: null });
    const history = (await (await f.app.request('/models/digits/history', { headers: auth })).json()) as {
      items: { event: string; actor: string }[];
    };
    expect(history.items.map((e) => e.event)).toEqual(['registered', 'registered', 'alias-set', 'alias-set']);
    expect(
      (
        await f.app.request('/models/digits/aliases/champion', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ version: 9, reason: 'x' }),
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await f.app.request('/models/digits/aliases/production', {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ version: 1, reason: 'x' }),
        })
      ).status,
    ).toBe(400);
    expect(
      (await f.app.request('/models/digits/aliases/champion', { method: 'POST', headers: json, body: JSON.stringify({ version: 1 }) }))
        .status,
    ).toBe(400);
  });

  it('GET /gate/decisions/{id} shows the decision with its numbers', async () => {
    const res = await f.app.request(`/gate/decisions/${decisionId}`, { headers: auth });
    expect(res.status).toBe(200);
    const decision = (await res.json()) as Record<string, unknown>;
    expect(decision).toMatchObject({
      id: decisionId,
      decision: 'promote',
      examples: 60,
      difference: 0,
      ciLow: 0,
      ciHigh: 0,
      championVersion: 1,
      challengerVersion: 2,
    });
    expect(decision.perClass).toMatchObject({ '0': { support: 20, champion: 1, challenger: 1, regressed: false } });
    expect(
      ((await (await f.app.request('/gate/decisions?model=digits', { headers: auth })).json()) as { items: unknown[] }).items,
    ).toHaveLength(1);
    expect((await f.app.request(`/gate/decisions/${crypto.randomUUID()}`, { headers: auth })).status).toBe(404);
  });
});
