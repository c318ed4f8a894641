/**
 * The fleet simulator: N real edge agents in this process, each with its own state directory and
 * device credentials (issued through the hub's admin API), its own seeded digit stream, and a
 * shift of the input distribution after `shiftAfter` images. It knows the true label of every image
 * it sends (by sample id), which is what the labelling oracle and the accuracy figures rest on.
 */
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Agent, installedModelDir, loadClassifier } from '@edgeloop/edge-agent';
import { repositoryPathFor } from '@edgeloop/hub';
import type { SamplingConfigInput } from '@edgeloop/protocol';
import { DigitStream } from './digit-stream.js';
import { LoadtestsError } from './errors.js';
import { FleetLedger, type FleetStats } from './fleet-stats.js';
import { fetchInitialRoot, HubRequestError, hubClient } from './hub-client.js';
import { type Digit, digitPng, mnistDigits, type Shift, seededRng } from './shifts.js';
import { drive, refreshStatus, startSimAgent } from './sim-agent.js';

export interface FleetOptions {
  /** The hub's HTTP base URL (admin API and the TUF repositories). */
  hubUrl: string;
  /** The hub's broker, e.g. `mqtt://127.0.0.1:1883`. */
  mqttUrl: string;
  adminToken: string;
  agents: number;
  /** The model name every agent runs and follows. */
  model: string;
  /** Agents' state directories go below it, one per device id. */
  workDir: string;
  seed: number;
  shift: Shift;
  /** Images per agent before the shift. */
  shiftAfter: number;
  /** Images per second, per agent. */
  ratePerAgent: number;
  /** Default: margin sampling (score ≥ 0.5) with a 2% random audit; budgets never limit it. */
  sampling?: SamplingConfigInput;
  /** How often each agent checks the TUF repository (besides the MQTT hint). Default 5 s. */
  updateCheckMs?: number;
  /** Installed in every agent before it starts (it still follows updates); default: none, wait for the first release. */
  initialModelDir?: string;
  log?: (line: string) => void;
  /** The digits drawn from; default {@link mnistDigits}(). */
  digits?: readonly Digit[];
  /** Device ids are `<prefix>-<n>`; default `sim`. */
  deviceIdPrefix?: string;
  /** The hub's canary cohort (its `pipeline.rollout`), to provision each device with its track's repository. Default 0: all stable. */
  canaryPercent?: number;
  cohortSalt?: string;
  /** Agents' telemetry window, seconds. Default 5. */
  telemetryIntervalS?: number;
  /** The agents' own log level (pino, to stderr). Default `error`. */
  agentLogLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface Fleet {
  /** Starts streaming images (the agents themselves are already running). */
  start(): Promise<void>;
  /** Stops streaming, then stops every agent gracefully (last telemetry sent, state closed). */
  stop(): Promise<void>;
  stats(): FleetStats;
  /** Each agent's serving model version, in agent order; 0 where none is installed yet. */
  versions(): number[];
  /** The true label of an image the simulator sent, by sample id. */
  truthOf(sampleId: string): string | undefined;
  /** Accuracy of one agent's current model (default agent 0) on `digits` with `shift` applied (seeded: the same images every call); no sample is sent. */
  accuracyOn(digits: readonly Digit[], shift: Shift, options?: { agent?: number }): Promise<number>;
  /** Checks every agent for an update now; resolves when all checks are done. */
  checkForUpdates(): Promise<void>;
  readonly agents: readonly Agent[];
  readonly deviceIds: readonly string[];
}

const DEFAULT_SAMPLING: SamplingConfigInput = { strategy: { strategy: 'margin', threshold: 0.5, floor: 0 }, auditRate: 0.02 };

/** Provisions and starts the agents; call `start()` to stream. */
export async function startFleet(o: FleetOptions): Promise<Fleet> {
  if (!(o.agents >= 1 && o.ratePerAgent > 0)) throw new LoadtestsError('BAD_ARGUMENT', 'a fleet needs agents ≥ 1 and ratePerAgent > 0');
  const log = o.log ?? (() => {});
  const hub = hubClient({ hubUrl: o.hubUrl, adminToken: o.adminToken, actor: 'fleet-simulator' });
  const digits = o.digits ?? mnistDigits();
  const prefix = o.deviceIdPrefix ?? 'sim';
  const deviceIds = Array.from({ length: o.agents }, (_, i) => `${prefix}-${i}`);
  const ledger = new FleetLedger(deviceIds);
  const base = `${o.hubUrl.replace(/\/+$/, '')}`;
  const roots = new Map<string, Promise<Uint8Array>>();
  await mkdir(o.workDir, { recursive: true });

  const agents: Agent[] = [];
  const stopAgents = () => Promise.all(agents.map((a) => a.stop()));
  try {
    for (const [index, deviceId] of deviceIds.entries()) {
      const { secret } = await issue(hub, deviceId);
      const repositoryUrl = `${base}${repositoryPathFor(deviceId, o.canaryPercent ?? 0, o.cohortSalt ?? '')}`;
      if (!roots.has(repositoryUrl)) roots.set(repositoryUrl, fetchInitialRoot(repositoryUrl));
      agents.push(
        await startSimAgent({
          index,
          deviceId,
          secret,
          mqttUrl: o.mqttUrl,
          hubUrl: o.hubUrl,
          repositoryUrl,
          trustedRoot: await roots.get(repositoryUrl)!,
          model: o.model,
          workDir: o.workDir,
          sampling: o.sampling ?? DEFAULT_SAMPLING,
          telemetryIntervalS: o.telemetryIntervalS ?? 5,
          logLevel: o.agentLogLevel ?? 'error',
          ...(o.initialModelDir ? { initialModelDir: o.initialModelDir } : {}),
        }),
      );
    }
  } catch (e) {
    await stopAgents();
    throw e;
  }
  log(
    `fleet: ${agents.length} agents started (${deviceIds[0]}..${deviceIds.at(-1)}), model ${o.model}, shift "${o.shift.name}" after ${o.shiftAfter} images`,
  );

  // One check per agent at a time; stop() waits for those in flight.
  const checking = new Map<number, Promise<void>>();
  const check = (i: number): Promise<void> => {
    const running = checking.get(i);
    if (running) return running;
    const done = (async () => {
      // A failed check (hub restarting, repository not there yet) is retried on the next tick.
      await agents[i]!.checkForUpdate().catch(() => undefined);
      await refreshStatus(agents[i]!, i, ledger).catch(() => undefined);
    })().finally(() => checking.delete(i));
    checking.set(i, done);
    return done;
  };
  const checkForUpdates = async () => {
    await Promise.all(agents.map((_, i) => check(i)));
  };
  await checkForUpdates(); // at boot: a device without a model gets the first release

  const abort = new AbortController();
  const loops: Promise<void>[] = [];
  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  return {
    agents,
    deviceIds,
    async start() {
      if (loops.length > 0 || abort.signal.aborted) return;
      for (const [i, agent] of agents.entries()) {
        const stream = new DigitStream(digits, o.shift, o.shiftAfter, (o.seed * 7919 + i * 104_729) >>> 0);
        loops.push(
          drive(agent, i, stream, ledger, o.ratePerAgent, abort.signal).catch((e) => log(`fleet: ${deviceIds[i]} stopped streaming: ${e}`)),
        );
      }
      timer = setInterval(() => void checkForUpdates(), o.updateCheckMs ?? 5000);
    },
    stop() {
      stopping ??= (async () => {
        abort.abort();
        clearInterval(timer);
        await Promise.all(loops);
        await Promise.all(checking.values());
        // Final counts, so stats() after stop() add up exactly.
        await Promise.all(agents.map((a, i) => refreshStatus(a, i, ledger).catch(() => undefined)));
        await stopAgents();
        log('fleet: stopped');
      })();
      return stopping;
    },
    stats: () => ledger.snapshot(),
    versions: () => ledger.agents.map((a) => a.modelVersion),
    truthOf: (sampleId) => ledger.truthOf(sampleId),
    accuracyOn: (set, shift, options = {}) => accuracyOn(agents[options.agent ?? 0]!, set, shift, o.seed),
    checkForUpdates,
  };
}

/**
 * Issues credentials; a device left over from an earlier run is revoked and issued again. A 5xx
 * (the hub's SQLite busy under a fleet's reconnect storm) is retried a few times.
 */
async function issue(hub: ReturnType<typeof hubClient>, deviceId: string): Promise<{ secret: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await hub.createDevice(deviceId);
    } catch (e) {
      if (e instanceof HubRequestError && e.status === 409 && attempt < 4) {
        await retrying(() => hub.request('POST', `/devices/${deviceId}/revoke`));
        continue;
      }
      if (!(e instanceof HubRequestError && e.status >= 500 && attempt < 4)) throw e;
      await sleep(200 * attempt);
    }
  }
}

async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (!(e instanceof HubRequestError && e.status >= 500 && attempt < 4)) throw e;
      await sleep(200 * attempt);
    }
  }
}

/** Classifies a shifted evaluation set on a second session of the agent's current model. */
async function accuracyOn(agent: Agent, digits: readonly Digit[], shift: Shift, seed: number): Promise<number> {
  const dir = await installedModelDir(agent.config);
  if (!dir) throw new LoadtestsError('AGENT_FAILED', `${agent.config.deviceId} has no model installed yet`);
  const classifier = await loadClassifier(dir);
  try {
    const rng = seededRng(seed ^ 0x2545f491);
    let correct = 0;
    for (const d of digits) {
      const result = await classifier.classify(await digitPng(shift.apply(d.pixels, rng)));
      if (result.label === d.label) correct++;
    }
    return digits.length > 0 ? correct / digits.length : 0;
  } finally {
    await classifier.release();
  }
}
