/**
 * The browser client's side of the API: its configuration, self-registration (rate-limited, with
 * working device credentials), and the built client served at `/` without leaving its directory.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SamplingConfigSchema } from '@edgeloop/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiFixture, openApiFixture } from './test-support.js';

let f: ApiFixture | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await f?.close();
  f = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const broker = { connectedClients: () => 0, urls: { mqtt: 'mqtt://127.0.0.1:1883', ws: 'ws://127.0.0.1:18083' } };
const register = (ip?: string) =>
  f!.app.request(
    '/browser/register',
    { method: 'POST' },
    ip ? { incoming: { socket: { remoteAddress: ip, remotePort: 1, remoteFamily: 'IPv4' } } } : undefined,
  );

describe('client configuration', () => {
  it('names the model, the TUF repository and a broker URL on the host the page came from', async () => {
    f = await openApiFixture({ broker, browserClient: { sampling: { strategy: { strategy: 'margin', threshold: 0.4 } } } });
    const res = await f.app.request('http://hub.example:8080/client-config.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      v: 1,
      tuf: { base: '/tuf/', initialRoot: '/tuf/metadata/1.root.json' },
      mqtt: { url: 'ws://hub.example:18083' },
      registerUrl: '/browser/register',
      updatePollSeconds: 300,
    });
    expect(SamplingConfigSchema.safeParse(body.sampling).success).toBe(true);
    const secure = (await (await f.app.request('https://hub.example/client-config.json')).json()) as { mqtt: { url: string } };
    expect(secure.mqtt.url).toBe('wss://hub.example:18083');
  });

  it('has no broker URL without a WebSocket listener, and no register URL when registration is off', async () => {
    f = await openApiFixture({ browserClient: { selfRegister: { enabled: false, perAddressPerHour: 1, totalPerHour: 1 } } });
    const body = (await (await f.app.request('/client-config.json')).json()) as Record<string, unknown>;
    expect(body.mqtt).toBeNull();
    expect(body.registerUrl).toBeNull();
    const res = await register();
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe('FORBIDDEN');
  });
});

describe('browser self-registration', () => {
  it('issues distinct device credentials that authenticate, with an audit trail', async () => {
    f = await openApiFixture();
    const a = (await (await register()).json()) as { deviceId: string; secret: string };
    const b = (await (await register()).json()) as { deviceId: string; secret: string };
    expect(a.deviceId).toMatch(/^web-[0-9a-f]{24}$/);
    expect(b.deviceId).not.toBe(a.deviceId);
    const auth = f.devices.authenticator({ hubUsername: 'hub', hubPassword: '' });
    expect(await auth.authenticate(a.deviceId, Buffer.from(a.secret))).toEqual({ kind: 'device', deviceId: a.deviceId });
    expect(await auth.authenticate(a.deviceId, Buffer.from(b.secret))).toBeUndefined();
    expect(f.devices.get(a.deviceId)).toMatchObject({ createdBy: 'browser-self-registration', note: 'browser' });
  });

  it('is rate-limited per address and in total', async () => {
    f = await openApiFixture({ browserClient: { selfRegister: { enabled: true, perAddressPerHour: 2, totalPerHour: 3 } } });
    expect((await register('10.0.0.1')).status).toBe(201);
    expect((await register('10.0.0.1')).status).toBe(201);
    const limited = await register('10.0.0.1');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3600');
    expect((await register('10.0.0.2')).status).toBe(201);
    expect((await register('10.0.0.3')).status).toBe(429);
  });
});

describe('the built client at /', () => {
  function clientDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'edgeloop-client-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>edgeloop</title>');
    writeFileSync(join(dir, 'sw.js'), 'self.addEventListener("fetch", () => {});');
    writeFileSync(join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
    writeFileSync(join(dir, 'ort.wasm'), new Uint8Array([0, 97, 115, 109]));
    writeFileSync(join(dir, '.env'), 'SECRET=1');
    // A file next to the client directory, which a traversal would reach.
    writeFileSync(`${dir}-outside.txt`, 'outside');
    dirs.push(`${dir}-outside.txt`);
    return dir;
  }

  it('serves index.html, the service worker and assets with the right types and caching', async () => {
    f = await openApiFixture({ browserClient: { dir: clientDir() } });
    const index = await f.app.request('/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<title>edgeloop</title>');
    const sw = await f.app.request('/sw.js');
    expect(sw.headers.get('content-type')).toContain('text/javascript');
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    const asset = await f.app.request('/assets/app-1234.js');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const wasm = await f.app.request('/ort.wasm');
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    const head = await f.app.request('/sw.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    // The API still wins over files, and unknown paths are JSON 404s.
    expect((await f.app.request('/health')).status).toBe(200);
    const missing = await f.app.request('/nope.js');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('NOT_FOUND');
  });

  it('never serves hidden files or anything outside its directory', async () => {
    const dir = clientDir();
    f = await openApiFixture({ browserClient: { dir } });
    const name = `${dir.split('/').pop()}-outside.txt`;
    for (const path of ['/.env', `/%2e%2e/${name}`, `/..%2f${name}`, `/assets/..%2f..%2f${name}`, '/%E0%A4%A', '/a%00b']) {
      expect((await f.app.request(path)).status, path).toBe(404);
    }
  });

  it('says how to build the client when it is not built', async () => {
    f = await openApiFixture({ browserClient: { dir: join(tmpdir(), 'edgeloop-no-such-client') } });
    const res = await f.app.request('/');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('npm run build -w @edgeloop/browser-client');
  });
});
