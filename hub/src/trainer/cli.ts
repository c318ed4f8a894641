#!/usr/bin/env node
/**
 * `edgeloop-trainer --hub URL --token T [--once] [--name N] [--backend B] [--poll-ms MS]`: a
 * trainer worker that pulls jobs from a hub. Run it anywhere that reaches the hub, for example on
 * a GPU box with `@tensorflow/tfjs-node-gpu` installed (the backend is chosen per run and recorded).
 * The token may also come from `EDGELOOP_TRAINER_TOKEN`, so it stays out of the process list.
 *
 * Exit status: 0 when stopped (SIGINT/SIGTERM) or, with `--once`, when the one job succeeded; 1
 * with `--once` when that job failed, lost its lease or was cut short by a stop (it goes back to
 * the hub's queue), and on an unexpected error; 2 for bad arguments.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { BACKEND_ORDER, type BackendName } from '@edgeloop/models';
import { runWorker } from './worker.js';

const USAGE =
  'usage: edgeloop-trainer --hub URL --token T [--once] [--name NAME] [--backend tensorflow-gpu|tensorflow|wasm|cpu] [--poll-ms MS]';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      hub: { type: 'string' },
      token: { type: 'string' },
      once: { type: 'boolean', default: false },
      name: { type: 'string' },
      backend: { type: 'string' },
      'poll-ms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const token = values.token ?? process.env.EDGELOOP_TRAINER_TOKEN;
  if (!values.hub || !token) {
    console.error(USAGE);
    return 2;
  }
  if (values.backend !== undefined && !BACKEND_ORDER.includes(values.backend as BackendName)) {
    console.error(`unknown backend ${values.backend}; one of ${BACKEND_ORDER.join(', ')}`);
    return 2;
  }
  const abort = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
  // Spawned by a hub (`npm start`) with an IPC channel: stop when that hub dies, even by SIGKILL.
  if (process.send) process.once('disconnect', () => abort.abort());
  const done = await runWorker({
    hub: values.hub,
    token,
    name: values.name ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 64),
    ...(values.backend ? { backend: values.backend as BackendName } : {}),
    ...(values['poll-ms'] ? { pollMs: Number(values['poll-ms']) } : {}),
    once: values.once,
    signal: abort.signal,
    log: (line) => console.log(`${new Date().toISOString()} ${line}`),
  });
  console.log(`trainer stopped: ${JSON.stringify(done)}`);
  return values.once && done.succeeded === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
