/**
 * Child process of `bench:rollout`: runs `count` simulated agents, each a real edge-agent
 * `ModelUpdater` (tuf-js refresh with signature, version and expiry checks, hash- and
 * length-capped downloads, staged install, atomic pointer swap) with its own state and models
 * directories. The only stand-in is the self-test: it checks the installed file's size instead of
 * loading the model in onnxruntime (a device-side CPU cost, not part of how fast a release
 * spreads). Agents poll every `pollMs` from a random phase; each reports to the parent over IPC
 * when it runs a new verified version.
 *
 * argv: <repositoryUrl> <rootFile> <baseDir> <firstIndex> <count> <pollMs> <model>
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelUpdater } from '@edgeloop/edge-agent';

const [url, rootFile, baseDir, firstArg, countArg, pollArg, model] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];
const first = Number(firstArg);
const count = Number(countArg);
const pollMs = Number(pollArg);
const root = new Uint8Array(await readFile(rootFile));
const send = (m: unknown) => process.send?.(m);

const agents = Array.from({ length: count }, (_, i) => {
  const id = `agent-${first + i}`;
  return {
    id,
    updater: new ModelUpdater({
      modelName: model,
      stateDir: join(baseDir, id, 'state'),
      modelsDir: join(baseDir, id, 'models'),
      repositoryUrl: url,
      trustedRoot: root,
      selfTest: async (dir) => {
        if ((await stat(join(dir, 'model.onnx'))).size === 0) throw new Error('empty model');
      },
      fetch: { timeoutMs: 60_000, stallTimeoutMs: 30_000 },
    }),
  };
});
for (const a of agents) await a.updater.recover();

let polling = false;
const rejected = new Map<string, number>();

async function check(a: (typeof agents)[number]): Promise<void> {
  const result = await a.updater.checkForUpdate();
  if (result.status === 'updated') send({ kind: 'updated', id: a.id, version: result.model.version, at: Date.now() });
  else if (result.status === 'rejected' && result.code !== 'UPDATE_NOT_FOUND')
    rejected.set(result.code, (rejected.get(result.code) ?? 0) + 1);
}

process.on('message', async (m: { kind: string }) => {
  if (m.kind === 'warm') {
    // Install the first release once, one agent at a time per slot, before the clock starts.
    const slots = 16;
    let next = 0;
    await Promise.all(
      Array.from({ length: slots }, async () => {
        while (next < agents.length) await check(agents[next++]!);
      }),
    );
    send({ kind: 'warm', versions: agents.map((a) => a.updater.currentModel()?.version ?? 0), rejected: Object.fromEntries(rejected) });
  } else if (m.kind === 'poll') {
    polling = true;
    for (const a of agents) {
      const loop = async () => {
        await new Promise((r) => setTimeout(r, Math.random() * pollMs));
        while (polling) {
          const started = Date.now();
          await check(a).catch((err) => rejected.set(String(err), (rejected.get(String(err)) ?? 0) + 1));
          await new Promise((r) => setTimeout(r, Math.max(0, pollMs - (Date.now() - started))));
        }
      };
      void loop();
    }
  } else if (m.kind === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ kind: 'cpu', cpuMs: (user + system) / 1000 });
  } else if (m.kind === 'stop') {
    polling = false;
    send({ kind: 'stopped', rejected: Object.fromEntries(rejected) });
    setTimeout(() => process.exit(0), 50);
  }
});
send({ kind: 'ready' });
