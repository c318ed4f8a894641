import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solid } from '../../test/images.js';
import { importCsv } from './csv.js';
import { parseCsv } from './csv-parse.js';

let server: Server;
let base: string;
let flakyHits = 0;

beforeAll(async () => {
  const red = await solid('png', 6, 6, [255, 0, 0]);
  const blue = await solid('jpeg', 6, 6, [0, 0, 255]);
  server = createServer((req, res) => {
    switch (req.url) {
      case '/red.png':
        return res.writeHead(200, { 'content-type': 'image/png' }).end(red);
      case '/blue.jpg':
        return res.writeHead(200, { 'content-type': 'image/jpeg; charset=binary' }).end(blue);
      case '/flaky.png':
        // Fails twice with 503, then works: retries must recover it.
        if (++flakyHits <= 2) return res.writeHead(503).end();
        return res.writeHead(200, { 'content-type': 'image/png' }).end(red.slice().reverse().reverse());
      case '/missing.png':
        return res.writeHead(404).end();
      case '/page.html':
        return res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
      case '/liar.png':
        return res.writeHead(200, { 'content-type': 'image/png' }).end('GIF89a not really');
      case '/huge.png': {
        // Streams past the cap with no content-length: the cap must hold while streaming.
        res.writeHead(200, { 'content-type': 'image/png' });
        const chunk = new Uint8Array(64 * 1024);
        let sent = 0;
        const push = () => {
          while (sent < 4 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', push);
          }
          res.end();
        };
        return push();
      }
      case '/slow.png':
        return setTimeout(() => res.writeHead(200, { 'content-type': 'image/png' }).end(red), 3000);
      default:
        return res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('CSV of image URLs', () => {
  it('imports good rows and reports each bad row with its line, without failing', async () => {
    const csv = [
      'label,url',
      `red,${base}/red.png`,
      `blue,${base}/blue.jpg`,
      `red,${base}/flaky.png`,
      `red,${base}/missing.png`,
      `red,${base}/page.html`,
      `red,${base}/liar.png`,
      `red,${base}/huge.png`,
      `red,${base}/slow.png`,
      `,${base}/red.png`,
      'red,ftp://example.invalid/x.png',
      'red,not a url',
    ].join('\n');
    const progress: number[] = [];
    const { dataset, problems } = await importCsv(csv, {
      fetchLimits: { timeoutMs: 500, maxBytes: 1024 * 1024, retries: 2, backoffMs: 10 },
      onProgress: (d) => progress.push(d),
    });
    expect(dataset.labels).toEqual(['blue', 'red']);
    // flaky.png has the same bytes as red.png: it is a duplicate, reported as such.
    expect(dataset.items.map((i) => i.source).sort()).toEqual([`${base}/blue.jpg`, `${base}/red.png`]);
    const byLine = Object.fromEntries(problems.map((p) => [Number(/^line (\d+)/.exec(p.source)?.[1] ?? 0), p.reason]));
    expect(problems.find((p) => p.source === `${base}/flaky.png`)?.reason).toMatch(/duplicate of .*red.png/);
    expect(byLine[5]).toMatch(/HTTP 404/);
    expect(byLine[6]).toMatch(/content type "text\/html"/);
    expect(byLine[7]).toMatch(/magic bytes/);
    expect(byLine[8]).toMatch(/cap/);
    expect(byLine[9]).toMatch(/after 3 attempts/);
    expect(byLine[10]).toMatch(/no label/);
    expect(byLine[11]).toMatch(/only http/);
    expect(byLine[12]).toMatch(/not a URL/);
    expect(flakyHits).toBe(3);
    expect(progress.at(-1)).toBe(11);
  });

  it('requires url and label columns', async () => {
    await expect(importCsv('path,class\nx,y')).rejects.toThrow(/"url" and a "label"/);
  });
});

describe('CSV parsing', () => {
  it('handles quotes, doubled quotes, commas, CRLF and a BOM', () => {
    expect(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\nlast,\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['last', ''],
    ]);
    expect(() => parseCsv('"open')).toThrow(/unterminated/);
  });
});
