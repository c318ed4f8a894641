/**
 * `npm run bench:agent`: the whole edge agent with the MNIST CNN, as its own process (the built
 * `dist/cli.js`; tsx only if nothing was built), connected to a hub (a test double of the hub's
 * ingest: aedes plus SampleAcks) and following a TUF repository served on 127.0.0.1. The agent
 * installs v1 through a verified update at boot, as a fresh device would.
 * - images_per_s, p50_ms, p99_ms: `POST /classify` with real MNIST PNGs from a few concurrent
 *   clients; the default sampling, outbox and uplink run meanwhile.
 * - rss_mb: the daemon's peak resident set (VmHWM) after the load, launched as the README says
 *   (`MALLOC_ARENA_MAX=2 node --max-semi-space-size=1 --optimize-for-size`); `rss_mb_node_defaults`
 *   is the same run with plain `node`.
 * - update_swap_ms: announcement published → TUF refresh, download, hash checks, install,
 *   self-test, swap → the new version serving (seen through `/status`); the median of several.
 * Writes bench-results/agent.json.
 *
 * Environment: EDGELOOP_BENCH_REQUESTS (default 3000), EDGELOOP_BENCH_CLIENTS (default 4),
 * EDGELOOP_BENCH_UPDATES (default 5).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMnist } from '@edgeloop/models';
import { announceTopic, encodeJson, percentile } from '@edgeloop/protocol';
import { printTable, ROOT, writeResults } from '@edgeloop/tests/support/bench-report';
import sharp from 'sharp';
import { releasePaths } from '../src/updates/index.js';
import { HubDouble } from '../test/hub-double.js';
import { TufRepository, TufServer } from '../test/support/tuf-repo.js';
import { type Daemon, load, startDaemon, waitFor } from './daemon.js';
import { mnistModel } from './mnist-model.js';

const requests = Number(process.env.EDGELOOP_BENCH_REQUESTS ?? 3000);
const clients = Number(process.env.EDGELOOP_BENCH_CLIENTS ?? 4);
const updates = Number(process.env.EDGELOOP_BENCH_UPDATES ?? 5);
const RECOMMENDED = { flags: ['--max-semi-space-size=1', '--optimize-for-size'], env: { MALLOC_ARENA_MAX: '2' } };

const model = await mnistModel((line) => console.error(line));
const pngs = await Promise.all(
  loadMnist({ perClass: 30 }).items.map(
    async (d) =>
      new Uint8Array(
        await sharp(d.gray!.data, { raw: { width: 28, height: 28, channels: 1 } })
          .png()
          .toBuffer(),
      ),
  ),
);

// The daemon as deployed: the compiled CLI. tsc -b emits even when a file has a type error.
const build = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-b', 'edge-agent'], { cwd: ROOT, encoding: 'utf8' });
if (build.status !== 0) console.error(`notice: tsc -b edge-agent reported errors:\n${build.stdout}${build.stderr}`);
const built = existsSync(join(ROOT, 'edge-agent/dist/cli.js'));
const entry = built ? ['edge-agent/dist/cli.js'] : ['--conditions=@edgeloop/source', '--import', 'tsx', 'edge-agent/src/cli.ts'];

// The hub side: a broker that acks samples, and a TUF repository with v1 of the model.
const repo = new TufRepository();
const tuf = await TufServer.start(repo);
const release = (version: number) => {
  const manifest = { ...JSON.parse(model.manifestText), version, createdAt: new Date().toISOString() };
  const paths = releasePaths(model.name, version);
  repo.addTarget(paths.model, model.onnx);
  repo.addTarget(paths.manifest, new TextEncoder().encode(JSON.stringify(manifest)));
  repo.publish();
};
release(1);
const hub = await HubDouble.start(0, { 'bench-agent': 'bench-secret' });
const work = await mkdtemp(join(tmpdir(), 'edgeloop-agent-bench-'));
await writeFile(join(work, 'root.json'), repo.trustedRoot());

async function start(name: string, flags: string[], env: Record<string, string>): Promise<Daemon> {
  const args = ['--state-dir', join(work, name), '--model', model.name, '--http-port', '0', '--update-interval-s', '3600'];
  args.push('--repository-url', tuf.url, '--trusted-root', join(work, 'root.json'));
  args.push('--hub-mqtt-url', hub.url, '--device-id', 'bench-agent', '--secret', 'bench-secret');
  const d = await startDaemon(entry, flags, args, env);
  await waitFor(d, (s) => s.model !== null); // the boot check installs v1
  return d;
}

async function measure(d: Daemon) {
  const bootRss = await d.peakRssMb();
  await load(d.url, pngs, 200, clients); // warm-up
  const { latencies, seconds } = await load(d.url, pngs, requests, clients);
  const sorted = Float64Array.from(latencies).sort();
  const metrics = await (await fetch(`${d.url}/metrics`)).text();
  const mem = Object.fromEntries(
    [
      ...metrics.matchAll(
        /^edgeloop_agent_(nodejs_heap_size_total_bytes|nodejs_heap_size_used_bytes|nodejs_external_memory_bytes|process_resident_memory_bytes) (\S+)$/gm,
      ),
    ].map((m) => [m[1]!.replace(/_bytes$/, '_mb'), Math.round(Number(m[2]) / 1048576)]),
  );
  return {
    seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    bootRss,
    rss: await d.peakRssMb(),
    mem,
    status: await d.status(),
  };
}

const agent = await start('recommended', RECOMMENDED.flags, RECOMMENDED.env);
const main = await measure(agent);

// Updates, announced over MQTT (a hint): the agent verifies and swaps by itself.
const swaps: { observedMs: number; updater?: unknown }[] = [];
for (let v = 2; v < 2 + updates; v++) {
  release(v);
  const payload = encodeJson('announcement', {
    v: 1,
    model: model.name,
    version: v,
    timestampVersion: v,
    publishedAt: new Date().toISOString(),
  });
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) =>
    hub.broker.publish(
      { cmd: 'publish', topic: announceTopic(model.name), payload: Buffer.from(payload), qos: 1, retain: true, dup: false },
      (e) => (e ? reject(e) : resolve()),
    ),
  );
  await waitFor(agent, (s) => s.model?.version === v);
  const observedMs = performance.now() - t0;
  swaps.push({ observedMs, updater: ((await agent.status()).updates as { timings?: unknown } | null)?.timings });
}
const delivered = hub.stored.size;
const exitCode = await agent.stop();

const plain = await start('node-defaults', [], {});
const plainRun = await measure(plain);
await plain.stop();
await hub.close();
await tuf.close();
await rm(work, { recursive: true, force: true });

const median = (xs: number[]) => Float64Array.from(xs).sort()[Math.floor((xs.length - 1) / 2)]!;
const results = {
  images_per_s: requests / main.seconds,
  p50_ms: main.p50,
  p99_ms: main.p99,
  rss_mb: main.rss,
  update_swap_ms: median(swaps.map((s) => s.observedMs)),
  rss_mb_node_defaults: plainRun.rss,
};
const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
printTable(`edge agent, MNIST CNN (${requests} requests, ${clients} clients, ${built ? 'dist' : 'tsx'})`, [
  { metric: 'images_per_s', value: r(results.images_per_s, 1), note: 'POST /classify, PNG in, top-5 JSON out' },
  { metric: 'p50_ms', value: r(results.p50_ms), note: 'client-side latency' },
  { metric: 'p99_ms', value: r(results.p99_ms), note: 'client-side latency' },
  { metric: 'rss_mb', value: r(results.rss_mb, 1), note: `peak RSS, launched as the README says; goal ≤ 150` },
  { metric: 'rss_mb_node_defaults', value: r(results.rss_mb_node_defaults, 1), note: 'the same with plain `node`' },
  { metric: 'update_swap_ms', value: r(results.update_swap_ms), note: `median of ${updates}: announcement → verified → serving` },
]);
const file = writeResults('agent', {
  model: { name: model.name, accuracy: model.accuracy, onnxBytes: model.onnx.byteLength },
  launch: { runtime: built ? 'dist' : 'tsx', buildOk: build.status === 0, recommended: RECOMMENDED },
  peakRssAfterBootMb: { recommended: main.bootRss, nodeDefaults: plainRun.bootRss },
  memoryAfterLoad: { recommended: main.mem, nodeDefaults: plainRun.mem },
  load: { requests, clients, seconds: main.seconds, daemonExit: exitCode, samplesStoredByHub: delivered },
  results,
  updateSwaps: swaps,
  status: main.status,
  goals: { rss_mb: { goal: 150, met: results.rss_mb <= 150 } },
});
console.log(`\nwrote ${file}`);
