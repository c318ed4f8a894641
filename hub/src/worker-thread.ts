/**
 * A helper thread run from CommonJS source text (`new Worker(source, { eval: true })`), so that it
 * runs the same way under tsx, vitest and the compiled hub, with no loader. The SQLite writer
 * (`ingest/sqlite-writer.ts`) and the file store's batch puts (`storage/fs-put-worker.ts`) use it.
 *
 * The source answers each `{ id, op, ... }` message with `{ id, value }` or
 * `{ id, error: { message, code } }`, in order, and on `{ op: 'close' }` finishes what it was sent
 * before and exits. The thread is started on the first call and closed after `idleCloseMs` without
 * one; it is referenced only while it owes an answer, so it never keeps an idle process alive and
 * never lets a process exit under a caller awaiting it.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

export interface WorkerThread {
  /** Sends `message` (with `transfer`red buffers) and resolves with the thread's answer. */
  call<T>(message: Record<string, unknown>, transfer?: ArrayBuffer[]): Promise<T>;
  /** Lets the calls sent so far finish, then ends the thread (a later call starts a new one). */
  close(): Promise<void>;
}

export interface WorkerThreadOptions {
  /** CommonJS source of the thread. */
  source: string;
  workerData?: unknown;
  /** A thread with nothing to do for this long is closed. */
  idleCloseMs: number;
  /** Names the thread in the error its callers get when it dies. */
  name: string;
}

/** An error as a thread sends it (`{ message, code }`), made an Error again on this side. */
export function threadError(e: { message: string; code?: string }): Error {
  return Object.assign(new Error(e.message), { code: e.code });
}

/**
 * Copies `parts` into one fresh buffer, to be transferred to a thread rather than cloned (a view
 * into a larger buffer, such as an MQTT payload, would make postMessage clone all of it). Part i
 * is at `offsets[i]` to `offsets[i + 1]`.
 */
export function packForTransfer(parts: readonly Uint8Array[]): { buffer: ArrayBuffer; offsets: number[] } {
  const offsets = [0];
  for (const part of parts) offsets.push(offsets.at(-1)! + part.byteLength);
  const packed = new Uint8Array(offsets.at(-1)!);
  for (const [i, part] of parts.entries()) packed.set(part, offsets[i]!);
  return { buffer: packed.buffer, offsets };
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export function workerThread(options: WorkerThreadOptions): WorkerThread {
  let worker: Worker | undefined;
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let idle: NodeJS.Timeout | undefined;

  function start(): Worker {
    const w = new Worker(options.source, { eval: true, workerData: options.workerData });
    w.unref();
    w.on('message', (m: { id: number; value?: unknown; error?: { message: string; code?: string } }) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (!p) return;
      if (m.error) p.reject(threadError(m.error));
      else p.resolve(m.value);
      if (pending.size === 0) {
        w.unref();
        idleSoon();
      }
    });
    // A thread that dies fails what it had; the next call starts a new one.
    const died = (error: unknown) => {
      if (worker !== w) return;
      worker = undefined;
      for (const p of pending.values()) p.reject(error);
      pending.clear();
    };
    w.on('error', died);
    w.on('exit', (code) => died(new Error(`the ${options.name} thread exited (${code})`)));
    return w;
  }

  function idleSoon(): void {
    clearTimeout(idle);
    idle = setTimeout(() => {
      if (pending.size > 0 || !worker) return;
      const w = worker;
      worker = undefined;
      w.postMessage({ op: 'close' });
    }, options.idleCloseMs);
    idle.unref();
  }

  return {
    call<T>(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
      clearTimeout(idle);
      worker ??= start();
      // Referenced while it owes an answer: an unreferenced thread lets the process exit under a
      // caller still awaiting it.
      worker.ref();
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        worker!.postMessage({ ...message, id }, transfer);
      });
    },
    async close() {
      clearTimeout(idle);
      const w = worker;
      if (!w) return;
      worker = undefined;
      // The thread answers what it was sent before it reads `close`, then exits; it stays
      // referenced until then, or a process with nothing else to do would exit under this await.
      w.ref();
      const exited = once(w, 'exit');
      w.postMessage({ op: 'close' });
      await exited;
    },
  };
}
