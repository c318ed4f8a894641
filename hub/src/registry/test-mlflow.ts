/**
 * A real MLflow tracking server for the mirror's tests (not used by the hub). The `mlflow` command
 * comes from `EDGELOOP_MLFLOW_BIN`, else from the venv `.ci/mlflow.sh` creates
 * (`.cache/mlflow-venv/bin/mlflow`). The server runs in its own process group on 127.0.0.1 with a
 * SQLite backend and proxied artifacts in a temporary directory, and is stopped with its group.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The `mlflow` executable, or `undefined` when none is installed. */
export function mlflowBin(): string | undefined {
  const candidate = process.env.EDGELOOP_MLFLOW_BIN || join(repoRoot, '.cache/mlflow-venv/bin/mlflow');
  return existsSync(candidate) ? candidate : undefined;
}

export { freePort } from '@edgeloop/tests/support/ports';

export interface MlflowServer {
  uri: string;
  stop(): Promise<void>;
}

/** Starts `mlflow server` on `port` with its stores in `dir`; resolves once `/health` answers. */
export async function startMlflow(bin: string, port: number, dir: string, timeoutMs = 150_000): Promise<MlflowServer> {
  const args = ['server', '--host', '127.0.0.1', '--port', String(port), '--workers', '1'];
  args.push('--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`, '--artifacts-destination', join(dir, 'artifacts'));
  const child = spawn(bin, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    // The background job runner (MLflow 3) is not needed and costs several processes.
    env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const uri = `http://127.0.0.1:${port}`;
  const server = { uri, stop: () => stopGroup(child) };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mlflow server exited (${child.exitCode}): ${stderr}`);
    const ok = await fetch(`${uri}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return server;
    await new Promise((r) => setTimeout(r, 500));
  }
  await server.stop();
  throw new Error(`mlflow server did not answer /health within ${timeoutMs} ms: ${stderr}`);
}

/** SIGTERM to the server's process group, SIGKILL after 20 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      // The group is gone already.
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
  // Workers may outlive the parent by a moment; the group gets a last SIGKILL.
  signal('SIGKILL');
}
