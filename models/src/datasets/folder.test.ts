import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngBomb, solid } from '../../test/images.js';
import { ModelsError } from '../errors.js';
import { importFolder } from './folder.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloop-folder-'));
  await mkdir(join(root, 'dandelion'));
  await mkdir(join(root, 'grass'));
  await mkdir(join(root, '.hidden'));
  await writeFile(join(root, 'dandelion', 'a.png'), await solid('png', 8, 8, [250, 220, 0]));
  await writeFile(join(root, 'dandelion', 'b.jpg'), await solid('jpeg', 16, 12, [240, 200, 10]));
  await writeFile(join(root, 'grass', 'c.webp'), await solid('webp', 10, 10, [20, 160, 30]));
  await writeFile(join(root, 'grass', 'd.png'), await solid('png', 9, 9, [30, 150, 40]));
  // Bad inputs: a text file with an image name, a truncated PNG, an image bomb, a duplicate,
  // and the same image under the other label.
  await writeFile(join(root, 'grass', 'notes.png'), 'not an image');
  await writeFile(join(root, 'grass', 'cut.png'), (await solid('png', 50, 50, [1, 2, 3])).subarray(0, 30));
  await writeFile(join(root, 'grass', 'bomb.png'), pngBomb(60_000));
  await writeFile(join(root, 'grass', 'd-copy.png'), await solid('png', 9, 9, [30, 150, 40]));
  await writeFile(join(root, 'grass', 'a-again.png'), await solid('png', 8, 8, [250, 220, 0]));
  await writeFile(join(root, '.hidden', 'x.png'), await solid('png', 8, 8, [0, 0, 0]));
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe('folder-per-label import', () => {
  it('imports valid images under their folder label, reporting and skipping every bad file', async () => {
    const progress: number[] = [];
    const { dataset, problems } = await importFolder(root, { onProgress: (done) => progress.push(done) });
    expect(dataset.labels).toEqual(['dandelion', 'grass']);
    const names = dataset.items.map((i) => i.source.split('/').pop()).sort();
    // a.png conflicts with grass/a-again.png (same bytes, other label): kept under neither.
    // Files are read in path order, so d-copy.png is kept and d.png is its duplicate.
    expect(names).toEqual(['b.jpg', 'c.webp', 'd-copy.png']);
    const reasons = Object.fromEntries(problems.map((p) => [p.source.split('/').pop(), p.reason]));
    expect(reasons['notes.png']).toMatch(/magic bytes/);
    expect(reasons['cut.png']).toBeDefined();
    expect(reasons['bomb.png']).toMatch(/60000×60000, over the limit/);
    expect(reasons['d.png']).toMatch(/duplicate of .*d-copy.png/);
    expect(reasons['a-again.png'] ?? reasons['a.png']).toMatch(/labelled/);
    expect(progress.at(-1)).toBe(9);
    for (const item of dataset.items) expect(item.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a folder with fewer than two labels', async () => {
    const lonely = await mkdtemp(join(tmpdir(), 'edgeloop-lonely-'));
    await mkdir(join(lonely, 'only'));
    await writeFile(join(lonely, 'only', 'x.png'), await solid('png', 4, 4, [1, 1, 1]));
    await expect(importFolder(lonely)).rejects.toThrow(ModelsError);
    await rm(lonely, { recursive: true });
  });
});
