/**
 * `npm run bench:ingest`: how much of a plain broker's fan-in the hub keeps once every sample is
 * validated, hashed, decoded, stored, COMMITted and acknowledged. The same clients publish the same
 * ~1 KB sample frames at QoS1 with the same in-flight window to a plain aedes process (a message
 * counts when its PUBACK arrives) and to a hub process (a sample counts when the hub's
 * application-level ack arrives, after the COMMIT). Writes bench-results/ingest.json.
 *
 * A third server in every round is the hub's broker side alone (`floor-hub.ts`: the hub's broker,
 * hooks and ack batching, acking on arrival with no checks and no storage). The hub's CPU per
 * sample beyond it is the ingest work's own cost. The simulated devices share the machine with
 * each server, so their CPU is recorded too: where both paths keep every core busy, the ratio is
 * the ratio of the two paths' CPU per message, and the JSON says how many µs a sample the ingest
 * work may cost for the ratio to reach 0.5 (`ingest_work_budget_us_at_goal`).
 *
 * Each server first takes a warm-up pass of BENCH_WARMUP_PER_DEVICE samples per device (other
 * samples than the timed ones), untimed, on the same server process: a freshly
 * started process is still loading modules (sharp, on the first image) and compiling its hot paths,
 * and in a run of a few seconds that start-up would be counted as throughput. The figures of the
 * warm-up pass are kept in the JSON as `cold` for whoever wants the first seconds of a new process.
 *
 * It runs BENCH_ROUNDS rounds, each with fresh processes, alternating which server goes first, and
 * reports the median of the rounds' own ratios: a run of 10,000 messages lasts under half a second
 * on plain aedes, and this machine's speed moves that much between one second and the next.
 *
 * Options (env): BENCH_DEVICES (10), BENCH_SAMPLES_PER_DEVICE (1000), BENCH_WARMUP_PER_DEVICE (300),
 * BENCH_ROUNDS (3), BENCH_WINDOW (32).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJson, deviceTopic } from '@edgeloop/protocol';
import { median, printTable, ROOT, writeResults } from '@edgeloop/tests/support/bench-report';
import mqtt from 'mqtt';
import { openDatabase } from '../src/db/open.js';
import { DeviceRegistry } from '../src/fleet/devices.js';
import { freePort, startHubProcess } from '../test/support/hub-process.js';
import { makeSample, type TestSample } from '../test/support/sample-factory.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 10);
const PER_DEVICE = Number(process.env.BENCH_SAMPLES_PER_DEVICE ?? 1000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 32);
const WARMUP_PER_DEVICE = Number(process.env.BENCH_WARMUP_PER_DEVICE ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** The cores the server and the simulated devices share. */
const CORES = availableParallelism();

interface Client {
  deviceId: string;
  secret?: string;
  samples: TestSample[];
}

/** A server's untimed warm-up pass and its timed pass. */
type Run = { cold: DriveResult; warm: DriveResult };

interface DriveResult {
  elapsedMs: number;
  /** CPU time (user + system, all threads) the broker or hub process spent during the run. */
  serverCpuMs: number;
  /** CPU time this process (the simulated devices, nothing else runs here meanwhile) spent. */
  clientCpuMs: number;
  completed: number;
  duplicates: number;
  latenciesMs: number[];
}

/** CPU milliseconds (user + system) a process has used so far, from /proc (Linux). */
function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Publishes every client's samples with at most WINDOW outstanding per client. */
async function drive(url: string, clients: Client[], completion: 'puback' | 'app-ack', serverPid: number): Promise<DriveResult> {
  const latenciesMs: number[] = [];
  let completed = 0;
  let duplicates = 0;
  const connections = await Promise.all(
    clients.map(async (c) => {
      const client = await mqtt.connectAsync(url, {
        clientId: c.deviceId,
        // Plain aedes has no authentication: only the hub gets the device's credentials.
        username: completion === 'app-ack' ? c.deviceId : undefined,
        password: completion === 'app-ack' ? c.secret : undefined,
        protocolVersion: 4,
        clean: true,
        reconnectPeriod: 0,
      });
      if (completion === 'app-ack') await client.subscribeAsync(deviceTopic(c.deviceId, 'acks'), { qos: 1 });
      return client;
    }),
  );
  const started = performance.now();
  const cpuBefore = cpuMsOf(serverPid);
  const clientBefore = process.cpuUsage();
  await Promise.all(
    clients.map(
      (c, i) =>
        new Promise<void>((resolve) => {
          const client = connections[i]!;
          const sentAt = new Map<string, number>();
          const done = new Set<string>();
          let next = 0;
          const finish = (id: string) => {
            if (done.has(id)) {
              duplicates++;
              return;
            }
            const t = sentAt.get(id);
            if (t === undefined) return;
            done.add(id);
            latenciesMs.push(performance.now() - t);
            completed++;
            if (done.size === c.samples.length) resolve();
            else pump();
          };
          const pump = () => {
            while (next < c.samples.length && sentAt.size - done.size < WINDOW) {
              const s = c.samples[next++]!;
              sentAt.set(s.sampleId, performance.now());
              client.publish(deviceTopic(c.deviceId, 'samples'), Buffer.from(s.frame), { qos: 1 }, () => {
                if (completion === 'puback') finish(s.sampleId);
              });
            }
          };
          if (completion === 'app-ack') {
            client.on('message', (_t, payload) => {
              const ack = decodeJson('ack', payload);
              if (ack.ok) for (const id of ack.value.accepted) finish(id);
            });
          }
          pump();
          setTimeout(resolve, 120_000).unref();
        }),
    ),
  );
  const elapsedMs = performance.now() - started;
  const serverCpuMs = cpuMsOf(serverPid) - cpuBefore;
  const clientCpu = process.cpuUsage(clientBefore);
  const clientCpuMs = (clientCpu.user + clientCpu.system) / 1000;
  await Promise.all(connections.map((c) => c.endAsync()));
  return { elapsedMs, serverCpuMs, clientCpuMs, completed, duplicates, latenciesMs };
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/** Runs a bench server script in its own process (it prints `{"port":N}` when listening). */
async function benchServer(
  script: string,
  env: Record<string, string>,
  warmup: Client[],
  clients: Client[],
  completion: 'puback' | 'app-ack',
): Promise<Run> {
  const child = spawn(process.execPath, ['--conditions=@edgeloop/source', '--import', 'tsx', join(ROOT, 'hub/bench', script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((ok) => child.stdout.once('data', (d: Buffer) => ok(JSON.parse(d.toString()).port)));
  try {
    const cold = await drive(`mqtt://127.0.0.1:${port}`, warmup, completion, child.pid!);
    return { cold, warm: await drive(`mqtt://127.0.0.1:${port}`, clients, completion, child.pid!) };
  } finally {
    child.kill('SIGTERM');
  }
}

const rawBroker = (warmup: Client[], clients: Client[]) => benchServer('raw-broker.ts', {}, warmup, clients, 'puback');

/** A data directory whose database knows the clients (fresh secrets, set on the clients). */
async function dataDirFor(warmup: Client[], clients: Client[]): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'edgeloop-bench-ingest-'));
  const setup = openDatabase(join(dataDir, 'hub.db'));
  const registry = new DeviceRegistry(setup);
  for (const [i, c] of clients.entries()) {
    c.secret = (await registry.create(c.deviceId, 'bench')).secret;
    warmup[i]!.secret = c.secret;
  }
  setup.close();
  return dataDir;
}

/** The hub's broker side alone, acking on arrival (`floor-hub.ts`), with the hub's settings. */
async function floorHub(warmup: Client[], clients: Client[]): Promise<Run> {
  const dataDir = await dataDirFor(warmup, clients);
  try {
    return await benchServer(
      'floor-hub.ts',
      { ...HUB_ENV, EDGELOOP_DATA_DIR: dataDir, EDGELOOP_MQTT_PORT: String(await freePort()) },
      warmup,
      clients,
      'app-ack',
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Settings both the hub and the floor run with. */
const HUB_ENV = {
  EDGELOOP_MQTT_WS_PORT: '-1',
  // Capacity is measured: the per-client rate limit would cap each device, not the hub.
  EDGELOOP_MQTT_RATE: '1000000',
  EDGELOOP_MQTT_BURST: '1000000',
  EDGELOOP_LOG_LEVEL: 'warn',
};

async function hubIngest(warmup: Client[], clients: Client[]): Promise<Run & { storedRows: number; distinctRows: number }> {
  const dataDir = await dataDirFor(warmup, clients);
  try {
    const hub = await startHubProcess({
      ...HUB_ENV,
      EDGELOOP_DATA_DIR: dataDir,
      EDGELOOP_HTTP_PORT: String(await freePort()),
      EDGELOOP_MQTT_PORT: String(await freePort()),
      EDGELOOP_LOCAL_TRAINER: '0',
      // No first-start MNIST import: it would run beside the measurement.
      EDGELOOP_BOOTSTRAP: 'none',
    });
    const cold = await drive(hub.urls.mqtt, warmup, 'app-ack', hub.child.pid!);
    const warm = await drive(hub.urls.mqtt, clients, 'app-ack', hub.child.pid!);
    hub.child.kill('SIGTERM');
    await hub.exited;
    const db = openDatabase(join(dataDir, 'hub.db'));
    const row = db.sqlite.prepare('SELECT count(*) AS n, count(DISTINCT id) AS d FROM samples').get() as { n: number; d: number };
    db.close();
    return { cold, warm, storedRows: row.n, distinctRows: row.d };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

const total = DEVICES * PER_DEVICE;
console.log(
  `bench:ingest: ${DEVICES} devices × ${PER_DEVICE} samples (after ${WARMUP_PER_DEVICE} untimed warm-up samples each), window ${WINDOW}, preparing frames…`,
);
/** Each device's samples; the warm-up's seeds come after the timed ones', so no sample is sent twice. */
const makeClients = (count: number, firstSeed: number): Client[] =>
  Array.from({ length: DEVICES }, (_, d) => ({
    deviceId: `bench-${d}`,
    samples: Array.from({ length: count }, (_, i) => makeSample(`bench-${d}`, d * 1_000_000 + firstSeed + i)),
  }));
const clients = makeClients(PER_DEVICE, 0);
const warmup = makeClients(WARMUP_PER_DEVICE, PER_DEVICE);
const frameBytes = clients[0]!.samples[0]!.frame.byteLength;
const warmupTotal = DEVICES * WARMUP_PER_DEVICE;
const rate = (r: DriveResult) => (r.completed / r.elapsedMs) * 1000;

// Rounds alternate which server goes first, and each starts fresh processes (and a fresh hub
// database, so the same samples are new to it every round): a round's two halves share the
// machine's state of the moment, and the ratio reported is the median of the rounds' own ratios.
const rounds: Array<{ raw: Run; floor: Run; hub: Awaited<ReturnType<typeof hubIngest>> }> = [];
for (let round = 0; round < ROUNDS; round++) {
  // raw, floor, hub in even rounds; hub, floor, raw in odd ones.
  const rawFirst = round % 2 === 0;
  const rawEarly = rawFirst ? await rawBroker(warmup, clients) : undefined;
  const hubEarly = rawFirst ? undefined : await hubIngest(warmup, clients);
  const floorRun = await floorHub(warmup, clients);
  const hubRun = hubEarly ?? (await hubIngest(warmup, clients));
  const rawRun = rawEarly ?? (await rawBroker(warmup, clients));
  rounds.push({ raw: rawRun, floor: floorRun, hub: hubRun });
  console.log(
    `round ${round + 1}/${ROUNDS}: raw ${rate(rawRun.warm).toFixed(0)} msgs/s, hub ${rate(hubRun.warm).toFixed(0)} acked/s, ` +
      `ratio ${(rate(hubRun.warm) / rate(rawRun.warm)).toFixed(2)} (warm-ups: ${rate(rawRun.cold).toFixed(0)} and ${rate(hubRun.cold).toFixed(0)}); ` +
      `broker side alone ${rate(floorRun.warm).toFixed(0)} acked/s, ratio ${(rate(floorRun.warm) / rate(rawRun.warm)).toFixed(2)}`,
  );
}
const ratios = rounds.map((r) => rate(r.hub.warm) / rate(r.raw.warm));
const raws = rounds.map((r) => r.raw.warm);
const hubs = rounds.map((r) => r.hub.warm);
const floors = rounds.map((r) => r.floor.warm);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const pooled = (runs: DriveResult[]) => runs.flatMap((r) => r.latenciesMs);
const cpuPer = (runs: DriveResult[], side: 'serverCpuMs' | 'clientCpuMs' = 'serverCpuMs') =>
  (sum(runs.map((r) => r[side])) * 1000) / sum(runs.map((r) => r.completed));
/** Server and client CPU per message together. */
const cpuTotal = (runs: DriveResult[]) => cpuPer(runs) + cpuPer(runs, 'clientCpuMs');
/** Share of the machine's cores that the server and the clients kept busy together. */
const busy = (runs: DriveResult[]) => sum(runs.map((r) => r.serverCpuMs + r.clientCpuMs)) / sum(runs.map((r) => r.elapsedMs)) / CORES;

const raw_msgs_per_s = median(raws.map(rate));
const acked_samples_per_s = median(hubs.map(rate));
const result = {
  devices: DEVICES,
  samples: total,
  frame_bytes: frameBytes,
  window: WINDOW,
  rounds: ROUNDS,
  raw_msgs_per_s,
  acked_samples_per_s,
  ratio: median(ratios),
  ratio_per_round: ratios,
  // Over every round, warm-ups included: samples never acked, and samples acked or stored twice.
  lost: sum(rounds.map((r) => total + warmupTotal - r.hub.warm.completed - r.hub.cold.completed)),
  duplicates: sum(rounds.map((r) => r.hub.warm.duplicates + r.hub.cold.duplicates + (r.hub.storedRows - r.hub.distinctRows))),
  ack_p50_ms: percentile(pooled(hubs), 50),
  ack_p99_ms: percentile(pooled(hubs), 99),
  raw_puback_p99_ms: percentile(pooled(raws), 99),
  // Throughput on a shared 2-core machine moves with the neighbours; the CPU each side spends per
  // message moves much less, so it shows what a change to the hub did.
  raw_cpu_us_per_msg: cpuPer(raws),
  hub_cpu_us_per_sample: cpuPer(hubs),
  // The simulated devices share the machine with the server: their CPU per message, and how busy
  // both kept the machine's cores. When both paths keep every core busy, the ratio is bounded by
  // the two paths' total CPU per message: (raw server + clients) / (hub + clients).
  cores: CORES,
  raw_client_cpu_us_per_msg: cpuPer(raws, 'clientCpuMs'),
  hub_client_cpu_us_per_sample: cpuPer(hubs, 'clientCpuMs'),
  raw_machine_busy: busy(raws),
  hub_machine_busy: busy(hubs),
  cpu_bound_ratio: cpuTotal(raws) / cpuTotal(hubs),
  // The hub's broker side alone (`floor-hub.ts`: the same broker, hooks and ack batching, acking
  // on arrival with no checks and no storage). What the hub spends beyond it is the ingest work
  // (schema, sha256, image check, SQLite, staging); its budget is what the hub may spend beyond
  // the floor for the ratio to reach 0.5 on a machine whose cores both paths keep busy.
  floor: {
    acked_samples_per_s: median(floors.map(rate)),
    ratio: median(rounds.map((r) => rate(r.floor.warm) / rate(r.raw.warm))),
    cpu_us_per_sample: cpuPer(floors),
    client_cpu_us_per_sample: cpuPer(floors, 'clientCpuMs'),
    machine_busy: busy(floors),
  },
  ingest_work_cpu_us_per_sample: cpuTotal(hubs) - cpuTotal(floors),
  ingest_work_budget_us_at_goal: 2 * cpuTotal(raws) - cpuTotal(floors),
  // The warm-up passes: freshly started processes, loading and compiling as they go.
  cold: {
    samples: warmupTotal,
    raw_msgs_per_s: median(rounds.map((r) => rate(r.raw.cold))),
    acked_samples_per_s: median(rounds.map((r) => rate(r.hub.cold))),
    ratio: median(rounds.map((r) => rate(r.hub.cold) / rate(r.raw.cold))),
  },
  goals: { ratio: '>= 0.5', lost: 0, duplicates: 0 },
};
printTable(`bench:ingest (same clients, same frames, QoS1; median of ${ROUNDS} rounds)`, [
  {
    path: 'raw aedes (PUBACK)',
    'msgs/s': raw_msgs_per_s.toFixed(0),
    'p99 ms': result.raw_puback_p99_ms.toFixed(1),
    'server CPU µs/msg': result.raw_cpu_us_per_msg.toFixed(1),
    'clients CPU µs/msg': result.raw_client_cpu_us_per_msg.toFixed(1),
    'cores busy': `${(result.raw_machine_busy * 100).toFixed(0)}%`,
    done: sum(raws.map((r) => r.completed)),
  },
  {
    path: "hub's broker side alone (ack on arrival)",
    'msgs/s': result.floor.acked_samples_per_s.toFixed(0),
    'p99 ms': percentile(pooled(floors), 99).toFixed(1),
    'server CPU µs/msg': result.floor.cpu_us_per_sample.toFixed(1),
    'clients CPU µs/msg': result.floor.client_cpu_us_per_sample.toFixed(1),
    'cores busy': `${(result.floor.machine_busy * 100).toFixed(0)}%`,
    done: sum(floors.map((r) => r.completed)),
  },
  {
    path: 'hub ingest (app ack after COMMIT)',
    'msgs/s': acked_samples_per_s.toFixed(0),
    'p99 ms': result.ack_p99_ms.toFixed(1),
    'server CPU µs/msg': result.hub_cpu_us_per_sample.toFixed(1),
    'clients CPU µs/msg': result.hub_client_cpu_us_per_sample.toFixed(1),
    'cores busy': `${(result.hub_machine_busy * 100).toFixed(0)}%`,
    done: sum(hubs.map((r) => r.completed)),
  },
]);
console.log(
  `ratio ${result.ratio.toFixed(2)} (goal ≥ 0.5; rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}; ` +
    `the warm-up passes of fresh processes: ${result.cold.ratio.toFixed(2)}), ` +
    `lost ${result.lost}, duplicates ${result.duplicates}`,
);
console.log(
  `CPU per message, server and clients together: raw ${cpuTotal(raws).toFixed(1)} µs, hub ${cpuTotal(hubs).toFixed(1)} µs: ` +
    `with ${CORES} cores kept busy on both paths the ratio would be ${result.cpu_bound_ratio.toFixed(2)}`,
);
console.log(
  `the ingest work (checks, SQLite, staging) costs ${result.ingest_work_cpu_us_per_sample.toFixed(1)} µs a sample beyond the broker side ` +
    `(ratio ${result.floor.ratio.toFixed(2)} alone); a ratio of 0.5 on busy cores leaves it ${result.ingest_work_budget_us_at_goal.toFixed(1)} µs`,
);
console.log(`wrote ${writeResults('ingest', result)}`);
