/**
 * kill -9 mid-update, 100 times (issue #5): a child process boots (recover), reports its current
 * model, starts an update; the test SIGKILLs it at a random moment (during start-up, recovery,
 * metadata refresh, the slowed-down download, install, self-test or swap) and starts it again.
 * After every boot the current model is the old or the new release and its files hash to the signed
 * targets: never a partial one. The worker is bundled with esbuild once, so a start costs no tsx.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addRelease, installedMatches, MODEL, TufRepository, TufServer } from './support/update-harness.js';

const KILLS = 100;
const MAX_ROUNDS = 250;
const here = dirname(fileURLToPath(import.meta.url));
const PAD = 48 * 1024; // model bytes, streamed slowly so kills land in the download too

async function bundleWorker(outDir: string): Promise<string> {
  const require = createRequire(join(here, '..', 'package.json'));
  const ort = require.resolve('onnxruntime-node');
  const outfile = join(outDir, 'update-worker.mjs');
  await build({
    entryPoints: [join(here, 'update-worker.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@edgeloop/source'],
    logLevel: 'silent',
    // The native addon stays outside the bundle, imported from where it is installed.
    plugins: [{ name: 'ort', setup: (b) => b.onResolve({ filter: /^onnxruntime-node$/ }, () => ({ path: ort, external: true })) }],
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}

interface Run {
  child: ChildProcess;
  lines: string[];
  exited: Promise<void>;
  waitFor(prefix: string): Promise<string | undefined>;
}

function start(worker: string, args: object): Run {
  const child = spawn(process.execPath, [worker, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: [string, (l: string | undefined) => void][] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of waiters.filter(([p]) => line.startsWith(p))) w[1](line);
    }
  });
  child.stderr?.on('data', () => {});
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  void exited.then(() => {
    for (const w of waiters) w[1](undefined);
  });
  return {
    child,
    lines,
    exited,
    waitFor: (prefix) => {
      const seen = lines.find((l) => l.startsWith(prefix));
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push([prefix, resolve]));
    },
  };
}

describe('kill -9 mid-update', () => {
  let repo: TufRepository;
  let server: TufServer;
  let dir: string;
  let worker: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeloop-update-kill-'));
    worker = await bundleWorker(dir);
    repo = new TufRepository();
    server = await TufServer.start(repo);
    server.fault = (p) => (p.endsWith('.model.onnx') ? { kind: 'slow', chunkBytes: 4096, delayMs: 8 } : undefined);
    await writeFile(join(dir, 'root.json'), repo.trustedRoot());
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(`boots on the old or the new model, fully verified, after ${KILLS} kills`, async () => {
    const args = {
      stateDir: join(dir, 'state'),
      modelsDir: join(dir, 'models'),
      repositoryUrl: server.url,
      rootFile: join(dir, 'root.json'),
    };
    let newest = 1;
    addRelease(repo, newest, { padBytes: PAD });
    repo.publish();
    let booted = 0; // the version the last boot reported (0: none yet)
    const stats = { killedBeforeBoot: 0, killedBeforeDownload: 0, killedDuringOrAfterDownload: 0, completed: 0 };
    let random = 0x2545f491;
    const next = () => {
      random = (Math.imul(random, 1103515245) + 12345) >>> 0;
      return random / 2 ** 32;
    };

    let kills = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const last = kills >= KILLS;
      const run = start(worker, args);
      const earlyKill = !last && next() < 0.1; // sometimes during start-up and recovery
      if (earlyKill) setTimeout(() => run.child.kill('SIGKILL'), 50 + next() * 250);
      const boot = await run.waitFor('BOOT ');
      if (boot) {
        const v = Number(boot.split(' ')[1]);
        // The invariant: old or new, never partial, and the files are the signed ones.
        expect([booted, newest]).toContain(v);
        if (v > 0) {
          expect(await installedMatches(repo, args.modelsDir, v)).toBe(true);
          const pointer = JSON.parse(await readFile(join(args.modelsDir, MODEL, 'current'), 'utf8'));
          expect(pointer.current).toBe(v);
        }
        booted = v;
        if (v === newest) {
          addRelease(repo, ++newest, { padBytes: PAD }); // always something to update to
          repo.publish();
        }
      }
      if (last) {
        await run.exited; // the last run completes undisturbed
        expect(run.lines.at(-1)).toMatch(/^RESULT updated /);
        break;
      }
      if (!earlyKill && boot) await new Promise((r) => setTimeout(r, next() * 300));
      run.child.kill('SIGKILL');
      await run.exited;
      const said = run.lines.at(-1) ?? '';
      // A run that finished before its kill found nothing broken by the kills before it.
      if (said.startsWith('RESULT')) expect(said).toMatch(/^RESULT (updated|up-to-date)/);
      if (said.startsWith('RESULT')) stats.completed++;
      else if (!boot) stats.killedBeforeBoot++;
      else if (said === 'DOWNLOADING') stats.killedDuringOrAfterDownload++;
      else stats.killedBeforeDownload++;
      if (!said.startsWith('RESULT')) kills++;
    }
    expect(kills).toBe(KILLS);
    console.log('kill -9 mid-update:', stats, `newest release v${newest}`);
    expect(stats.killedDuringOrAfterDownload).toBeGreaterThan(10);
    expect(stats.completed).toBeGreaterThan(0);
  });
});
