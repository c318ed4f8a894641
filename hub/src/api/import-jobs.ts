/**
 * Dataset imports run as background jobs: a 10,000-image import takes longer than an HTTP client
 * or a proxy waits (MNIST at 999 per class measured over 30 s here), so `POST /datasets/import`
 * answers 202 with a job and the client polls it. One import runs at a time (a second is a
 * CONFLICT): imports are disk- and CPU-bound, and two at once would only slow ingest down.
 *
 * Jobs live in memory, the last few kept after they end. A hub that stops mid-import loses the
 * job, not data: every chunk commits after its blobs are stored, and a rerun skips what is there.
 */
import { randomUUID } from 'node:crypto';
import type { ImportReport, ImportSource, importDataset } from '../datasets/import.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import { problemOf } from './problem.js';

export interface ImportJob {
  id: string;
  status: 'running' | 'done' | 'failed';
  kind: ImportSource['kind'];
  actor: string;
  startedAt: string;
  finishedAt: string | null;
  /** `read` while the source is read and checked, then `store`. */
  phase: 'read' | 'store' | null;
  done: number;
  total: number;
  report: ImportReport | null;
  error: { code: string; message: string } | null;
}

type ImportDeps = Parameters<typeof importDataset>[0];

export class ImportJobs {
  private readonly jobs = new Map<string, ImportJob>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly importer: typeof importDataset,
    private readonly deps: Omit<ImportDeps, 'log'>,
    private readonly keep = 20,
  ) {}

  /** Starts an import; throws CONFLICT while another one runs. */
  start(source: ImportSource, actor: string, log: Logger): ImportJob {
    const busy = [...this.jobs.values()].find((j) => j.status === 'running');
    if (busy) throw new HubError('CONFLICT', `import ${busy.id} is still running`);
    const job: ImportJob = {
      id: randomUUID(),
      status: 'running',
      kind: source.kind,
      actor,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      phase: 'read',
      done: 0,
      total: 0,
      report: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    this.prune();
    const onProgress = (done: number, total: number, phase?: 'read' | 'store') =>
      Object.assign(job, { done, total, phase: phase ?? job.phase });
    const jobLog = log.child({ importJob: job.id });
    this.running = this.importer({ ...this.deps, log: jobLog }, source, { actor, onProgress }).then(
      (report) => {
        Object.assign(job, { status: 'done', report, phase: null, finishedAt: new Date().toISOString() });
      },
      (error: unknown) => {
        const { body, internal } = problemOf(error);
        if (internal) jobLog.error({ err: error }, 'import failed');
        else jobLog.warn({ err: error }, 'import refused');
        Object.assign(job, {
          status: 'failed',
          error: { code: body.code, message: body.message },
          phase: null,
          finishedAt: new Date().toISOString(),
        });
      },
    );
    return { ...job };
  }

  get(id: string): ImportJob | undefined {
    const job = this.jobs.get(id);
    return job ? { ...job } : undefined;
  }

  /** Jobs, newest first. */
  list(): ImportJob[] {
    return [...this.jobs.values()].reverse().map((j) => ({ ...j }));
  }

  /** Resolves when no import is running (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) {
      const current = this.running;
      await current;
      if (this.running === current) this.running = undefined;
    }
  }

  /** Forgets the oldest finished jobs beyond `keep`. */
  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.status !== 'running');
    for (const job of finished.slice(0, Math.max(0, finished.length - this.keep))) this.jobs.delete(job.id);
  }
}
