/**
 * `edgeloop-trainer`'s exit statuses, from a real child process: bad arguments, a stop with no job
 * done, and the same stop under `--once`. The "hub" is a loopback HTTP server whose job queue is
 * always empty (204), so the worker keeps polling until it is stopped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

function run(args: string[]): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, ['--conditions=@edgeloop/source', '--import', 'tsx', CLI, ...args], {
    env: { ...process.env, EDGELOOP_TRAINER_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/** Starts a worker against an empty queue, waits until it has polled it twice, then stops it. */
async function stoppedWorker(extra: string[]): Promise<{ code: number | null; output: string; leases: number }> {
  let leases = 0;
  let polled: () => void = () => {};
  const twice = new Promise<void>((resolve) => {
    polled = resolve;
  });
  const hub = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/jobs/lease') {
      leases++;
      if (leases === 2) polled();
      res.writeHead(204).end();
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
    const { child, exited, output } = run(['--hub', url, '--token', 't', '--poll-ms', '50', ...extra]);
    await twice;
    child.kill('SIGTERM');
    return { code: await exited, output: output(), leases };
  } finally {
    hub.close();
  }
}

describe('edgeloop-trainer exit status', () => {
  it('is 2 for missing or bad arguments, with the usage', async () => {
    const missing = run(['--hub', 'http://127.0.0.1:1']);
    expect(await missing.exited).toBe(2);
    expect(missing.output()).toContain('usage: edgeloop-trainer');
    const backend = run(['--hub', 'http://127.0.0.1:1', '--token', 't', '--backend', 'abacus']);
    expect(await backend.exited).toBe(2);
    expect(backend.output()).toContain('unknown backend abacus');
  }, 60_000);

  it('is 0 when a worker is stopped, and 1 under --once when its one job never finished', async () => {
    const plain = await stoppedWorker([]);
    expect(plain.leases).toBeGreaterThanOrEqual(2);
    expect(plain.output).toContain('trainer stopped: {"succeeded":0');
    expect(plain.code).toBe(0);
    const once = await stoppedWorker(['--once']);
    expect(once.output).toContain('trainer stopped: {"succeeded":0');
    expect(once.code).toBe(1);
  }, 120_000);
});
