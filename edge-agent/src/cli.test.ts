import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mnistPngs, writeMnistModel } from '../test/model-fixture.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'edge-agent/src/cli.ts');

function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--conditions=@edgeloop/source', '--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

let root: string;
let modelDir: string;
let files: string[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'agent-cli-'));
  modelDir = join(root, 'model');
  await writeMnistModel(modelDir, { name: 'digits', version: 7 });
  const pngs = await mnistPngs(2);
  files = pngs.map((_, i) => join(root, `digit-${i}.png`));
  for (const [i, p] of pngs.entries()) writeFileSync(files[i]!, p.bytes);
  writeFileSync(join(root, 'notes.txt'), 'not an image');
});

describe('edgeloop-agent classify', () => {
  it('prints one JSON line per file, errors with codes, exit 1 when any failed', async () => {
    const r = await runCli([
      'classify',
      '--model-dir',
      modelDir,
      '--top-k',
      '3',
      ...files,
      join(root, 'notes.txt'),
      join(root, 'missing.png'),
    ]);
    expect(r.code).toBe(1);
    const out = lines(r.stdout);
    expect(out).toHaveLength(4);
    expect(out[0]).toMatchObject({ file: files[0], model: { name: 'digits', version: 7 } });
    expect(out[0]!.topK).toHaveLength(3);
    expect(out[0]!.probabilities).toBeUndefined();
    expect(out[2]).toMatchObject({ file: join(root, 'notes.txt'), error: { code: 'UNSUPPORTED_FORMAT' } });
    expect(out[3]).toMatchObject({ error: { code: 'BAD_ARGUMENT' } });
  });

  it('uses the installed current model, and takes settings from the environment below flags', async () => {
    const stateDir = join(root, 'state');
    mkdirSync(join(stateDir, 'models', 'digits'), { recursive: true });
    cpSync(modelDir, join(stateDir, 'models', 'digits', '7'), { recursive: true });
    writeFileSync(join(stateDir, 'models', 'digits', 'current'), '{"v":1,"current":7,"highest":7}\n');
    const env = { EDGELOOP_AGENT_STATE_DIR: stateDir, EDGELOOP_AGENT_MODEL: 'digits', EDGELOOP_AGENT_TOP_K: '2' };
    const viaEnv = await runCli(['classify', files[0]!], env);
    expect(viaEnv.code).toBe(0);
    expect(lines(viaEnv.stdout)[0]!.topK).toHaveLength(2);
    const viaFlag = await runCli(['classify', '--top-k', '4', files[0]!], env);
    expect(lines(viaFlag.stdout)[0]!.topK).toHaveLength(4);
  });

  it('explains a missing model, a bad setting and an unknown option', async () => {
    const none = await runCli(['classify', '--state-dir', join(root, 'empty'), files[0]!]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/NO_MODEL: no model: pass --model-dir/);
    const bad = await runCli(['classify', '--model-dir', modelDir, files[0]!], { EDGELOOP_AGENT_HTTP_PORT: 'x' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/EDGELOOP_AGENT_HTTP_PORT must be an integer/);
    const unknown = await runCli(['classify', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/usage: edgeloop-agent/);
  });
});

describe('edgeloop-agent run and status', () => {
  it('serves the local API, answers status, and stops gracefully on SIGTERM', async () => {
    const stateDir = join(root, 'daemon-state');
    const daemon = spawnCli(['run', '--model-dir', modelDir, '--state-dir', stateDir, '--http-port', '0', '--update-interval-s', '0']);
    let stderr = '';
    const started = new Promise<string>((resolve, reject) => {
      daemon.stderr!.on('data', (d) => {
        stderr += d;
        for (const line of stderr.split('\n')) {
          if (line.includes('"agent started"')) resolve((JSON.parse(line) as { http: string }).http);
        }
      });
      daemon.on('exit', () => reject(new Error(`daemon exited early: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => daemon.on('exit', (code) => resolve(code)));
    const url = await started;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const res = await fetch(`${url}/classify`, { method: 'POST', body: (await mnistPngs(1))[0]!.bytes });
    expect(res.status).toBe(200);
    const online = await runCli(['status', '--http-url', url]);
    const seen = lines(online.stdout)[0] as { outbox: { count: number } };
    expect(seen).toMatchObject({ source: 'daemon', model: { name: 'digits', version: 7 }, modelSource: 'pinned' });

    daemon.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('"agent stopped"');

    const offline = await runCli(['status', '--state-dir', stateDir, '--http-url', url, '--model-dir', modelDir]);
    expect(lines(offline.stdout)[0]).toMatchObject({
      source: 'offline',
      model: { name: 'digits', version: 7 },
      outbox: { count: seen.outbox.count },
    });
  });
});
