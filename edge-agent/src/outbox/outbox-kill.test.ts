/**
 * kill -9 while enqueuing and draining, 50 times: every sample the worker reported `stored` and
 * never reported acknowledged must still be in the outbox. A lost one would mean that `stored` was
 * said before the COMMIT was durable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const worker = join(root, 'edge-agent/test/outbox-worker.ts');
const KILLS = 50;
const dir = mkdtempSync(join(tmpdir(), 'outbox-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the worker until a random moment after it is ready, SIGKILLs it, and returns its output. */
function runAndKill(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const child: ChildProcess = spawn(process.execPath, ['--conditions=@edgeloop/source', '--import', 'tsx', worker, path], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      const ready = !out.includes('READY\n');
      out += d.toString();
      if (ready && out.includes('READY\n')) setTimeout(() => child.kill('SIGKILL'), 20 + Math.random() * 250);
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') done(out);
      else fail(new Error(`worker exited on its own (${code}): ${err}`));
    });
  });
}

it(`loses no stored sample across ${KILLS} SIGKILLs while enqueuing and draining`, async () => {
  const path = join(dir, 'agent.db');
  const stored = new Set<string>();
  const acked = new Set<string>();
  for (let i = 0; i < KILLS; i++) {
    const out = await runAndKill(path);
    for (const line of out.split('\n')) {
      if (line.startsWith('S ')) stored.add(line.slice(2));
      else if (line.startsWith('A ')) acked.add(line.slice(2));
      else if (line.startsWith('X ')) throw new Error(`worker could not store a sample: ${line}`);
    }
  }
  const db = new Database(path, { readonly: true });
  expect(db.pragma('quick_check', { simple: true })).toBe('ok');
  const present = new Set(db.prepare('SELECT sample_id FROM outbox').pluck().all() as string[]);
  db.close();
  const lost = [...stored].filter((id) => !acked.has(id) && !present.has(id));
  expect(stored.size).toBeGreaterThan(KILLS * 10);
  expect(acked.size).toBeGreaterThan(KILLS);
  expect(lost).toEqual([]);
}, 170_000);
