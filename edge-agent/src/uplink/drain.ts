/**
 * The outbox drain: while connected, publish due items at QoS 1, record each attempt (the outbox
 * schedules the resend with backoff), and wait for the batch's PUBACKs before the next batch, so
 * at most one batch is in flight. Nothing is deleted here: only the hub's SampleAck deletes.
 */
import type { Outbox } from '../outbox/outbox.js';

export interface DrainTarget {
  readonly connected: boolean;
  /** Publishes at QoS 1; resolves on PUBACK, or rejects/stalls when the connection drops. */
  publish(payload: Uint8Array): Promise<void>;
}

export interface DrainOptions {
  outbox: Outbox;
  target: DrainTarget;
  batchSize: number;
  /** How long to wait for a batch's PUBACKs before moving on (the outbox resends anyway). */
  pubackTimeoutMs: number;
  onSent?: (count: number) => void;
  onError?: (error: unknown) => void;
}

export class Drain {
  private running = false;
  private again = false;
  private stopped = false;

  constructor(private readonly options: DrainOptions) {}

  /** Drains until nothing is due; a call while draining makes the loop look once more. */
  async run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        while (!this.stopped && this.options.target.connected) {
          const sent = await this.batch();
          if (sent === 0) break;
        }
      } while (this.again && !this.stopped);
    } catch (error) {
      this.options.onError?.(error);
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private async batch(): Promise<number> {
    const { outbox, target, batchSize, pubackTimeoutMs } = this.options;
    const items = await outbox.due(batchSize);
    if (items.length === 0) return 0;
    const pubacks: Promise<void>[] = [];
    for (const item of items) {
      if (!target.connected) break;
      pubacks.push(target.publish(item.bytes));
    }
    // Recorded before the PUBACKs: if we crash now, the item is simply due again after restart.
    await outbox.markSent(items.slice(0, pubacks.length).map((i) => i.sampleId));
    this.options.onSent?.(pubacks.length);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, pubackTimeoutMs).unref();
    });
    await Promise.race([Promise.allSettled(pubacks), timeout]);
    clearTimeout(timer);
    return pubacks.length;
  }
}
