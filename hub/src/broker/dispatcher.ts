/**
 * Hands device messages to the hub's handler, for both broker kinds. Messages that arrive before
 * a handler is registered wait for it (a persistent session may deliver its backlog the moment
 * the hub connects); handler failures are logged, never thrown into the broker; `drain` waits for
 * everything in progress, for a graceful close.
 */
import type { Logger } from '../log.js';
import type { DeviceMessage } from './hub-broker.js';

export type DeviceMessageHandler = (message: DeviceMessage) => Promise<void>;

export class Dispatcher {
  private handler: DeviceMessageHandler | undefined;
  /** Resolves with the handler, or with `undefined` when the dispatcher drains without one. */
  private readonly ready: Promise<DeviceMessageHandler | undefined>;
  private settleReady!: (handler: DeviceMessageHandler | undefined) => void;
  private readonly pending = new Set<Promise<boolean>>();

  constructor(private readonly log: Logger) {
    this.ready = new Promise((resolve) => {
      this.settleReady = resolve;
    });
  }

  setHandler(handler: DeviceMessageHandler): void {
    this.handler = handler;
    this.settleReady(handler);
  }

  /**
   * Runs the handler on `message`. Resolves `true` once it has run (a failure is logged), or
   * `false` if the dispatcher drained before any handler was registered. Never rejects.
   */
  dispatch(message: DeviceMessage): Promise<boolean> {
    const run = (async () => {
      const handler = this.handler ?? (await this.ready);
      if (!handler) return false;
      try {
        await handler(message);
      } catch (error) {
        this.log.error({ err: error, deviceId: message.deviceId, channel: message.channel }, 'device message handler failed');
      }
      return true;
    })();
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
    return run;
  }

  /** Handlers in progress. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Resolves when no handler is in progress (including ones that start meanwhile). Messages still
   * waiting for a handler that was never registered are given up (`dispatch` resolves `false`).
   */
  async drain(): Promise<void> {
    if (!this.handler) this.settleReady(undefined);
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
