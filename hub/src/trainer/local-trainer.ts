/**
 * The one local trainer worker that `npm start` runs: `edgeloop-trainer` as a child process of the
 * hub, pulling jobs over HTTP like any remote worker, restarted with backoff if it dies. `main.ts`
 * calls this (side effects start only there).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';

export interface LocalTrainer {
  /**
   * Asks the worker to stop (SIGTERM) and resolves once it has exited. A worker in the middle of a
   * job stops training at the next batch and releases the job, which is queued again at once. One
   * still running after `graceMs` is killed; its job goes back to the queue when the lease expires.
   * The hub's shutdown waits for this, so it never leaves a trainer process behind.
   */
  stop(graceMs?: number): Promise<void>;
  /** The running worker's process id (undefined between a crash and its restart). */
  readonly pid: number | undefined;
}

/**
 * The local trainer's EDGELOOP_TRAIN_THREADS: the operator's value when set, otherwise one core
 * fewer than the machine has (at least one), so that training on the hub's own machine leaves a
 * core to the hub's broker and ingest. A trainer worker on a machine of its own uses every core.
 */
export function localTrainerThreads(env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): string {
  return env.EDGELOOP_TRAIN_THREADS || String(Math.max(1, cores - 1));
}

/** How long a stopping worker may take to exit before it is killed. */
export const TRAINER_STOP_GRACE_MS = 10_000;

export function spawnLocalTrainer(hubUrl: string, token: string, log: Logger): LocalTrainer {
  // Under tsx (development, tests) the sources run; a build runs dist/.
  const fromSource = import.meta.url.endsWith('.ts');
  const cli = fileURLToPath(new URL(fromSource ? './cli.ts' : './cli.js', import.meta.url));
  // The sources need tsx and the source condition; a host that loads TypeScript some other way
  // (vitest) does not pass them in its execArgv.
  const loader = fromSource && !process.execArgv.some((a) => a.includes('tsx')) ? ['--conditions=@edgeloop/source', '--import', 'tsx'] : [];
  let child: ChildProcess | undefined;
  let stopping = false;
  let delay = 1_000;
  const start = () => {
    const startedAt = Date.now();
    child = spawn(process.execPath, [...process.execArgv, ...loader, cli, '--hub', hubUrl, '--name', 'local-trainer'], {
      env: { ...process.env, EDGELOOP_TRAINER_TOKEN: token, EDGELOOP_TRAIN_THREADS: localTrainerThreads() },
      // The IPC channel closes when the hub dies, however it dies: the worker then stops.
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      log.warn({ code, signal }, 'local trainer exited; restarting');
      delay = Date.now() - startedAt > 60_000 ? 1_000 : Math.min(delay * 2, 60_000);
      setTimeout(start, delay).unref();
    });
  };
  start();
  return {
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async stop(graceMs = TRAINER_STOP_GRACE_MS) {
      stopping = true;
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGTERM');
      const timer = setTimeout(() => {
        log.warn({ pid: running.pid, graceMs }, 'local trainer did not stop in time; killing it');
        running.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
