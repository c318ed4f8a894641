/**
 * POST /training/trigger and GET /triggers/firings on the hub's real API app (`createApi` over real
 * parts: its request ids, bearer auth and error bodies) with a real trigger engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelemetryStore } from '../../fleet/telemetry-store.js';
import { triggerConfig } from '../../triggers/config.js';
import { TriggerEngine } from '../../triggers/engine.js';
import type { Firing } from '../../triggers/firings.js';
import { TestClock } from '../../triggers/test-support.js';
import { buildOpenApi } from '../openapi.js';
import { type ApiFixture, auth, openApiFixture } from '../test-support.js';
import { API_INFO } from './index.js';
import { triggerRoutes } from './triggers.js';

const json = { ...auth, 'content-type': 'application/json' };
const MIN = 60_000;

let f: ApiFixture;
let engine: TriggerEngine;
const clock = new TestClock(Date.parse('2026-03-02T00:00:00.000Z'));
const handed: Firing[] = [];

beforeAll(async () => {
  f = await openApiFixture({
    triggers: (hub) => {
      engine = new TriggerEngine({
        db: hub.database,
        config: triggerConfig({ manual: { cooldownMs: 10 * MIN } }),
        telemetry: new TelemetryStore(hub.database),
        lastTraining: () => ({ at: '2026-03-01T00:00:00.000Z', datasetId: 'd1' }),
        onFire: (firing) => {
          handed.push(firing);
        },
        log: hub.log,
        now: clock.now,
      });
      return engine;
    },
  });
});
afterAll(async () => {
  await engine.stop();
  await f.close();
});

describe('manual trigger through the API', () => {
  it('fires with who asked and why, hands the firing to the pipeline, and logs it', async () => {
    const res = await f.app.request('/training/trigger', {
      method: 'POST',
      headers: { ...json, 'x-edgeloop-actor': 'alice' },
      body: JSON.stringify({ reason: 'new lighting in hall 2' }),
    });
    expect(res.status).toBe(202);
    const firing = (await res.json()) as Firing;
    expect(firing).toMatchObject({
      kind: 'manual',
      actor: 'alice',
      reason: 'new lighting in hall 2',
      at: '2026-03-02T00:00:00.000Z',
      sinceTrainingAt: '2026-03-01T00:00:00.000Z',
      sinceDatasetId: 'd1',
      others: [],
    });
    expect(handed).toEqual([firing]);
    const list = await f.app.request('/triggers/firings', { headers: auth });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { items: Firing[] }).items).toEqual([firing]);
  });

  it('answers 409 with Retry-After within the manual cool-down, and fires again after it', async () => {
    clock.advance(MIN);
    const refused = await f.app.request('/training/trigger', { method: 'POST', headers: json, body: '{}' });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('retry-after')).toBe('540');
    expect(await refused.json()).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('cool-down') });
    clock.advance(9 * MIN);
    const again = await f.app.request('/training/trigger', { method: 'POST', headers: json, body: '{}' });
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ actor: 'admin', reason: 'manual trigger by admin' });
    expect(handed).toHaveLength(2);
  });

  it('requires the admin token and a valid body', async () => {
    expect((await f.app.request('/training/trigger', { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await f.app.request('/triggers/firings')).status).toBe(401);
    const bad = await f.app.request('/training/trigger', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ reason: 'x', extra: 1 }),
    });
    expect(bad.status).toBe(400);
    expect((await f.app.request('/training/trigger', { method: 'POST', headers: auth })).status).toBe(400);
    expect(handed).toHaveLength(2);
  });
});

describe('GET /triggers/firings', () => {
  it('pages newest first and filters by kind', async () => {
    const all = ((await (await f.app.request('/triggers/firings', { headers: auth })).json()) as { items: Firing[] }).items;
    expect(all.map((x) => x.at)).toEqual(['2026-03-02T00:10:00.000Z', '2026-03-02T00:00:00.000Z']);
    const page = (
      (await (await f.app.request(`/triggers/firings?limit=1&before=${encodeURIComponent(all[0]!.at)}`, { headers: auth })).json()) as {
        items: Firing[];
      }
    ).items;
    expect(page).toEqual([all[1]]);
    const none = ((await (await f.app.request('/triggers/firings?kind=drift', { headers: auth })).json()) as { items: Firing[] }).items;
    expect(none).toEqual([]);
    expect((await f.app.request('/triggers/firings?kind=bogus', { headers: auth })).status).toBe(400);
    expect((await f.app.request('/triggers/firings?limit=501', { headers: auth })).status).toBe(400);
  });

  it('answers 409 when the trigger engine is not running, and documents both routes', async () => {
    const routes = triggerRoutes({});
    const doc = buildOpenApi([...f.routes, ...routes], API_INFO);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/training/trigger', '/triggers/firings']));
    expect(JSON.stringify(doc.paths['/training/trigger'])).toContain('"202"');
    const handler = routes[1]!.handler;
    expect(() => handler({ params: undefined, query: { limit: 1 }, body: undefined }, {} as never)).toThrow('not running');
  });
});
