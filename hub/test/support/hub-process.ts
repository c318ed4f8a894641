/**
 * Runs `hub/src/main.ts` as a child process, the way an operator does (configured by `EDGELOOP_*`
 * variables), for tests that kill it and benchmarks that must not share its event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export { freePort } from '@edgeloop/tests/support/ports';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const mainPath = resolve(repoRoot, 'hub/src/main.ts');

export interface HubProcess {
  child: ChildProcess;
  urls: { http: string; mqtt: string; ws?: string };
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  stderr(): string;
}

/** Starts the hub and resolves once it printed its `ready` line. */
export function startHubProcess(env: Record<string, string>, timeoutMs = 30_000): Promise<HubProcess> {
  const child = spawn(process.execPath, ['--conditions=@edgeloop/source', '--import', 'tsx', mainPath], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const exited = new Promise<number | string>((ok) => child.once('exit', (code, signal) => ok(code ?? signal ?? -1)));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`hub did not start within ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"event":"ready"'));
      if (!line) return;
      clearTimeout(timer);
      ok({ child, urls: JSON.parse(line).urls, exited, stderr: () => err });
    });
    exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`hub exited (${code}) before it was ready:\n${err}`));
    });
  });
}
