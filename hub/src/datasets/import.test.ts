import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadMnist } from '@edgeloop/models/data';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { noisePng, openTestHub, sha256, type TestHub } from '../labeling/test-support.js';
import { importDataset } from './import.js';

async function noiseJpeg(seed: number): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp(await noisePng(seed, 20))
      .jpeg({ quality: 90 })
      .toBuffer(),
  );
}

describe('importDataset', () => {
  let h: TestHub;
  beforeEach(async () => {
    h = await openTestHub();
  });
  afterEach(async () => {
    await h.close();
  });
  const deps = () => ({ db: h.database, store: h.store, log: h.log });

  /** Every imported sample: a labelled `import` row, an `import` label by the actor, an identical blob. */
  async function expectStored(ids: string[], actor: string) {
    for (const id of ids) {
      const row = h.database.sqlite.prepare('SELECT source, queue_state, object_key, byte_length FROM samples WHERE id = ?').get(id) as {
        source: string;
        queue_state: string;
        object_key: string;
        byte_length: number;
      };
      expect(row).toMatchObject({ source: 'import', queue_state: 'labelled', object_key: `samples/${id.slice(0, 2)}/${id}` });
      const blob = await h.store.get(row.object_key);
      expect(blob && sha256(blob)).toBe(id);
      expect(blob!.byteLength).toBe(row.byte_length);
      const labels = h.database.sqlite.prepare('SELECT source, action, labelled_by FROM labels WHERE sample_id = ?').all(id);
      expect(labels).toEqual([{ source: 'import', action: 'import', labelled_by: actor }]);
    }
  }

  it('imports a folder: PNGs and JPEGs stored and labelled; corrupt, truncated, out-of-set and duplicate files reported', async () => {
    const root = join(h.dir, 'photos');
    for (const label of ['cat', 'dog', 'bird']) mkdirSync(join(root, label), { recursive: true });
    const cat1 = await noisePng(1);
    writeFileSync(join(root, 'cat', 'a.png'), cat1);
    writeFileSync(join(root, 'cat', 'b.jpg'), await noiseJpeg(2));
    writeFileSync(join(root, 'cat', 'copy-of-a.png'), cat1); // duplicate
    writeFileSync(join(root, 'dog', 'c.png'), await noisePng(3));
    writeFileSync(join(root, 'dog', 'd.jpg'), await noiseJpeg(4));
    writeFileSync(join(root, 'dog', 'corrupt.png'), Buffer.concat([Buffer.from(cat1.subarray(0, 8)), Buffer.from('garbage garbage')]));
    const whole = await noisePng(5, 64);
    writeFileSync(join(root, 'dog', 'truncated.png'), whole.subarray(0, Math.floor(whole.length / 2)));
    writeFileSync(join(root, 'bird', 'e.png'), await noisePng(6));
    writeFileSync(join(root, 'dog', '.hidden.png'), await noisePng(7));

    const progress: [number, number, string | undefined][] = [];
    const report = await importDataset(
      deps(),
      { kind: 'folder', path: root },
      { actor: 'alice', labels: ['cat', 'dog'], onProgress: (done, total, phase) => progress.push([done, total, phase]) },
    );
    expect(report.imported).toBe(4);
    expect(report.duplicates).toBe(1);
    expect(report.labels).toEqual(['cat', 'dog']);
    expect(report.sampleIds).toHaveLength(4);
    const reasons = new Map(report.problems.map((p) => [p.source.slice(root.length + 1), p.reason]));
    expect([...reasons.keys()].sort()).toEqual(['bird/e.png', 'cat/copy-of-a.png', 'dog/corrupt.png', 'dog/truncated.png']);
    expect(reasons.get('bird/e.png')).toMatch(/not in the label set/);
    expect(reasons.get('cat/copy-of-a.png')).toMatch(/^duplicate of .*cat\/a\.png$/);
    expect(reasons.get('dog/truncated.png')).toMatch(/cannot decode/);
    await expectStored(report.sampleIds, 'alice');
    expect(report.sampleIds).toContain(sha256(cat1));
    expect(h.count('SELECT count(*) FROM samples')).toBe(4);
    expect(h.database.sqlite.prepare('SELECT mime FROM samples WHERE id = ?').pluck().get(sha256(cat1))).toBe('image/png');
    expect(progress.at(-1)).toEqual([6, 6, 'store']);
    expect(progress.filter((p) => p[2] === 'read').at(-1)).toEqual([8, 8, 'read']);
    expect(h.database.sqlite.prepare("SELECT actor, subject FROM audit_log WHERE action = 'dataset.import'").all()).toEqual([
      { actor: 'alice', subject: 'folder' },
    ]);

    // Importing again stores nothing and labels nothing: everything is a duplicate of the hub's samples.
    const again = await importDataset(deps(), { kind: 'folder', path: root }, { actor: 'bob', labels: ['cat', 'dog'] });
    expect(again).toMatchObject({ imported: 0, duplicates: 5, sampleIds: [] });
    expect(h.count('SELECT count(*) FROM labels')).toBe(4);
    expect(again.problems).toHaveLength(4);
  });

  it('refuses a missing folder or a bad MNIST size as a whole (BAD_REQUEST), writing nothing', async () => {
    await expect(importDataset(deps(), { kind: 'folder', path: join(h.dir, 'nope') }, { actor: 'a' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(importDataset(deps(), { kind: 'mnist', perClass: 0 }, { actor: 'a' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(importDataset(deps(), { kind: 'csv', csv: 'a,b\n1,2\n' }, { actor: 'a' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(h.count('SELECT count(*) FROM samples')).toBe(0);
  });

  it('imports MNIST as deterministic PNGs whose sha256 is the sample id, and pixels survive', async () => {
    const report = await importDataset(deps(), { kind: 'mnist', perClass: 3 }, { actor: 'mnist-bot' });
    expect(report).toMatchObject({ imported: 30, duplicates: 0, problems: [], labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
    await expectStored(report.sampleIds, 'mnist-bot');
    const origins = h.database.sqlite.prepare('SELECT origin FROM samples ORDER BY origin').pluck().all();
    expect(origins[0]).toBe('mnist:0/0');
    const first = loadMnist({ perClass: 1 }).items[0]!;
    const id = h.database.sqlite.prepare("SELECT id FROM samples WHERE origin = 'mnist:0/0'").pluck().get() as string;
    const png = (await h.store.get(`samples/${id.slice(0, 2)}/${id}`))!;
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 28, height: 28, channels: 1 });
    const { data } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect(new Uint8Array(data)).toEqual(first.gray!.data);
    // Same digits again (and more): the first 30 are recognised byte for byte.
    const more = await importDataset(deps(), { kind: 'mnist', perClass: 4 }, { actor: 'mnist-bot' });
    expect(more).toMatchObject({ imported: 10, duplicates: 30 });
  });
});

describe('importDataset from a CSV of URLs', () => {
  let h: TestHub;
  let server: Server;
  let base: string;
  const files = new Map<string, { type: string; body: Uint8Array }>();

  beforeAll(async () => {
    files.set('/a.png', { type: 'image/png', body: await noisePng(11) });
    files.set('/b.jpg', { type: 'image/jpeg', body: await noiseJpeg(12) });
    files.set('/text', { type: 'text/plain', body: new TextEncoder().encode('hello') });
    files.set('/fake.png', { type: 'image/png', body: new TextEncoder().encode('this is not a png') });
    server = createServer((req, res) => {
      const file = files.get(req.url ?? '');
      if (!file) return res.writeHead(404).end('not found');
      res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.byteLength }).end(file.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    h = await openTestHub();
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await h.close();
  });

  it('downloads each row; a 404, a non-image and a lying image are reported with their line', async () => {
    const csv = [
      'URL,Label',
      `${base}/a.png,cat`,
      `${base}/missing.png,cat`,
      `${base}/b.jpg,dog`,
      `${base}/text,dog`,
      `${base}/fake.png,dog`,
      `${base}/a.png,cat`,
    ].join('\n');
    const report = await importDataset({ db: h.database, store: h.store, log: h.log }, { kind: 'csv', csv }, { actor: 'carol' });
    expect(report).toMatchObject({ imported: 2, duplicates: 1, labels: ['cat', 'dog'] });
    const bySource = new Map(report.problems.map((p) => [p.source, p.reason]));
    expect(bySource.get(`line 3: ${base}/missing.png`)).toMatch(/HTTP 404/);
    expect(bySource.get(`line 5: ${base}/text`)).toMatch(/not an image/);
    expect(bySource.get(`line 6: ${base}/fake.png`)).toMatch(/magic bytes/);
    expect(bySource.get(`${base}/a.png`)).toMatch(/^duplicate of/);
    expect(report.sampleIds.sort()).toEqual([sha256(files.get('/a.png')!.body), sha256(files.get('/b.jpg')!.body)].sort());
    const origins = h.database.sqlite.prepare('SELECT origin FROM samples ORDER BY origin').pluck().all();
    expect(origins).toEqual([`${base}/a.png`, `${base}/b.jpg`]);
  });
});
