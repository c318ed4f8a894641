/**
 * The SIMD kernels of kernels.wat on a shared WebAssembly memory, with the big products split
 * over worker threads.
 *
 * tfjs-backend-wasm runs on one thread in Node (its threaded build cannot start there), and its
 * heap is a plain memory that no other thread can see. So the convolution products copy their
 * operands into a memory of our own, shared with `threads − 1` worker threads that instantiate the
 * same module on it. Each call splits its rows: the workers take their parts, the calling thread
 * takes the first, and the call returns when all are done. It blocks the calling thread
 * throughout (`Atomics.wait`), since a tfjs kernel must return its result.
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

/** Control words, one Int32Array per worker: the job's sequence number, the last one done, status, kernel, argument count, arguments. */
const SEQ = 0;
const DONE = 1;
const STATUS = 2;
const KERNEL = 3;
const ARGC = 4;
const ARGS = 5;
const MAX_ARGS = 16;
/** How long an idle worker spins before it sleeps, ms. */
const SPIN_MS = 20;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const kernels = new WebAssembly.Instance(workerData.module, { env: { memory: workerData.memory } }).exports;
const names = workerData.names;
const ctl = workerData.ctl;
let seen = 0;
for (;;) {
  // Spin a while before sleeping: a training step calls again within milliseconds, and waking a
  // sleeping thread (on a virtual machine, a halted vCPU) costs far more than that.
  const spinUntil = performance.now() + ${SPIN_MS};
  while (Atomics.load(ctl, ${SEQ}) === seen && performance.now() < spinUntil);
  Atomics.wait(ctl, ${SEQ}, seen);
  seen = Atomics.load(ctl, ${SEQ});
  let status = 0;
  try {
    kernels[names[ctl[${KERNEL}]]](...ctl.subarray(${ARGS}, ${ARGS} + ctl[${ARGC}]));
  } catch {
    status = 1;
  }
  Atomics.store(ctl, ${STATUS}, status);
  Atomics.store(ctl, ${DONE}, seen);
  Atomics.notify(ctl, ${DONE});
}
`;

type KernelExports = Record<SplitKernel, (...args: number[]) => void>;

export class ParallelKernels {
  readonly memory: WebAssembly.Memory;
  readonly threads: number;
  private readonly kernels: KernelExports;
  private readonly controls: Int32Array[];
  private readonly workers: Worker[] = [];
  private used = 0;
  /** Calls of each kernel so far (tests use it to see that a path was taken). */
  readonly calls: Record<SplitKernel, number> = { convRows: 0, gemmRows: 0, poolRows: 0, unpoolGrid: 0 };

  constructor(threads: number) {
    const module = new WebAssembly.Module(Buffer.from(KERNELS_SHARED_WASM_BASE64, 'base64'));
    this.memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
    this.kernels = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.threads = threads;
    this.controls = [];
    for (let i = 1; i < threads; i++) {
      const ctl = new Int32Array(new SharedArrayBuffer((ARGS + MAX_ARGS) * 4));
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { module, memory: this.memory, ctl, names: SPLIT_KERNELS },
        name: `edgeloop-wasm-kernels-${i}`,
      });
      worker.unref();
      this.workers.push(worker);
      this.controls.push(ctl);
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
   * Runs `kernel` over `total` units split in `threads` near-equal parts: `argsFor(begin, end, part)`
   * gives the arguments of part number `part`, units [begin, end). The calling thread runs part 0. Throws when a
   * worker's part failed or a worker did not answer.
   */
  split(kernel: SplitKernel, total: number, argsFor: (begin: number, end: number, part: number) => number[]): void {
    this.calls[kernel]++;
    const parts = Math.max(1, Math.min(this.threads, total));
    const bound = (p: number) => Math.round((total * p) / parts);
    const posted: [Int32Array, number][] = [];
    for (let p = 1; p < parts; p++) {
      const ctl = this.controls[p - 1]!;
      const args = argsFor(bound(p), bound(p + 1), p);
      ctl[KERNEL] = SPLIT_KERNELS.indexOf(kernel);
      ctl[ARGC] = args.length;
      ctl.set(args, ARGS);
      const seq = Atomics.add(ctl, SEQ, 1) + 1;
      Atomics.notify(ctl, SEQ);
      posted.push([ctl, seq]);
    }
    let failure: unknown;
    try {
      this.kernels[kernel](...argsFor(0, bound(1), 0));
    } catch (error) {
      failure = error;
    }
    for (const [ctl, seq] of posted) {
      const deadline = Date.now() + WORKER_TIMEOUT_MS;
      // The parts are near-equal, so the worker's is about done: spin first, then sleep.
      const spinUntil = performance.now() + SPIN_MS;
      while (Atomics.load(ctl, DONE) !== seq && performance.now() < spinUntil);
      for (let done = Atomics.load(ctl, DONE); done !== seq; done = Atomics.load(ctl, DONE)) {
        if (Date.now() > deadline) throw new Error(`parallel ${kernel}: a worker thread did not answer in ${WORKER_TIMEOUT_MS / 1000} s`);
        Atomics.wait(ctl, DONE, done, 1000);
      }
      if (ctl[STATUS] !== 0) failure ??= new Error(`parallel ${kernel}: a worker thread's part failed`);
    }
    if (failure !== undefined) throw failure;
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
