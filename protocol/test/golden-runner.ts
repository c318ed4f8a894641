/**
 * Runs the golden vectors against this implementation. The same module runs under Node (vitest)
 * and, bundled by esbuild, inside Chromium, so both runtimes are held to the same expectations.
 */

import {
  announceTopic,
  bytesEqual,
  confidenceBucket,
  type DeviceChannel,
  decodeSampleFrame,
  deviceMayPublish,
  deviceMaySubscribe,
  deviceTopic,
  entropyScore,
  evaluateStrategy,
  fromHex,
  isDeviceId,
  leastConfidenceScore,
  marginScore,
  mulberry32,
  SamplingConfigSchema,
  sha256Hex,
  verifySampleId,
} from '../src/index.js';
import frames from '../vectors/frames.json' with { type: 'json' };
import rngVectors from '../vectors/rng.json' with { type: 'json' };
import sampling from '../vectors/sampling.json' with { type: 'json' };
import telemetry from '../vectors/telemetry.json' with { type: 'json' };
import topics from '../vectors/topics.json' with { type: 'json' };

export interface GoldenReport {
  checks: number;
  failures: string[];
}

/** Runs every vector file; returns how many checks ran and a line per failure. */
export async function runGoldenVectors(): Promise<GoldenReport> {
  const failures: string[] = [];
  let checks = 0;
  const check = (ok: boolean, what: string) => {
    checks++;
    if (!ok) failures.push(what);
  };
  const close = (a: number, b: number, tol: number) => Math.abs(a - b) <= tol;

  for (const c of rngVectors.cases) {
    const r = mulberry32(c.seed);
    for (const [i, x] of c.outputs.entries()) check(r() === x, `rng seed ${c.seed} output ${i}`);
  }
  for (const s of sampling.scores) {
    check(close(leastConfidenceScore(s.probabilities), s.least_confidence, 1e-12), `least_confidence ${s.probabilities}`);
    check(close(marginScore(s.probabilities), s.margin, 1e-12), `margin ${s.probabilities}`);
    check(close(entropyScore(s.probabilities), s.entropy, 1e-12), `entropy ${s.probabilities}`);
  }
  for (const d of sampling.decisions) {
    const config = SamplingConfigSchema.parse(d.config);
    const out = evaluateStrategy(d.probabilities, config.strategy);
    const pi = 1 - (1 - out.probability) * (1 - config.auditRate);
    check(close(out.score, d.score, 1e-12), `decision score ${config.strategy.strategy} ${d.probabilities}`);
    check(close(pi, d.inclusionProbability, 1e-12), `inclusion ${config.strategy.strategy} ${d.probabilities}`);
  }
  for (const v of frames.sha256) check((await sha256Hex(fromHex(v.hex))) === v.sha256, `sha256 of ${v.hex.slice(0, 16)}`);
  for (const v of frames.valid) {
    const r = decodeSampleFrame(fromHex(v.hex));
    check(r.ok && r.value.sampleId === v.sampleId && bytesEqual(r.value.image.bytes, fromHex(v.imageHex)), `frame ${v.name} decodes`);
    if (r.ok) check((await verifySampleId(r.value)).ok, `frame ${v.name} id verifies`);
  }
  for (const v of frames.invalid) {
    const r = decodeSampleFrame(fromHex(v.hex));
    check(!r.ok && r.error.code === v.code, `frame ${v.name} rejected with ${v.code}`);
    if (!r.ok && 'path' in v) check(r.error.path === v.path, `frame ${v.name} error path ${v.path} (got ${r.error.path})`);
  }
  for (const v of frames.idMismatch) {
    const r = decodeSampleFrame(fromHex(v.hex));
    const verified = r.ok ? await verifySampleId(r.value) : r;
    check(!verified.ok && verified.error.code === v.code, `frame ${v.name} rejected with ${v.code}`);
  }
  for (const id of topics.validDeviceIds) check(isDeviceId(id), `device id ${id} valid`);
  for (const id of topics.invalidDeviceIds) check(!isDeviceId(id), `device id ${JSON.stringify(id)} invalid`);
  for (const t of topics.deviceTopics) check(deviceTopic(t.deviceId, t.channel as DeviceChannel) === t.topic, `topic ${t.topic}`);
  for (const t of topics.announce) check(announceTopic(t.model) === t.topic, `topic ${t.topic}`);
  for (const a of topics.acl) {
    const got = a.op === 'publish' ? deviceMayPublish(a.deviceId, a.topic) : deviceMaySubscribe(a.deviceId, a.topic);
    check(got === a.allow, `acl ${a.deviceId} ${a.op} ${a.topic} -> ${a.allow}`);
  }
  for (const b of telemetry.buckets) check(confidenceBucket(b.confidence) === b.bucket, `bucket of ${b.confidence}`);
  return { checks, failures };
}
