import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { tokenMatches } from './auth.js';
import type { Route } from './route.js';
import { type ApiFixture, auth, openApiFixture, type Seeded, seed, TEST_TOKEN } from './test-support.js';

const json = { ...auth, 'content-type': 'application/json' };

/** A concrete URL for a route, with every path parameter set to a syntactically valid value. */
function concretePath(route: Route): string {
  const values: Record<string, string> = { id: 'a'.repeat(64), sampleId: 'b'.repeat(64), a: 'c'.repeat(64), b: 'd'.repeat(64) };
  if (route.path.startsWith('/devices/')) values.id = 'cam-1';
  if (route.path.startsWith('/imports/')) values.id = '00000000-0000-4000-8000-000000000000';
  return route.path.replace(/\{(\w+)\}/g, (_m, name: string) => values[name]!);
}

let f: ApiFixture;
let s: Seeded;

beforeAll(async () => {
  f = await openApiFixture();
  s = await seed(f);
});
afterAll(() => f.close());

describe('bearer auth', () => {
  it('answers 401 UNAUTHORIZED with a Bearer challenge for a missing, malformed or wrong token', async () => {
    for (const [headers, error] of [
      [{}, undefined],
      [{ authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` }, 'invalid_request'],
      [{ authorization: 'Bearer' }, 'invalid_request'],
      [{ authorization: `Bearer ${TEST_TOKEN}x` }, 'invalid_token'],
      [{ authorization: `Bearer ${TEST_TOKEN.slice(0, -1)}` }, 'invalid_token'],
    ] as const) {
      const res = await f.app.request('/devices', { headers });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { code: string; requestId: string };
      expect(body.code).toBe('UNAUTHORIZED');
      expect(body.requestId).toBe(res.headers.get('x-request-id'));
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer realm="edgeloop-hub"/);
      if (error) expect(challenge).toContain(`error="${error}"`);
    }
    const ok = await f.app.request('/devices', { headers: auth });
    expect(ok.status).toBe(200);
    // The scheme is case-insensitive (RFC 7235 §2.1).
    expect((await f.app.request('/devices', { headers: { authorization: `bearer ${TEST_TOKEN}` } })).status).toBe(200);
  });

  it('guards every admin route and leaves the public ones open', async () => {
    for (const route of f.routes) {
      const res = await f.app.request(concretePath(route), { method: route.method.toUpperCase() });
      if (route.auth === 'admin') expect(res.status, `${route.method} ${route.path}`).toBe(401);
      else expect(res.status, `${route.method} ${route.path}`).not.toBe(401);
    }
    const open = f.routes.filter((r) => r.auth === 'public').map((r) => r.path);
    expect(open).toEqual(expect.arrayContaining(['/health', '/metrics', '/openapi.json']));
    expect(open.filter((p) => /device|sample|label|dataset|import|classify/.test(p))).toEqual([]);
  });

  it('with no configured token, refuses every admin route whatever the client sends', async () => {
    const closed = await openApiFixture({ token: '' });
    try {
      for (const route of closed.routes.filter((r) => r.auth === 'admin')) {
        for (const authorization of [undefined, 'Bearer', 'Bearer ', 'Bearer x', `Bearer ${TEST_TOKEN}`]) {
          const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
          const res = await closed.app.request(concretePath(route), { method: route.method.toUpperCase(), headers });
          expect(res.status, `${route.method} ${route.path} ${authorization}`).toBe(401);
        }
      }
      expect(closed.count('SELECT count(*) FROM devices')).toBe(0);
    } finally {
      await closed.close();
    }
  });

  it('compares tokens in constant time over digests: equal only when equal, never for an empty token', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abc', 'abd')).toBe(false);
    expect(tokenMatches('ab', 'abc')).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });

  it('records the actor named by x-edgeloop-actor, and refuses a malformed one before acting', async () => {
    const [sampleId] = s.sampleIds.slice(12);
    const bad = await f.app.request(`/labelling/${sampleId}/correct`, {
      method: 'POST',
      headers: { ...json, 'x-edgeloop-actor': 'alice smith' },
      body: JSON.stringify({ label: 'square' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: { in: string }[] }).issues[0]!.in).toBe('headers');
    const res = await f.app.request(`/labelling/${sampleId}/correct`, {
      method: 'POST',
      headers: { ...json, 'x-edgeloop-actor': 'alice' },
      body: JSON.stringify({ label: 'square' }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sampleId, label: 'square', source: 'human', action: 'correct', labelledBy: 'alice' });
    expect(f.count("SELECT count(*) FROM audit_log WHERE actor = 'alice' AND action = 'label.correct' AND subject = ?", sampleId)).toBe(1);
    const created = await f.app.request('/devices', { method: 'POST', headers: json, body: JSON.stringify({ deviceId: 'by-default' }) });
    expect(((await (await f.app.request('/devices/by-default', { headers: auth })).json()) as { createdBy: string }).createdBy).toBe(
      'admin',
    );
    expect(created.status).toBe(201);
  });
});

describe('errors', () => {
  it('are JSON with a code: 404 for unknown routes, 405 with Allow for a wrong method', async () => {
    const missing = await f.app.request('/nope', { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND' });
    const wrong = await f.app.request('/devices/cam-1', { method: 'DELETE', headers: auth });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    expect(await wrong.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
  });

  it('report every schema violation with where it was', async () => {
    const res = await f.app.request('/samples?limit=501&queueState=done&since=yesterday', { headers: auth });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; issues: { in: string; path: string[] }[] };
    expect(body.code).toBe('BAD_REQUEST');
    expect(body.issues.map((i) => i.path[0]).sort()).toEqual(['limit', 'queueState', 'since']);
    expect(body.issues.every((i) => i.in === 'query')).toBe(true);
  });

  it('refuse bodies that are not JSON, not application/json, or carry unknown fields', async () => {
    const post = (body: string, type = 'application/json') =>
      f.app.request('/devices', { method: 'POST', headers: { ...auth, 'content-type': type }, body });
    expect((await post('{"deviceId":')).status).toBe(400);
    expect((await post('')).status).toBe(400);
    const unsupported = await post('{"deviceId":"x"}', 'text/plain');
    expect(unsupported.status).toBe(415);
    expect(await unsupported.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    const extra = await post('{"deviceId":"cam-9","admin":true}');
    expect(extra.status).toBe(400);
    expect(f.count("SELECT count(*) FROM devices WHERE id = 'cam-9'")).toBe(0);
  });

  it('keep a plain client request id and replace an unusable one', async () => {
    const kept = await f.app.request('/health', { headers: { 'x-request-id': 'req-42' } });
    expect(kept.headers.get('x-request-id')).toBe('req-42');
    const replaced = await f.app.request('/health', { headers: { 'x-request-id': 'bad id\twith tabs' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('log successful reads at debug, and writes and failures at info', async () => {
    const lines: string[] = [];
    const log = createLogger('debug', new Writable({ write: (chunk, _enc, done) => done(void lines.push(String(chunk))) }));
    const fx = await openApiFixture({ log });
    try {
      const call = async (path: string, init: RequestInit = {}) => {
        lines.length = 0;
        const res = await fx.app.request(path, { ...init, headers: { ...auth, ...(init.headers ?? {}) } });
        const line = lines.map((l) => JSON.parse(l) as { level: number; msg: string; status: number }).find((l) => l.msg === 'request');
        return { status: res.status, level: line?.level };
      };
      expect(await call('/samples')).toEqual({ status: 200, level: 20 });
      expect(await call(`/samples/${'f'.repeat(64)}`)).toEqual({ status: 404, level: 30 });
      // A TUF client's probe for the next root ends in a 404 on every update check: routine.
      expect(await call('/tuf/metadata/99.root.json')).toEqual({ status: 404, level: 20 });
      // Any other missing metadata file is still a failure worth seeing.
      expect(await call('/tuf/metadata/99.snapshot.json')).toEqual({ status: 404, level: 30 });
      const created = await call('/devices', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"deviceId":"log-1"}',
      });
      expect(created).toEqual({ status: 201, level: 30 });
    } finally {
      await fx.close();
    }
  });

  it('answer a bug with 500 INTERNAL, no details, and log it with the request id', async () => {
    const lines: string[] = [];
    const log = createLogger('info', new Writable({ write: (chunk, _enc, done) => done(void lines.push(String(chunk))) }));
    const broken = await openApiFixture({ log });
    try {
      broken.database.close(); // every query now throws a plain TypeError: a bug, as far as the API knows
      const res = await broken.app.request('/samples', { headers: { ...auth, 'x-request-id': 'req-500' } });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ code: 'INTERNAL', message: 'internal error', requestId: 'req-500' });
      const logged = lines.map((l) => JSON.parse(l) as { level: number; requestId?: string; msg: string; err?: { message: string } });
      const failure = logged.find((l) => l.msg === 'request failed');
      expect(failure).toMatchObject({ level: 50, requestId: 'req-500' });
      expect(failure?.err?.message).toMatch(/not open/);
      expect(logged.find((l) => l.msg === 'request')).toMatchObject({ requestId: 'req-500', status: 500, route: '/samples' });
    } finally {
      await broken.close().catch(() => {});
    }
  });

  it('are counted per route template, not per URL', async () => {
    await f.app.request('/devices/nobody-here', { headers: auth });
    const text = await (await f.app.request('/metrics')).text();
    expect(text).toMatch(/edgeloop_http_requests_total\{method="GET",route="\/devices\/\{id\}",status="404"\} [1-9]/);
    expect(text).toMatch(/edgeloop_http_requests_total\{method="GET",route="unmatched",status="404"\} [1-9]/);
    expect(text).not.toContain('nobody-here');
  });
});

describe('devices', () => {
  it('issues a secret once, lists with filters, shows and revokes', async () => {
    const created = await f.app.request('/devices', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ deviceId: 'door-7', note: 'front' }),
    });
    expect(created.status).toBe(201);
    const issued = (await created.json()) as { deviceId: string; username: string; secret: string };
    expect(issued).toMatchObject({ deviceId: 'door-7', username: 'door-7' });
    expect(issued.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await f.app.request('/devices', { method: 'POST', headers: json, body: JSON.stringify({ deviceId: 'door-7' }) });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ code: 'CONFLICT' });

    const shown = (await (await f.app.request('/devices/door-7', { headers: auth })).json()) as Record<string, unknown>;
    expect(shown).toMatchObject({ id: 'door-7', revokedAt: null, note: 'front', createdBy: 'admin' });
    expect(JSON.stringify(shown)).not.toContain(issued.secret);
    expect(Object.keys(shown)).not.toContain('secretHash');

    const revoked = await f.app.request('/devices/door-7/revoke', { method: 'POST', headers: auth });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    const list = (await (await f.app.request('/devices?status=revoked&limit=10', { headers: auth })).json()) as {
      items: { id: string }[];
      total: number;
    };
    expect(list.items.map((d) => d.id).sort()).toEqual(['cam-3', 'door-7']);
    expect(list.total).toBe(2);
    expect((await f.app.request('/devices/nobody/revoke', { method: 'POST', headers: auth })).status).toBe(404);
  });

  it("hands a new device the broker's URLs when the hub runs one", async () => {
    const withBroker = await openApiFixture({
      broker: { connectedClients: () => 3, urls: { mqtt: 'mqtt://127.0.0.1:1883', ws: 'ws://127.0.0.1:8083' } },
    });
    try {
      const res = await withBroker.app.request('/devices', { method: 'POST', headers: json, body: JSON.stringify({ deviceId: 'cam-1' }) });
      expect(await res.json()).toMatchObject({ mqtt: { url: 'mqtt://127.0.0.1:1883', ws: 'ws://127.0.0.1:8083' } });
      expect(await (await withBroker.app.request('/health')).json()).toEqual({
        status: 'ok',
        ready: true,
        db: 'ok',
        broker: 'ok',
        connectedDevices: 3,
      });
    } finally {
      await withBroker.close();
    }
  });
});

describe('samples', () => {
  it('filters by device, state, current label and time, newest first, with paging', async () => {
    type Page = { items: { id: string; deviceId: string; receivedAt: string; label: string | null; queueState: string }[]; total: number };
    const get = async (query: string) => (await (await f.app.request(`/samples?${query}`, { headers: auth })).json()) as Page;
    const all = await get('limit=500');
    expect(all.total).toBeGreaterThanOrEqual(24);
    const times = all.items.map((i) => i.receivedAt);
    expect([...times].sort().reverse()).toEqual(times);
    const cam1 = await get('deviceId=cam-1&limit=500');
    expect(cam1.items.length).toBe(12);
    expect(cam1.items.every((i) => i.deviceId === 'cam-1')).toBe(true);
    const squares = await get('label=square&limit=500');
    expect(squares.items.length).toBeGreaterThan(0);
    expect(squares.items.every((i) => i.label === 'square' && i.queueState === 'labelled')).toBe(true);
    // Seed samples arrive one a minute from 2026-01-01T00:00Z; offsets are normalised to UTC.
    const window = await get(`since=${encodeURIComponent('2026-01-01T01:05:00+01:00')}&until=2026-01-01T00:08:00Z&source=device`);
    expect(window.items.map((i) => i.receivedAt).sort()).toEqual([
      '2026-01-01T00:05:00.000Z',
      '2026-01-01T00:06:00.000Z',
      '2026-01-01T00:07:00.000Z',
    ]);
    const page2 = await get('limit=5&offset=5');
    expect(page2.items.map((i) => i.id)).toEqual(all.items.slice(5, 10).map((i) => i.id));
  });

  it('serves one sample, its image bytes with the stored type, and its label history', async () => {
    const id = s.sampleIds[0]!;
    const detail = (await (await f.app.request(`/samples/${id}`, { headers: auth })).json()) as Record<string, unknown>;
    expect(detail).toMatchObject({ id, deviceId: 'cam-1', label: 'square', queueState: 'labelled', sampling: { audit: false } });
    const image = await f.app.request(`/samples/${id}/image`, { headers: auth });
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(s.images[0]);
    const history = (await (await f.app.request(`/samples/${id}/labels`, { headers: auth })).json()) as { items: { label: string }[] };
    expect(history.items.map((l) => l.label)).toEqual(['circle', 'square']);
    expect((await f.app.request(`/samples/${'f'.repeat(64)}`, { headers: auth })).status).toBe(404);
    expect((await f.app.request(`/samples/${'f'.repeat(64)}/image`, { headers: auth })).status).toBe(404);
    expect((await f.app.request('/samples/not-a-hash', { headers: auth })).status).toBe(400);
  });

  it('answers 404 for a sample whose image is missing from the store', async () => {
    const id = s.sampleIds[23]!;
    const [key] = [`samples/${id.slice(0, 2)}/${id}`];
    const bytes = await f.store.get(key);
    await f.store.delete(key);
    try {
      const res = await f.app.request(`/samples/${id}/image`, { headers: auth });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await f.store.put(key, bytes!);
    }
  });
});

describe('labelling', () => {
  it('serves the queue most uncertain first and pages with a cursor', async () => {
    type Queue = { items: { sampleId: string; uncertainty: number | null }[]; nextCursor?: string; depth: number };
    const first = (await (await f.app.request('/labelling/queue?limit=3', { headers: auth })).json()) as Queue;
    expect(first.items).toHaveLength(3);
    const u = first.items.map((i) => i.uncertainty ?? -1);
    expect([...u].sort((a, b) => b - a)).toEqual(u);
    expect(first.depth).toBeGreaterThan(3);
    const second = (await (await f.app.request(`/labelling/queue?limit=3&cursor=${first.nextCursor}`, { headers: auth })).json()) as Queue;
    expect(second.items.map((i) => i.sampleId)).not.toContain(first.items[0]!.sampleId);
    const bad = await f.app.request('/labelling/queue?cursor=!!', { headers: auth });
    expect(bad.status).toBe(400);
  });

  it('accepts, corrects and skips with the actor recorded; acting twice is a CONFLICT', async () => {
    const [a, b, c] = s.sampleIds.slice(16, 19) as [string, string, string];
    const accepted = await f.app.request(`/labelling/${a}/accept`, { method: 'POST', headers: { ...auth, 'x-edgeloop-actor': 'bob' } });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ sampleId: a, source: 'pre-annotation', action: 'accept', labelledBy: 'bob' });
    expect((await f.app.request(`/labelling/${a}/accept`, { method: 'POST', headers: auth })).status).toBe(409);
    const skipped = await f.app.request(`/labelling/${b}/skip`, { method: 'POST', headers: auth });
    expect(await skipped.json()).toEqual({ sampleId: b, queueState: 'skipped' });
    expect((await f.app.request(`/labelling/${b}/skip`, { method: 'POST', headers: auth })).status).toBe(409);
    const bad = await f.app.request(`/labelling/${c}/correct`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ label: '__proto__' }),
    });
    expect(bad.status).toBe(400);
    expect((await f.app.request(`/labelling/${'e'.repeat(64)}/accept`, { method: 'POST', headers: auth })).status).toBe(404);
    expect(f.count("SELECT count(*) FROM audit_log WHERE actor = 'bob' AND subject = ?", a)).toBe(1);
  });
});

describe('datasets', () => {
  type Job = { id: string; status: string; report: { imported: number; labels: string[] } | null; error: { code: string } | null };

  it('imports a folder below the import root as a job, and refuses paths that leave it', async () => {
    const started = await f.app.request('/datasets/import', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ kind: 'folder', path: 'shapes' }),
    });
    expect(started.status).toBe(202);
    const job = (await started.json()) as Job;
    expect(started.headers.get('location')).toBe(`/imports/${job.id}`);
    await f.imports.idle();
    const done = (await (await f.app.request(`/imports/${job.id}`, { headers: auth })).json()) as Job;
    expect(done).toMatchObject({ status: 'done', report: { imported: 6, labels: ['circle', 'square'] } });
    const listed = (await (await f.app.request('/imports', { headers: auth })).json()) as { items: Job[] };
    expect(listed.items[0]!.id).toBe(job.id);
    for (const path of ['../x', '/etc', 'shapes/../..', '.hidden', 'a//b', 'missing-folder']) {
      const res = await f.app.request('/datasets/import', {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ kind: 'folder', path }),
      });
      expect(res.status, path).toBe(400);
    }
  });

  it('reports a failed import on its job, and refuses a second import while one runs', async () => {
    const post = (body: unknown) => f.app.request('/datasets/import', { method: 'POST', headers: json, body: JSON.stringify(body) });
    const mnist = await post({ kind: 'mnist', perClass: 2 });
    expect(mnist.status).toBe(202);
    const second = await post({ kind: 'csv', csv: 'a,b\n1,2' });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ code: 'CONFLICT' });
    await f.imports.idle();
    const imported = (await (await f.app.request(`/imports/${((await mnist.json()) as Job).id}`, { headers: auth })).json()) as Job;
    expect(imported).toMatchObject({ status: 'done', report: { imported: 20 } });
    const started = await post({ kind: 'csv', csv: 'a,b\n1,2' });
    expect(started.status).toBe(202);
    await f.imports.idle();
    const job = (await (await f.app.request(`/imports/${((await started.json()) as Job).id}`, { headers: auth })).json()) as Job;
    expect(job).toMatchObject({ status: 'failed', error: { code: 'BAD_REQUEST' } });
  });

  it('snapshots (201, then 200 for identical content), lists, pages and diffs', async () => {
    const first = await f.app.request('/datasets', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'api', note: 'via the API' }),
    });
    expect(first.status).toBe(201);
    const summary = (await first.json()) as { id: string; itemCount: number; createdBy: string; created: boolean };
    expect(summary).toMatchObject({ created: true, createdBy: 'admin' });
    const again = await f.app.request('/datasets', { method: 'POST', headers: json, body: JSON.stringify({ name: 'api again' }) });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: summary.id, created: false });
    const list = (await (await f.app.request('/datasets', { headers: auth })).json()) as { items: { id: string }[] };
    expect(list.items.map((d) => d.id)).toEqual(expect.arrayContaining([summary.id, ...s.datasetIds]));
    const page = (await (await f.app.request(`/datasets/${summary.id}?limit=4&offset=2`, { headers: auth })).json()) as {
      items: unknown[];
      summary: { id: string };
    };
    expect(page.items).toHaveLength(4);
    expect(page.summary.id).toBe(summary.id);
    const diff = (await (await f.app.request(`/datasets/${s.datasetIds[0]}/diff/${s.datasetIds[1]}`, { headers: auth })).json()) as {
      relabelled: { sampleId: string; from: string; to: string }[];
    };
    expect(diff.relabelled).toEqual([{ sampleId: s.sampleIds[0], from: 'circle', to: 'square' }]);
    expect((await f.app.request(`/datasets/${'0'.repeat(64)}`, { headers: auth })).status).toBe(404);
    const missingParent = await f.app.request('/datasets', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'x', parentId: '0'.repeat(64) }),
    });
    expect(missingParent.status).toBe(404);
  });
});

describe('classify and health', () => {
  it('answers 503 NO_MODEL without a production model', async () => {
    const res = await f.app.request('/classify', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/png' },
      body: s.images[0]! as Uint8Array<ArrayBuffer>,
    });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'NO_MODEL' });
  });

  it('reports 503 unavailable while the hub is not ready', async () => {
    const starting = await openApiFixture({ ready: () => false });
    try {
      const res = await starting.app.request('/health');
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'unavailable', ready: false, db: 'ok', broker: 'none' });
    } finally {
      await starting.close();
    }
  });
});
