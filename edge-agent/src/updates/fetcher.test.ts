import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoundedFetcher } from './fetcher.js';

describe('BoundedFetcher', () => {
  let server: Server;
  let base: string;
  let tmpDir: string;

  beforeAll(async () => {
    tmpDir = await mkdtemp(join(tmpdir(), 'edgeloop-fetcher-'));
    server = createServer((req, res) => {
      if (req.url === '/hop') return void res.writeHead(301, { location: '/file' }).end();
      if (req.url === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
      if (req.url === '/file') return void res.end('hello');
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(tmpDir, { recursive: true, force: true });
  });

  it('follows a same-origin redirect, reports progress and removes its temporary file', async () => {
    const seen: number[] = [];
    const f = new BoundedFetcher({ tmpDir, onProgress: (p) => seen.push(p.received) });
    let tmp = '';
    const text = await f.downloadFile(`${base}/hop`, 5, async (file) => {
      tmp = file;
      return readFile(file, 'utf8');
    });
    expect(text).toBe('hello');
    expect(seen).toEqual([5]);
    await expect(readFile(tmp)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a body longer than the cap, and a redirect loop', async () => {
    const f = new BoundedFetcher({ tmpDir, limits: { maxRedirects: 2 } });
    await expect(f.downloadBytes(`${base}/file`, 4)).rejects.toMatchObject({ code: 'UPDATE_TOO_LARGE' });
    expect(f.lastFailure?.code).toBe('UPDATE_TOO_LARGE');
    await expect(f.downloadBytes(`${base}/loop`, 100)).rejects.toMatchObject({ code: 'UPDATE_REDIRECT_REFUSED' });
  });

  it("throws tuf-js's HTTP error with the status, so tuf-js can tell 'no newer root' (TUF §5.3.3)", async () => {
    const f = new BoundedFetcher({ tmpDir });
    await expect(f.downloadBytes(`${base}/2.root.json`, 100)).rejects.toMatchObject({ statusCode: 404 });
    expect(f.lastFailure).toBeUndefined();
  });
  it('keeps metadata in memory (no temporary file) and writes a target straight to its place', async () => {
    const f = new BoundedFetcher({ tmpDir: join(tmpDir, 'never') });
    expect((await f.downloadBytes(`${base}/hop`, 5)).toString()).toBe('hello');
    await expect(readdir(join(tmpDir, 'never'))).rejects.toMatchObject({ code: 'ENOENT' });
    const seen: string[] = [];
    const path = join(tmpDir, 'target');
    expect(await f.downloadToFile(`${base}/file`, 5, path, (c) => seen.push(Buffer.from(c).toString()))).toBe(5);
    expect(seen.join('')).toBe('hello');
    expect(await readFile(path, 'utf8')).toBe('hello');
    await expect(f.downloadToFile(`${base}/file`, 4, path, () => {})).rejects.toMatchObject({ code: 'UPDATE_TOO_LARGE' });
  });
});
