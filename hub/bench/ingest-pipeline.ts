/**
 * Micro-benchmark of the ingest pipeline alone (no broker): drives `createIngest(...).handle()`
 * with N concurrent samples from `makeSample` (16×16 RGB PNGs, ~1.3 KB frames), a real SQLite file
 * and a real `FsObjectStore` in a temporary directory, and a `publish` that only counts acks. Prints
 * end-to-end samples/s, then what each stage costs on its own (µs per sample, main thread).
 *
 *   node --conditions=@edgeloop/source --import tsx hub/bench/ingest-pipeline.ts \
 *     [--samples=20000] [--concurrency=512] [--devices=10] [--stage-max-bytes=262144]
 *     [--spill-concurrency=8] [--spill-during] [--no-stages]
 *
 * The spiller runs after the timed run (its cost is printed per blob) unless `--spill-during`.
 *
 * `--profile=out.cpuprofile` writes a V8 CPU profile of the end-to-end run alone (open it in
 * Chrome DevTools), and prints its heaviest functions by self time; `--profile-spill=…` does the
 * same for the spill after it.
 */
import { createHash, hash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { decodeJson, decodeSampleFrame, verifySampleId } from '@edgeloop/protocol';
import { configFor } from '../src/config.js';
import { openDatabase } from '../src/db/open.js';
import { BlobSpiller } from '../src/ingest/blob-spiller.js';
import { createGroupCommit } from '../src/ingest/group-commit.js';
import { checkImage } from '../src/ingest/image-check.js';
import { createIngest } from '../src/ingest/pipeline.js';
import { rowOf } from '../src/ingest/sample-handler.js';
import { writerRowOf } from '../src/ingest/sqlite-writer.js';
import { INSERT_SAMPLE } from '../src/ingest/sqlite-writer-worker.js';
import { createLogger } from '../src/log.js';
import { createMetrics } from '../src/metrics.js';
import { FsObjectStore } from '../src/storage/fs.js';
import { sampleObjectKey } from '../src/storage/sample-blob.js';
import { makeSample } from '../test/support/sample-factory.js';

const arg = (name: string, fallback: number) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : fallback;
};
const SAMPLES = arg('samples', 20_000);
const CONCURRENCY = arg('concurrency', 512);
const DEVICES = arg('devices', 10);
const STAGE_MAX_BYTES = arg('stage-max-bytes', 256 * 1024);
const SPILL_CONCURRENCY = arg('spill-concurrency', 8);
const SPILL_DURING = process.argv.includes('--spill-during');
const STAGES = !process.argv.includes('--no-stages');
const PROFILE = process.argv.find((a) => a.startsWith('--profile='))?.slice('--profile='.length);
const PROFILE_SPILL = process.argv.find((a) => a.startsWith('--profile-spill='))?.slice('--profile-spill='.length);

const dir = mkdtempSync(join(tmpdir(), 'edgeloop-bench-pipeline-'));
const deviceIds = Array.from({ length: DEVICES }, (_, d) => `bench-${d}`);
const samples = Array.from({ length: SAMPLES }, (_, i) => makeSample(deviceIds[i % DEVICES]!, i));
const messages = samples.map((s, i) => {
  const deviceId = deviceIds[i % DEVICES]!;
  return { deviceId, channel: 'samples' as const, topic: `edgeloop/v1/devices/${deviceId}/samples`, payload: s.frame, qos: 1 as const };
});
console.log(`${SAMPLES} samples of ${samples[0]!.frame.byteLength} bytes from ${DEVICES} devices, ${CONCURRENCY} in flight`);

async function endToEnd(): Promise<void> {
  const database = openDatabase(join(dir, 'hub.db'));
  const addDevice = database.sqlite.prepare(
    "INSERT INTO devices (id, secret_hash, created_at, created_by) VALUES (?, 'x', '2026-01-01', 'bench')",
  );
  for (const id of deviceIds) addDevice.run(id);
  const store = await FsObjectStore.open(join(dir, 'objects'));
  const metrics = createMetrics({ defaultMetrics: false });
  const log = createLogger('warn');
  let acked = 0;
  let ackMessages = 0;
  const config = { ...configFor(dir).ingest, maxQueuedSamples: Math.max(10_000, CONCURRENCY), stageMaxBytes: STAGE_MAX_BYTES };
  const ingest = createIngest({
    db: database,
    store,
    config,
    log,
    metrics,
    publish: async (_topic, payload) => {
      const ack = decodeJson('ack', payload);
      if (!ack.ok) throw ack.error;
      acked += ack.value.accepted.length;
      ackMessages++;
    },
  });
  const spiller = new BlobSpiller({ db: database, store, log, metrics, concurrency: SPILL_CONCURRENCY });
  if (SPILL_DURING) spiller.start();
  let next = 0;
  let failed = 0;
  const session = PROFILE ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const started = performance.now();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const mainCpu = mainThreadCpuUs();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < messages.length) {
        const m = messages[next++]!;
        await ingest.handle(m).catch(() => failed++);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const busy = performance.eventLoopUtilization(elu);
  const cpuUsed = process.cpuUsage(cpu);
  const mainCpuUsed = mainThreadCpuUs() - mainCpu;
  if (session && PROFILE) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(PROFILE, JSON.stringify(profile));
    printHeaviest(profile);
    session.disconnect();
  }
  await ingest.drain();
  const backlog = spiller.backlog();
  await spiller.stop();
  const spillSession = PROFILE_SPILL ? new Session() : undefined;
  if (spillSession) {
    spillSession.connect();
    await spillSession.post('Profiler.enable');
    await spillSession.post('Profiler.start');
  }
  const spillStart = performance.now();
  const spillCpu = mainThreadCpuUs();
  const spilled = await spiller.flush();
  const spillMs = performance.now() - spillStart;
  const spillCpuPerBlob = (mainThreadCpuUs() - spillCpu) / Math.max(spilled, 1);
  if (spillSession && PROFILE_SPILL) {
    const { profile } = await spillSession.post('Profiler.stop');
    writeFileSync(PROFILE_SPILL, JSON.stringify(profile));
    printHeaviest(profile);
    spillSession.disconnect();
  }
  const rows = database.sqlite.prepare('SELECT count(*) FROM samples').pluck().get() as number;
  let objects = 0;
  for await (const _ of store.list('samples/')) objects++;
  const commits = (await metrics.commitBatch.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
  console.log(
    `end to end: ${((SAMPLES / elapsed) * 1000).toFixed(0)} samples/s (${((elapsed * 1000) / SAMPLES).toFixed(1)} µs/sample); ` +
      `acked ${acked} in ${ackMessages} acks, failed ${failed}, rows ${rows}, ${commits} commits (${(rows / commits).toFixed(1)} rows each)`,
  );
  console.log(
    `main thread CPU ${(mainCpuUsed / SAMPLES).toFixed(1)} µs/sample; process CPU ${((cpuUsed.user + cpuUsed.system) / SAMPLES).toFixed(1)} ` +
      `µs/sample (all threads); event loop busy ${((busy.active * 1000) / SAMPLES).toFixed(1)} µs/sample (${(busy.utilization * 100).toFixed(0)}%)`,
  );
  console.log(
    `spill after drain: ${backlog} staged, ${spilled} moved in ${spillMs.toFixed(0)} ms ` +
      `(${((spilled / Math.max(spillMs, 1)) * 1000).toFixed(0)}/s, main thread CPU ${spillCpuPerBlob.toFixed(1)} µs/blob); objects in store ${objects}`,
  );
  if (acked !== SAMPLES || rows !== SAMPLES || objects !== SAMPLES) {
    console.error('MISMATCH: every sample must be acked once, stored once and be in the object store');
    process.exitCode = 1;
  }
  database.close();
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** The functions with the most self time in a V8 CPU profile, as a share of all samples. */
function printHeaviest(profile: { nodes: ProfileNode[] }): void {
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + (node.hitCount ?? 0));
    total += node.hitCount ?? 0;
  }
  console.log('heaviest functions by self time:');
  for (const [name, hits] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${((hits / total) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
}

/**
 * CPU time of the main thread alone, in µs (Linux: /proc, in 10 ms ticks), or NaN elsewhere. Unlike
 * wall time and event-loop utilization, it does not grow when other processes take the cores.
 */
function mainThreadCpuUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

/** Mean µs per call of `fn` over `n` calls (awaited one at a time, or `parallel` at a time). */
/** Wall time and CPU time (this process, all threads) per call, in µs. */
async function cost(n: number, fn: (i: number) => unknown, parallel = 1): Promise<[wall: string, cpu: string]> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < n; i += parallel) {
    const batch: unknown[] = [];
    for (let j = i; j < Math.min(n, i + parallel); j++) batch.push(fn(j));
    await Promise.all(batch);
  }
  const cpu = process.cpuUsage(cpuBefore);
  return [(((performance.now() - started) * 1000) / n).toFixed(1), ((cpu.user + cpu.system) / n).toFixed(1)];
}

async function stages(): Promise<void> {
  const n = Math.min(SAMPLES, 4000);
  const decoded = messages.slice(0, n).map((m) => {
    const d = decodeSampleFrame(m.payload);
    if (!d.ok) throw d.error;
    return d.value;
  });
  const limits = configFor(dir).ingest;
  const store = await FsObjectStore.open(join(dir, 'stage-objects'));
  const rows: Array<[string, [string, string]]> = [
    ['decodeSampleFrame (JSON + zod)', await cost(n, (i) => decodeSampleFrame(messages[i]!.payload))],
    ['verifySampleId (WebCrypto)', await cost(n, (i) => verifySampleId(decoded[i]!))],
    ['node:crypto createHash sha256', await cost(n, (i) => createHash('sha256').update(decoded[i]!.image.bytes).digest('hex'))],
    ['node:crypto hash sha256 (one-shot)', await cost(n, (i) => hash('sha256', decoded[i]!.image.bytes, 'hex'))],
    ['checkImage', await cost(n, (i) => checkImage(decoded[i]!.image.bytes, decoded[i]!.image, limits))],
    ['FsObjectStore.put, 1 at a time', await cost(200, (i) => store.put(`a/${i}`, decoded[i]!.image.bytes))],
    ['FsObjectStore.put, 64 at a time', await cost(1000, (i) => store.put(`b/${i}`, decoded[i]!.image.bytes), 64)],
  ];
  // Group commits of 250 rows with their blobs staged, one after another: wall time per row,
  // the COMMIT's fsync (synchronous=FULL) included, though it is spent on the writer thread.
  const commitDb = openDatabase(join(dir, 'stage.db'));
  const commit = createGroupCommit({
    sqlite: commitDb.sqlite,
    config: { groupCommitMaxItems: 250, groupCommitMaxDelayMs: 1000, maxQueuedSamples: 1e6 },
  });
  const commitRows = decoded.map((d) => {
    const row = rowOf(d, sampleObjectKey(d.sampleId), new Date().toISOString());
    row.staged = Buffer.from(d.image.bytes);
    return row;
  });
  // The first group starts the writer thread (tens of ms): it is not timed.
  await Promise.all(commitRows.slice(0, 250).map((r) => commit.enqueue(r)));
  const perRow = await cost(n - (n % 250) - 250, (i) => commit.enqueue(commitRows[i + 250]!), 250);
  rows.push(['group commit (writer thread), 250 rows', perRow]);
  commitDb.close();
  // The same rows inserted on this thread, 250 to a FULL transaction, with no handoff: the floor
  // of what storing a sample in SQLite costs, whichever thread does it.
  const directDb = openDatabase(join(dir, 'direct.db'));
  const insertSample = directDb.sqlite.prepare(INSERT_SAMPLE);
  const insertBlob = directDb.sqlite.prepare('INSERT INTO sample_blobs (sample_id, bytes, staged_at) VALUES (?, ?, ?)');
  const insertGroup = directDb.sqlite.transaction((from: number) => {
    for (let i = from; i < from + 250; i++) {
      const { params, staged } = writerRowOf(commitRows[i]!);
      insertSample.run(params);
      insertBlob.run(params[0], staged, params[2]);
    }
  });
  const direct = await cost((n - (n % 250)) / 250, (g) => insertGroup.immediate(g * 250));
  rows.push(['SQLite insert, same rows, this thread', direct.map((us) => (Number(us) / 250).toFixed(1)) as [string, string]]);
  directDb.close();
  // CPU can exceed wall time where other threads work (the writer, libuv's pool for puts).
  console.log('stage costs (µs per sample):                wall      CPU');
  for (const [name, [wall, cpu]] of rows) console.log(`  ${name.padEnd(36)} ${wall.padStart(8)} ${cpu.padStart(8)}`);
}

try {
  await endToEnd();
  if (STAGES) await stages();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
