import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FAILED_DIR, FolderWatcher, PROCESSED_DIR, type WatchEvent } from './folder-watcher.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function until(f: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(20);
  }
}

let watcher: FolderWatcher<string> | undefined;
afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
});

function setup(options: { stableMs?: number; rescanMs?: number; fail?: (path: string) => boolean; dirs?: number } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'agent-watch-'));
  const dirs = Array.from({ length: options.dirs ?? 1 }, (_, i) => join(root, `in${i}`));
  for (const d of dirs) mkdirSync(d);
  const handled: { path: string; sha: string; size: number }[] = [];
  const events: WatchEvent<string>[] = [];
  watcher = new FolderWatcher<string>({
    dirs,
    stableMs: options.stableMs ?? 300,
    rescanMs: options.rescanMs ?? 60_000,
    maxBytes: 1_000_000,
    handle: async (bytes, path) => {
      handled.push({ path, sha: sha(bytes), size: bytes.byteLength });
      if (options.fail?.(path)) throw new Error('not an image');
      return `ok:${bytes.byteLength}`;
    },
    onEvent: (e) => events.push(e),
  });
  return { dirs, dir: dirs[0]!, handled, events };
}

describe('FolderWatcher', () => {
  it('waits for files written slowly in chunks, reads each complete, once, then moves it to processed/', async () => {
    const { dir, handled, events } = setup({ stableMs: 300 });
    await watcher!.start();
    const contents = [0, 1, 2].map((i) => Uint8Array.from({ length: 50_000 }, (_, j) => (i * 31 + j) % 251));
    // Three writers in parallel, each appending 10 chunks with 100 ms pauses (under stableMs).
    await Promise.all(
      contents.map(async (c, i) => {
        const path = join(dir, `slow-${i}.png`);
        for (let k = 0; k < 10; k++) {
          await appendFile(path, c.subarray(k * 5000, (k + 1) * 5000));
          await sleep(100);
        }
      }),
    );
    await until(() => events.length === 3);
    await sleep(800); // time for any duplicate to show up
    expect(handled).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const h = handled.find((x) => x.path.endsWith(`slow-${i}.png`))!;
      expect(h).toMatchObject({ size: 50_000, sha: sha(contents[i]!) });
    }
    expect(events.every((e) => e.result === 'ok:50000' && e.movedTo?.includes(`/${PROCESSED_DIR}/`))).toBe(true);
    expect(readdirSync(join(dir, PROCESSED_DIR)).sort()).toEqual(['slow-0.png', 'slow-1.png', 'slow-2.png']);
    expect(readdirSync(dir).sort()).toEqual([FAILED_DIR, PROCESSED_DIR]);
  });

  it('ignores temporary names until the writer renames the file', async () => {
    const { dir, handled, events } = setup({ stableMs: 100 });
    await watcher!.start();
    await writeFile(join(dir, 'photo.jpg.part'), 'partial');
    await writeFile(join(dir, '.hidden.png'), 'partial');
    await writeFile(join(dir, 'upload.tmp'), 'partial');
    await sleep(500);
    expect(handled).toHaveLength(0);
    await appendFile(join(dir, 'photo.jpg.part'), ' and the rest');
    await rename(join(dir, 'photo.jpg.part'), join(dir, 'photo.jpg'));
    await until(() => events.length === 1);
    expect(handled[0]).toMatchObject({ path: join(dir, 'photo.jpg'), size: 'partial and the rest'.length });
  });

  it('handles files present before it started, in every folder (the rescan path)', async () => {
    const root = setup({ stableMs: 50, dirs: 2 });
    writeFileSync(join(root.dirs[0]!, 'a.png'), 'a');
    writeFileSync(join(root.dirs[1]!, 'b.png'), 'b');
    await watcher!.start();
    await until(() => root.events.length === 2);
    expect(existsSync(join(root.dirs[0]!, PROCESSED_DIR, 'a.png'))).toBe(true);
    expect(existsSync(join(root.dirs[1]!, PROCESSED_DIR, 'b.png'))).toBe(true);
  });

  it('moves files the handler rejects to failed/, and never overwrites an earlier file of the same name', async () => {
    const { dir, events } = setup({ stableMs: 50, fail: (p) => p.endsWith('bad.png') });
    await watcher!.start();
    await writeFile(join(dir, 'bad.png'), 'junk');
    await until(() => events.length === 1);
    expect(events[0]!.error).toBeInstanceOf(Error);
    expect(events[0]!.movedTo).toBe(join(dir, FAILED_DIR, 'bad.png'));
    await writeFile(join(dir, 'bad.png'), 'junk again');
    await until(() => events.length === 2);
    expect(events[1]!.movedTo).toBe(join(dir, FAILED_DIR, 'bad-1.png'));
    await writeFile(join(dir, 'big.png'), new Uint8Array(1_000_001));
    await until(() => events.length === 3);
    expect(String(events[2]!.error)).toMatch(/over the 1000000-byte limit/);
  });

  it('catches files when no watch event arrives, through the periodic rescan', async () => {
    const { dir, events } = setup({ stableMs: 50, rescanMs: 200 });
    await watcher!.start();
    // Simulate a missed event: stop the fs.watch handles, keep the rescan.
    for (const w of (watcher as unknown as { watchers: { close(): void }[] }).watchers) w.close();
    await writeFile(join(dir, 'quiet.png'), 'x');
    await until(() => events.length === 1);
    expect(events[0]!.movedTo).toBe(join(dir, PROCESSED_DIR, 'quiet.png'));
  });

  it('stops cleanly: nothing is handled after stop()', async () => {
    const { dir, handled } = setup({ stableMs: 200 });
    await watcher!.start();
    await writeFile(join(dir, 'late.png'), 'x');
    await watcher!.stop();
    await sleep(400);
    expect(handled).toHaveLength(0);
    expect(existsSync(join(dir, 'late.png'))).toBe(true);
  });
});
