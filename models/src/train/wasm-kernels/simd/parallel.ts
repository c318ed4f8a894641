/**
 * The SIMD kernels of kernels.wat on a shared WebAssembly memory, with the big products split
 * over worker threads.
 *
 * tfjs-backend-wasm runs on one thread in Node (its threaded build cannot start there), and its
 * heap is a plain memory that no other thread can see. So the convolution products copy their
 * operands into a memory of our own, shared with `threads − 1` worker threads that instantiate the
 * same module on it. Each call cuts its rows into chunks, which the calling thread and the
 * workers claim one at a time until none is left (so a worker that wakes late, or runs slowly while
 * its cache fetches what the calling thread just wrote, takes fewer), and returns when all are
 * done. It blocks the calling thread throughout (`Atomics.wait`), since a tfjs kernel must return
 * its result.
 *
 * The workers are plain JavaScript given as text (`eval: true`): under tsx, Node 20 runs no module
 * hooks in a worker, so a worker cannot load this package's TypeScript. They are unref'd, so they
 * never keep a process alive.
 *
 * Threads: `EDGELOOP_TRAIN_THREADS` (1 to 64), by default every core the process may use. The
 * figures behind it are in models/docs/wasm-kernels.md §7c.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { KERNELS_SHARED_WASM_BASE64 } from './binary.js';

const PAGE = 65_536;
/** The memory starts at 16 MiB and may grow to 2 GiB; a product that needs more is not run here. */
const INITIAL_PAGES = 256;
const MAXIMUM_PAGES = 32_768;
/** How long a call waits for a worker before it gives up: far longer than any product takes. */
const WORKER_TIMEOUT_MS = 120_000;

/** The exports of kernels.wat that parallel.ts splits. */
const SPLIT_KERNELS = ['convRows', 'gemmRows', 'poolRows', 'unpoolGrid'] as const;
type SplitKernel = (typeof SPLIT_KERNELS)[number];

/**
 * The job block shared by every thread: a ticket (the job's sequence number in the high 16 bits,
 * the next unclaimed chunk in the low 16), the count of chunks finished, a failure flag (the first
 * failed chunk + 1), the kernel, the chunk count, then each chunk's argument count and arguments.
 */
const TICKET = 0;
const FINISHED = 1;
const FAILED = 2;
const KERNEL = 3;
const COUNT = 4;
const TABLE = 5;
const MAX_ARGS = 16;
const ENTRY = 1 + MAX_ARGS;
/** A call is cut into at least this many chunks (more with many threads), which threads claim as they go. */
const MIN_CHUNKS = 16;
const MAX_CHUNKS = 256;
/** How long an idle worker spins before it sleeps, ms. */
const SPIN_MS = 20;

/**
 * A worker: wait for a new job, claim its chunks until none is left, count each one finished (the
 * thread that finishes the last wakes the caller), and wait again.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const kernels = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } }).exports;
const names = workerData.names;
const job = workerData.job;
let seen = 0;
for (;;) {
  // Spin a while before sleeping: a training step calls again within milliseconds, and waking a
  // sleeping thread (on a virtual machine, a halted vCPU) costs far more than that.
  const spinUntil = performance.now() + ${SPIN_MS};
  let ticket = Atomics.load(job, ${TICKET});
  while (ticket >>> 16 === seen && performance.now() < spinUntil) ticket = Atomics.load(job, ${TICKET});
  if (ticket >>> 16 === seen) {
    Atomics.wait(job, ${TICKET}, ticket);
    continue;
  }
  seen = ticket >>> 16;
  const kernel = kernels[names[job[${KERNEL}]]];
  const count = job[${COUNT}];
  for (;;) {
    const t = Atomics.load(job, ${TICKET});
    if (t >>> 16 !== seen || (t & 0xffff) >= count) break;
    if (Atomics.compareExchange(job, ${TICKET}, t, t + 1) !== t) continue;
    const chunk = t & 0xffff;
    const at = ${TABLE} + chunk * ${ENTRY};
    try {
      kernel(...job.subarray(at + 1, at + 1 + job[at]));
    } catch {
      Atomics.compareExchange(job, ${FAILED}, 0, chunk + 1);
    }
    if (Atomics.add(job, ${FINISHED}, 1) + 1 === count) Atomics.notify(job, ${FINISHED});
  }
}
`;

type KernelExports = Record<SplitKernel, (...args: number[]) => void>;

export class ParallelKernels {
  readonly memory: WebAssembly.Memory;
  readonly threads: number;
  private readonly kernels: KernelExports;
  private readonly job: Int32Array;
  private readonly workers: Worker[] = [];
  private seq = 0;
  private used = 0;
  /** Calls of each kernel so far (tests use it to see that a path was taken). */
  readonly calls: Record<SplitKernel, number> = { convRows: 0, gemmRows: 0, poolRows: 0, unpoolGrid: 0 };

  constructor(threads: number) {
    const module = new WebAssembly.Module(Buffer.from(KERNELS_SHARED_WASM_BASE64, 'base64'));
    this.memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
    this.kernels = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.threads = threads;
    this.job = new Int32Array(new SharedArrayBuffer((TABLE + MAX_CHUNKS * ENTRY) * 4));
    for (let i = 1; i < threads; i++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory: this.memory, job: this.job, names: SPLIT_KERNELS },
        name: `edgeloop-wasm-kernels-${i}`,
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Stops the worker threads; the instance must not be used afterwards. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /**
   * Reserves room for one call's operands (float32 or int32 counts), growing the memory if need be,
   * and returns their byte offsets, each 64-byte aligned. Every reservation is released by the next
   * call to `reserve`. Undefined when the memory cannot hold them.
   */
  reserve(counts: readonly number[]): number[] | undefined {
    const offsets: number[] = [];
    let at = 64; // offset 0 stays unused
    for (const count of counts) {
      offsets.push(at);
      at += Math.ceil((count * 4) / 64) * 64;
    }
    const pages = Math.ceil(at / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > have) {
      if (pages > MAXIMUM_PAGES) return undefined;
      try {
        this.memory.grow(pages - have);
      } catch {
        return undefined;
      }
    }
    this.used = at;
    return offsets;
  }

  /** A float32 view of the memory (fresh: the memory may have grown). */
  f32(): Float32Array {
    return new Float32Array(this.memory.buffer, 0, this.used / 4);
  }

  i32(): Int32Array {
    return new Int32Array(this.memory.buffer, 0, this.used / 4);
  }

  /**
   * How many chunks {@link split} cuts `total` units into: one on a single thread; else at least
   * 16 (so 2, 3 and 4 threads cut alike, and give the same sums), and four per thread beyond.
   */
  chunks(total: number): number {
    if (this.threads === 1) return 1;
    return Math.max(1, Math.min(total, MAX_CHUNKS, Math.max(MIN_CHUNKS, this.threads * 4)));
  }

  /**
   * Runs `kernel` over `total` units cut into {@link chunks} near-equal chunks: `argsFor(begin,
   * end, chunk)` gives the arguments of chunk number `chunk`, units [begin, end). The threads, the
   * calling one among them, claim chunks until none is left, so a thread that starts late or runs
   * slowly takes fewer; a chunk's arguments, and so its result, do not depend on which thread ran
   * it. Returns when every chunk is done; throws when one failed or the workers stopped answering.
   */
  split(kernel: SplitKernel, total: number, argsFor: (begin: number, end: number, chunk: number) => number[]): void {
    this.calls[kernel]++;
    const count = this.chunks(total);
    const bound = (c: number) => Math.round((total * c) / count);
    if (count === 1) {
      this.kernels[kernel](...argsFor(0, total, 0));
      return;
    }
    const job = this.job;
    for (let c = 0; c < count; c++) {
      const args = argsFor(bound(c), bound(c + 1), c);
      if (args.length > MAX_ARGS) throw new Error(`parallel ${kernel}: ${args.length} arguments, at most ${MAX_ARGS}`);
      job[TABLE + c * ENTRY] = args.length;
      job.set(args, TABLE + c * ENTRY + 1);
    }
    job[KERNEL] = SPLIT_KERNELS.indexOf(kernel);
    job[COUNT] = count;
    Atomics.store(job, FINISHED, 0);
    Atomics.store(job, FAILED, 0);
    this.seq = (this.seq % 0x7fff) + 1;
    const seq = this.seq;
    Atomics.store(job, TICKET, seq << 16);
    Atomics.notify(job, TICKET);
    let failure: unknown;
    const run = this.kernels[kernel];
    for (;;) {
      const t = Atomics.load(job, TICKET);
      if ((t & 0xffff) >= count) break;
      if (Atomics.compareExchange(job, TICKET, t, t + 1) !== t) continue;
      const at = TABLE + (t & 0xffff) * ENTRY;
      try {
        run(...job.subarray(at + 1, at + 1 + job[at]!));
      } catch (error) {
        failure ??= error;
        Atomics.compareExchange(job, FAILED, 0, (t & 0xffff) + 1);
      }
      Atomics.add(job, FINISHED, 1);
    }
    // Every chunk is claimed; wait for the ones a worker is still running (spin first: they are short).
    const spinUntil = performance.now() + SPIN_MS;
    let done = Atomics.load(job, FINISHED);
    while (done < count && performance.now() < spinUntil) done = Atomics.load(job, FINISHED);
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    for (; done < count; done = Atomics.load(job, FINISHED)) {
      if (Date.now() > deadline) throw new Error(`parallel ${kernel}: a worker thread did not answer in ${WORKER_TIMEOUT_MS / 1000} s`);
      Atomics.wait(job, FINISHED, done, 1000);
    }
    const failed = Atomics.load(job, FAILED);
    if (failed !== 0) {
      throw new Error(
        `parallel ${kernel}: chunk ${failed - 1} of ${count} failed${failure instanceof Error ? `: ${failure.message}` : ''}`,
        {
          cause: failure,
        },
      );
    }
  }
}

/** The thread count from EDGELOOP_TRAIN_THREADS, or every core this process may use. */
export function trainThreads(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.EDGELOOP_TRAIN_THREADS;
  if (given === undefined || given === '') return availableParallelism();
  const n = Number(given);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`EDGELOOP_TRAIN_THREADS must be an integer from 1 to 64, got "${given}"`);
  return n;
}

let shared: ParallelKernels | null | undefined;

/**
 * Sets the thread count of the process's parallel kernels from now on, replacing
 * EDGELOOP_TRAIN_THREADS (tests and benchmarks compare 1 and 2 in one process).
 */
export async function setTrainThreads(threads: number): Promise<void> {
  await shared?.close();
  shared = threads > 1 ? new ParallelKernels(threads) : null;
}

/**
 * The process's parallel kernels, made on first use. Undefined with one thread (the callers then
 * keep their single-threaded paths, exactly as before this module), or where shared WebAssembly
 * memory or SIMD is missing.
 */
export function parallelKernels(): ParallelKernels | undefined {
  if (shared === undefined) {
    const threads = trainThreads();
    try {
      shared = threads > 1 ? new ParallelKernels(threads) : null;
    } catch {
      shared = null;
    }
  }
  return shared ?? undefined;
}

let callingThreadOnly: ParallelKernels | null | undefined;

/**
 * Kernels on a shared memory for the ops that keep their work there between kernels (the fused
 * conv + pool of conv-pool-block.ts): the process's parallel kernels, or, with one thread, an
 * instance without workers that runs every call on the calling thread. Undefined where shared
 * WebAssembly memory or SIMD is missing.
 */
export function sharedMemoryKernels(): ParallelKernels | undefined {
  const pk = parallelKernels();
  if (pk) return pk;
  if (callingThreadOnly === undefined) {
    try {
      callingThreadOnly = new ParallelKernels(1);
    } catch {
      callingThreadOnly = null;
    }
  }
  return callingThreadOnly ?? undefined;
}
