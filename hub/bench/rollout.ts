/**
 * `npm run bench:rollout`: how long a signed release takes to reach a fleet. The hub's release
 * repository (real TUF metadata signed with Ed25519, in the file object store) is served over
 * HTTP on 127.0.0.1 by the hub's own `/tuf/*` routes; `--agents` simulated agents (default 1,000),
 * spread over `--procs` child processes (default: one per core), each run the edge agent's real `ModelUpdater`
 * (`rollout-agents.ts`) and poll every `--poll-ms` (default 2,000 ms, from random phases). All
 * install release 1 first; then release 2 is published and the clock runs from the moment
 * `publishRelease` returns until every agent reports release 2 installed and verified.
 *
 * Writes bench-results/rollout.json with `agents` and `seconds_to_all` (goal ≤ 10).
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportToOnnx, mnistCnn, mnistPreprocessing } from '@edgeloop/models';
import { encodeJson } from '@edgeloop/protocol';
import { printTable, writeResults } from '@edgeloop/tests/support/bench-report';
import type { ApiDeps } from '../src/api/deps.js';
import { serveRoutes, stableTufRoutes } from '../src/api/standalone.js';
import { quietLog } from '../src/jobs/test-support.js';
import { KeyDir } from '../src/releases/keys.js';
import { ReleaseRepository } from '../src/releases/repository.js';
import { FsObjectStore } from '../src/storage/fs.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    procs: { type: 'string', default: String(availableParallelism()) },
    'poll-ms': { type: 'string', default: '2000' },
  },
});
const AGENTS = Number(values.agents);
const PROCS = Math.min(AGENTS, Number(values.procs));
const POLL_MS = Number(values['poll-ms']);
const MODEL = 'digits';

function release(version: number, seed: number) {
  const net = mnistCnn(10, seed);
  const onnxBytes = exportToOnnx(net, { modelName: MODEL, docString: `${MODEL} v${version}` });
  net.dispose();
  const manifestBytes = encodeJson('manifest', {
    v: 1,
    name: MODEL,
    version,
    labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    input: { name: 'input', shape: [-1, 28, 28, 1], layout: 'NHWC', dtype: 'float32' },
    output: { name: 'probabilities', kind: 'probabilities' },
    preprocessing: mnistPreprocessing,
    model: { format: 'onnx', sha256: createHash('sha256').update(onnxBytes).digest('hex'), length: onnxBytes.byteLength },
    createdAt: new Date().toISOString(),
  });
  return { model: MODEL, version, onnxBytes, manifestBytes };
}

const dir = await mkdtemp(join(tmpdir(), 'edgeloop-bench-rollout-'));
const log = quietLog();
const store = await FsObjectStore.open(join(dir, 'objects'));
const keyDir = new KeyDir(join(dir, 'keys'));
await keyDir.init(1);
const repo = new ReleaseRepository({ store, keyDir });
await repo.initialise();
const server = await serveRoutes(stableTufRoutes({ store } as unknown as ApiDeps), log);
const rootFile = join(dir, '1.root.json');
await writeFile(rootFile, await repo.rootFile(1));
const r1 = release(1, 1);
const r2 = release(2, 2);
await repo.publishRelease(r1);

type Msg = {
  kind: string;
  id?: string;
  version?: number;
  at?: number;
  versions?: number[];
  rejected?: Record<string, number>;
  cpuMs?: number;
};
const updatedAt = new Map<string, number>();
const rejected: Record<string, number> = {};
const children = Array.from({ length: PROCS }, (_, p) => {
  const first = Math.floor((p * AGENTS) / PROCS);
  const count = Math.floor(((p + 1) * AGENTS) / PROCS) - first;
  const child = fork(
    new URL('./rollout-agents.ts', import.meta.url).pathname,
    [`${server.url}/tuf/`, rootFile, join(dir, 'agents'), String(first), String(count), String(POLL_MS), MODEL],
    { execArgv: ['--conditions=@edgeloop/source', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const waiters = new Map<string, (m: Msg) => void>();
  child.on('message', (m: Msg) => {
    if (m.kind === 'updated' && m.version === 2) updatedAt.set(m.id!, m.at!);
    for (const [code, n] of Object.entries(m.rejected ?? {})) rejected[code] = (rejected[code] ?? 0) + n;
    waiters.get(m.kind)?.(m);
  });
  const next = (kind: string) => new Promise<Msg>((resolve) => waiters.set(kind, resolve));
  return { child, next, ready: next('ready') };
});

try {
  await Promise.all(children.map((c) => c.ready));
  const warmStart = Date.now();
  const ask = (c: (typeof children)[number], kind: string, reply: string) => {
    const answer = c.next(reply);
    c.child.send({ kind });
    return answer;
  };
  const warm = await Promise.all(children.map((c) => ask(c, 'warm', 'warm')));
  const onV1 = warm.flatMap((m) => m.versions ?? []).filter((v) => v === 1).length;
  if (onV1 !== AGENTS) throw new Error(`only ${onV1} of ${AGENTS} agents installed release 1`);
  const warmSeconds = (Date.now() - warmStart) / 1000;
  for (const c of children) c.child.send({ kind: 'poll' });
  await new Promise((r) => setTimeout(r, POLL_MS)); // every agent is polling, up to date

  // CPU seconds from publication until all are updated: the agents' processes and this one (the hub).
  const cpu = async () => (await Promise.all(children.map((c) => ask(c, 'cpu', 'cpu')))).reduce((a, m) => a + (m.cpuMs ?? 0), 0);
  const own = () => (process.cpuUsage().user + process.cpuUsage().system) / 1000;
  const [agentsCpu0, hubCpu0] = [await cpu(), own()];
  const published = await repo.publishRelease(r2);
  const t0 = Date.now();
  const deadline = t0 + 120_000;
  while (updatedAt.size < AGENTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const agentsCpuS = ((await cpu()) - agentsCpu0) / 1000;
  const hubCpuS = (own() - hubCpu0) / 1000;
  const times = [...updatedAt.values()].map((t) => (t - t0) / 1000).sort((a, b) => a - b);
  await Promise.all(children.map((c) => ask(c, 'stop', 'stopped')));
  const pct = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? null;
  const result = {
    agents: AGENTS,
    agents_updated: updatedAt.size,
    seconds_to_all: updatedAt.size === AGENTS ? times.at(-1)! : null,
    seconds_p50: pct(0.5),
    seconds_p95: pct(0.95),
    goal_seconds: 10,
    poll_ms: POLL_MS,
    processes: PROCS,
    model_bytes: r2.onnxBytes.byteLength,
    warm_install_seconds: warmSeconds,
    // On this machine 1,000 devices share 2 cores; on a real fleet each device has its own CPU.
    agents_cpu_seconds: agentsCpuS,
    agent_cpu_ms_per_update: (agentsCpuS * 1000) / AGENTS,
    hub_cpu_seconds: hubCpuS,
    timestamp_version: published.versions.timestamp,
    rejected,
    note: 'real ModelUpdater (tuf-js verification, capped downloads, staged install, atomic swap); self-test is a size check; agents poll from random phases',
  };
  printTable('bench:rollout', [
    {
      agents: AGENTS,
      updated: updatedAt.size,
      'p50 s': result.seconds_p50?.toFixed(2) ?? '-',
      'p95 s': result.seconds_p95?.toFixed(2) ?? '-',
      'all s': result.seconds_to_all?.toFixed(2) ?? 'not all',
      'poll ms': POLL_MS,
      'model KB': Math.round(result.model_bytes / 1024),
      'agents CPU s': agentsCpuS.toFixed(1),
      'hub CPU s': hubCpuS.toFixed(1),
    },
  ]);
  console.log(`wrote ${writeResults('rollout', result)}`);
  if (result.seconds_to_all === null) process.exitCode = 1;
} finally {
  for (const c of children) c.child.kill();
  await server.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
