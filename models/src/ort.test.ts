import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxGraph } from './export/onnx-graph.js';

// ONNX Runtime ≥ 1.29 on Linux writes a device id and an event cache for its telemetry under
// $HOME/.cache/Microsoft. Each case runs one session in a child process with its own HOME.
const TELEMETRY_DIR = join('.cache', 'Microsoft');
const CI_MARKERS = [
  'CI',
  'TF_BUILD',
  'GITHUB_ACTIONS',
  'GITLAB_CI',
  'CIRCLECI',
  'TRAVIS',
  'JENKINS_URL',
  'CODEBUILD_BUILD_ID',
  'BUILDKITE',
  'TEAMCITY_VERSION',
  'APPVEYOR',
  'BITBUCKET_BUILD_NUMBER',
  'ORT_RUNNING_UNIT_TESTS',
];
let work: string;
let modelPath: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'edgeloop-ort-'));
  const g = new OnnxGraph();
  g.node('Relu', ['x'], {}, 'y');
  modelPath = join(work, 'relu.onnx');
  await writeFile(
    modelPath,
    g.encode({
      graphName: 'relu',
      input: { name: 'x', shape: ['batch', 4] },
      output: { name: 'y', shape: ['batch', 4] },
      producerVersion: 'test',
    }),
  );
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** Runs one inference in a child whose HOME is a fresh folder; returns that folder and the output. */
async function runSession(importLine: string, env: Record<string, string> = {}) {
  const home = await mkdtemp(join(work, 'home-'));
  const script = `${importLine}
const s = await ort.InferenceSession.create(${JSON.stringify(modelPath)});
const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([-1, 2, -3, 4]), [1, 4]) });
console.log(JSON.stringify(Array.from(out.y.data)));`;
  // ONNX Runtime also stays quiet under CI (it looks for these variables): the child runs without
  // them, as a device would.
  const parentEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !CI_MARKERS.includes(k) && k !== 'ORT_DISABLE_TELEMETRY'),
  );
  const child = spawnSync(process.execPath, ['--conditions=@edgeloop/source', '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...parentEnv, HOME: home, XDG_CACHE_HOME: join(home, '.cache'), ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(child.status, child.stderr).toBe(0);
  expect(JSON.parse(child.stdout.trim().split('\n').at(-1)!)).toEqual([0, 2, 0, 4]);
  return home;
}

describe('@edgeloop/models/ort', () => {
  it('runs models with ONNX Runtime telemetry off: no device id, no event cache', async () => {
    const home = await runSession(`import { ort } from '@edgeloop/models/ort';`);
    expect(existsSync(join(home, TELEMETRY_DIR))).toBe(false);
  });

  it('leaves an explicit ORT_DISABLE_TELEMETRY alone', async () => {
    const home = await runSession(`import { ort } from '@edgeloop/models/ort';`, { ORT_DISABLE_TELEMETRY: '0' });
    expect(existsSync(join(home, TELEMETRY_DIR))).toBe(true);
  });

  it('guards against something real: onnxruntime-node imported directly writes its telemetry files', async () => {
    const home = await runSession(`import * as ort from 'onnxruntime-node';`);
    expect(existsSync(join(home, TELEMETRY_DIR, 'DeveloperTools', '.onnxruntime', 'deviceid'))).toBe(true);
  });
});
