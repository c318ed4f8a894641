/**
 * THE LABELLING ORACLE IS A SIMULATION. It stands in for the person who labels the hub's queue:
 * it pulls the labelling queue through the admin API and labels each queued sample with its
 * ground truth (which only the simulator knows), at a configured rate and up to a budget. Every
 * place it shows says so: its log lines start with {@link ORACLE_TAG}, and the hub records its
 * labels under the actor {@link ORACLE_ACTOR}.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HubRequestError, hubClient } from './hub-client.js';

export const ORACLE_TAG = '[simulation: labelling oracle]';
export const ORACLE_ACTOR = 'simulation-oracle';

export interface OracleOptions {
  hubUrl: string;
  adminToken: string;
  /** The true label of a sample, or undefined for one the simulator did not send (left alone). */
  truthOf: (sampleId: string) => string | undefined;
  /** Labels per second. */
  ratePerSecond: number;
  /** Stop labelling after this many labels; default: no limit. */
  budget?: number;
  log?: (line: string) => void;
  /** Pause when the queue holds nothing it can label. Default 500 ms. */
  idleMs?: number;
}

export interface Oracle {
  stop(): Promise<void>;
  /** Labels written so far. */
  labelled(): number;
}

interface QueuePage {
  items: { sampleId: string }[];
  nextCursor?: string;
  depth: number;
}

const PAGE = 100;

/** Starts labelling at once; `stop()` ends it after the label in flight. */
export function startOracle(o: OracleOptions): Oracle {
  const log = (line: string) => o.log?.(`${ORACLE_TAG} ${line}`);
  const hub = hubClient({ hubUrl: o.hubUrl, adminToken: o.adminToken, actor: ORACLE_ACTOR });
  const abort = new AbortController();
  const { signal } = abort;
  const budget = o.budget ?? Number.POSITIVE_INFINITY;
  const period = 1000 / o.ratePerSecond;
  let count = 0;
  let due = performance.now();

  const pause = (ms: number) => sleep(ms, undefined, { signal }).catch(() => undefined);
  /** Labels one sample with its truth at the configured pace; false when the hub refused (already labelled, gone). */
  const label = async (sampleId: string, truth: string): Promise<boolean> => {
    const wait = due - performance.now();
    if (wait > 0) await pause(wait);
    if (signal.aborted) return false;
    due = Math.max(due + period, performance.now());
    try {
      await hub.request('POST', `/labelling/${sampleId}/correct`, { label: truth });
      count++;
      if (count % 50 === 0) log(`${count} labels written (ground truth, not a person)`);
      return true;
    } catch (e) {
      if (e instanceof HubRequestError && (e.status === 404 || e.status === 409)) return false;
      throw e;
    }
  };

  const run = async () => {
    log(
      `started: labels the hub's queue with the simulator's ground truth at ${o.ratePerSecond}/s${o.budget === undefined ? '' : `, budget ${o.budget}`}`,
    );
    while (!signal.aborted && count < budget) {
      let cursor: string | undefined;
      let progressed = false;
      // One pass over the queue, page by page; samples it does not know stay pending for a person.
      do {
        const page = await hub.request<QueuePage>(
          'GET',
          `/labelling/queue?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        for (const item of page.items) {
          if (signal.aborted || count >= budget) break;
          const truth = o.truthOf(item.sampleId);
          if (truth !== undefined && (await label(item.sampleId, truth))) progressed = true;
        }
        cursor = page.nextCursor;
      } while (cursor && !signal.aborted && count < budget);
      if (!progressed) await pause(o.idleMs ?? 500);
    }
    if (count >= budget) log(`budget of ${o.budget} labels used; stopped labelling`);
  };
  const running = (async () => {
    while (!signal.aborted && count < budget) {
      try {
        await run();
      } catch (e) {
        log(`hub request failed (${e instanceof Error ? e.message : String(e)}); retrying`);
        await pause(2000);
      }
    }
  })();

  return {
    labelled: () => count,
    async stop() {
      abort.abort();
      await running;
      log(`stopped after ${count} labels`);
    },
  };
}
