/**
 * One simulated device: the real edge agent (`startAgent`, in this process) fed by a
 * {@link DigitStream} at a fixed rate, with every outcome checked against the ground truth.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Agent, AgentError, agentMetrics, createLogger, loadConfig, startAgent } from '@edgeloop/edge-agent';
import { type SamplingConfigInput, sampleIdOf } from '@edgeloop/protocol';
import type { DigitStream, StreamImage } from './digit-stream.js';
import type { FleetLedger } from './fleet-stats.js';
import { preinstallModel } from './preinstall.js';

export interface SimAgentSpec {
  index: number;
  deviceId: string;
  secret: string;
  mqttUrl: string;
  hubUrl: string;
  repositoryUrl: string;
  trustedRoot: Uint8Array;
  model: string;
  workDir: string;
  sampling: SamplingConfigInput;
  telemetryIntervalS: number;
  initialModelDir?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Budgets no simulated run exhausts: the sampling strategy alone decides what is sent. */
const UNLIMITED = { capacity: 1e9, refillPerHour: 1e9 };

/** Starts the agent of `spec`, with its own state directory and credentials. */
export async function startSimAgent(spec: SimAgentSpec): Promise<Agent> {
  const stateDir = join(spec.workDir, spec.deviceId);
  const config = loadConfig({
    file: {
      deviceId: spec.deviceId,
      secret: spec.secret,
      hub: { mqttUrl: spec.mqttUrl, httpUrl: spec.hubUrl, repositoryUrl: spec.repositoryUrl },
      model: { name: spec.model },
      stateDir,
      http: { enabled: false },
      sampling: spec.sampling,
      budgets: { device: UNLIMITED, perClass: UNLIMITED },
      telemetry: { intervalS: spec.telemetryIntervalS, heartbeatS: Math.max(1, spec.telemetryIntervalS) },
      // The fleet checks for updates on its own timer (milliseconds, not the agent's seconds).
      updates: { checkIntervalS: 0 },
      log: { level: spec.logLevel },
    },
  });
  if (spec.initialModelDir) await preinstallModel(config.modelsDir, spec.model, spec.initialModelDir);
  return startAgent(config, {
    logger: createLogger(spec.logLevel),
    // Process metrics are per process: dozens of agents in one would each collect the same ones.
    metrics: agentMetrics({ processMetrics: false }),
    updater: { trustedRoot: spec.trustedRoot },
  });
}

/**
 * Classifies `stream` on `agent` at `ratePerSecond` until `signal` aborts. An image that finds no
 * model installed yet is retried on the next tick (it is not counted as classified), so
 * `shiftAfter` counts classifications. Falling behind (a slow machine) never bursts more than a
 * few images to catch up.
 */
export async function drive(
  agent: Agent,
  index: number,
  stream: DigitStream,
  ledger: FleetLedger,
  ratePerSecond: number,
  signal: AbortSignal,
): Promise<void> {
  const period = 1000 / ratePerSecond;
  const counts = ledger.agents[index]!;
  let due = performance.now();
  let pending: StreamImage | undefined;
  while (!signal.aborted) {
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) return;
    due = Math.max(due + period, performance.now() - 3 * period);
    if (!pending) {
      pending = await stream.next();
      // Recorded before it is sent: the oracle may see the sample before classify returns.
      ledger.remember(await sampleIdOf(pending.png), pending.digit.label);
    }
    try {
      const result = await agent.classify(pending.png);
      ledger.record(index, result.model.version, pending.shifted, result.label === pending.digit.label);
      pending = undefined;
    } catch (e) {
      if (e instanceof AgentError && e.code === 'NO_MODEL') counts.waiting++;
      else if (e instanceof AgentError && e.code === 'SHUTTING_DOWN') return;
      else {
        counts.errors++;
        pending = undefined;
      }
    }
  }
}

/** Refreshes the ledger's view of an agent's model version, sample counts and outbox. */
export async function refreshStatus(agent: Agent, index: number, ledger: FleetLedger): Promise<void> {
  const s = await agent.status();
  const a = ledger.agents[index]!;
  a.modelVersion = s.model?.version ?? 0;
  a.sampled = s.sampler.counts.selected;
  a.stored = s.sampler.counts.stored;
  if ('count' in s.outbox) a.outbox = s.outbox.count;
}
