/** The benchmark's daemon: the agent CLI as its own process, and a load of concurrent `POST /classify` clients. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from '@edgeloop/tests/support/bench-report';

export interface Daemon {
  url: string;
  child: ChildProcess;
  /** Peak resident set so far (VmHWM), MB. */
  peakRssMb(): Promise<number>;
  status(): Promise<Record<string, unknown> & { model: { version: number } | null }>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `node <nodeFlags> <entry> run <args>` and waits for its "agent started" log line. */
export async function startDaemon(entry: string[], nodeFlags: string[], args: string[], env: Record<string, string> = {}): Promise<Daemon> {
  const child = spawn(process.execPath, [...nodeFlags, ...entry, 'run', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
      const line = err.split('\n').find((l) => l.includes('"agent started"'));
      if (line) resolve((JSON.parse(line) as { http: string }).http);
      if (err.length > 1_000_000) err = err.slice(-100_000);
    });
    child.on('exit', (code) => reject(new Error(`agent exited (${code}): ${err}`)));
  });
  return {
    url,
    child,
    async peakRssMb() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) / 1024;
    },
    async status() {
      return (await (await fetch(`${url}/status`)).json()) as Awaited<ReturnType<Daemon['status']>>;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls `/status` until `pred` holds; returns the milliseconds it took. */
export async function waitFor(d: Daemon, pred: (s: Awaited<ReturnType<Daemon['status']>>) => boolean, timeoutMs = 60_000): Promise<number> {
  const t0 = performance.now();
  while (!pred(await d.status())) {
    if (performance.now() - t0 > timeoutMs) throw new Error('timed out waiting for the agent');
    await sleep(2);
  }
  return performance.now() - t0;
}

/** `requests` POSTs from `clients` concurrent clients, cycling through `images`; latencies in ms. */
export async function load(url: string, images: Uint8Array<ArrayBuffer>[], requests: number, clients: number) {
  const one = async (i: number) => {
    const t0 = performance.now();
    const res = await fetch(`${url}/classify`, { method: 'POST', body: images[i % images.length]! });
    if (res.status !== 200) throw new Error(`POST /classify: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    return performance.now() - t0;
  };
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < requests) latencies.push(await one(next++));
    }),
  );
  return { latencies, seconds: (performance.now() - t0) / 1000 };
}
