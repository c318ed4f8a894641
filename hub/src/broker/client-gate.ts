/**
 * Per-device admission for publishes, used in the broker's `authorizePublish` hook, before a
 * message reaches aedes' router (mqemitter). One gate per device, shared by all its connections,
 * so that reconnecting neither refills the bucket nor frees in-flight slots. Two limits:
 *
 * - a token bucket (`messagesPerSecond`, `burst`): a publish beyond it is a violation;
 * - an in-flight cap: messages whose hub handler has not settled yet.
 *
 * Over a limit, QoS 0 is dropped (MQTT 3.1.1 §4.3.1: at most once) and QoS 1/2 waits: aedes reads
 * nothing more from that socket until the wait ends, so TCP pushes back on the client and the hub
 * holds at most one read chunk of its packets. More than `maxViolations` violations disconnect
 * the client; the count is forgiven whenever the bucket has refilled completely (it was quiet).
 */

export interface GateLimits {
  messagesPerSecond: number;
  burst: number;
  maxInflight: number;
  maxViolations: number;
}

/** `true`: go on (a slot is taken, {@link ClientGate.release} it); `false`: drop; error: disconnect. */
export type Admission = (error: Error | null, admitted: boolean) => void;

/** An error that makes aedes close the connection; `reason` labels the disconnect metric. */
export class LimitError extends Error {
  constructor(
    readonly reason: 'rate_limit' | 'acl_denied' | 'shutting_down',
    message: string,
  ) {
    super(message);
  }
}

export class ClientGate {
  private tokens: number;
  private last: number;
  private inflight = 0;
  private violations = 0;
  /** Waiting QoS 1/2 publishes, with the connection they came on. */
  private readonly waiters: Array<{ connection: object; done: Admission }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly limits: GateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limits.burst;
    this.last = now();
  }

  /** Asks to let one publish of `qos` through; `done` is called now or when it may go on. */
  admit(connection: object, qos: number, done: Admission): void {
    if (this.refill()) this.violations = 0;
    const overRate = this.tokens < 1;
    if (overRate && ++this.violations > this.limits.maxViolations) {
      // Everything waiting from this device fails too: it is the one flooding.
      const waiting = this.waiters.splice(0);
      this.violations = 0;
      const error = new LimitError('rate_limit', `more than ${this.limits.maxViolations} publishes over the rate limit`);
      done(error, false);
      for (const w of waiting) w.done(error, false);
      return;
    }
    if (this.waiters.length === 0 && !overRate && this.inflight < this.limits.maxInflight) {
      this.take();
      done(null, true);
      return;
    }
    if (qos === 0) {
      done(null, false);
      return;
    }
    this.waiters.push({ connection, done });
    this.pump();
  }

  /** A handler settled: its slot is free again. */
  release(): void {
    if (this.inflight > 0) this.inflight--;
    this.pump();
  }

  /**
   * A connection closed: its waiting publishes are forgotten without a callback, since aedes has
   * already dropped the connection they belong to.
   */
  forget(connection: object): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) if (this.waiters[i]!.connection === connection) this.waiters.splice(i, 1);
    if (this.waiters.length === 0) this.stopTimer();
  }

  /** Messages admitted whose handlers have not settled. */
  get pending(): number {
    return this.inflight;
  }

  /** Whether the gate holds no state worth keeping: nothing in flight or waiting, a full bucket. */
  idle(): boolean {
    this.refill();
    return this.inflight === 0 && this.waiters.length === 0 && this.tokens >= this.limits.burst;
  }

  private take(): void {
    this.tokens -= 1;
    this.inflight++;
  }

  /** Adds the tokens earned since the last call; returns whether the bucket had become full. */
  private refill(): boolean {
    const now = this.now();
    const earned = ((now - this.last) / 1000) * this.limits.messagesPerSecond;
    this.last = now;
    const full = this.tokens + earned >= this.limits.burst;
    this.tokens = Math.min(this.limits.burst, this.tokens + earned);
    return full;
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    this.stopTimer();
    this.refill();
    while (this.waiters.length > 0 && this.tokens >= 1 && this.inflight < this.limits.maxInflight) {
      this.take();
      this.waiters.shift()!.done(null, true);
    }
    // Waiting for a token: wake up when the next one is earned. Waiting for a slot: `release` wakes us.
    if (this.waiters.length > 0 && this.tokens < 1) {
      const ms = ((1 - this.tokens) / this.limits.messagesPerSecond) * 1000;
      this.timer = setTimeout(() => this.pump(), Math.ceil(ms));
      this.timer.unref();
    }
  }
}
