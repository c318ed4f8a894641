/**
 * The debounce and cool-down bookkeeping of the trigger engine, apart from any clock or database:
 * times are milliseconds handed in by the caller.
 */
import { type TriggerConfig, type TriggerKind, timingOf } from './config.js';

/** Whether a kind whose condition holds may fire now, or how long it still waits and why. */
export type GateVerdict = { state: 'ready' } | { state: 'debouncing' | 'cooling'; waitMs: number };

export class TriggerGate {
  /** Since when each kind's condition has held without a break. */
  private readonly pending = new Map<TriggerKind, number>();
  private readonly lastFired = new Map<TriggerKind, number>();
  private lastAny = Number.NEGATIVE_INFINITY;

  constructor(private readonly config: TriggerConfig) {}

  /** Restores when each kind last fired (from the firing log, after a restart). */
  restore(lastFired: ReadonlyMap<TriggerKind, number>): void {
    for (const [kind, t] of lastFired) this.lastFired.set(kind, t);
    this.lastAny = Math.max(Number.NEGATIVE_INFINITY, ...this.lastFired.values());
  }

  lastFiredAt(kind: TriggerKind): number | undefined {
    return this.lastFired.get(kind);
  }

  /** The condition of `kind` does not hold: its debounce starts over. */
  lapse(kind: TriggerKind): void {
    this.pending.delete(kind);
  }

  /**
   * The condition of `kind` holds at `t`. Debounce first (a schedule has none), then the global
   * cool-down (automatic kinds only) and the kind's own.
   */
  check(kind: TriggerKind, t: number): GateVerdict {
    const since = this.pending.get(kind) ?? t;
    this.pending.set(kind, since);
    const { debounceMs, cooldownMs } = timingOf(this.config, kind);
    const held = kind === 'schedule' || kind === 'manual' ? 0 : since + debounceMs - t;
    if (held > 0) return { state: 'debouncing', waitMs: held };
    const global = kind === 'manual' ? Number.NEGATIVE_INFINITY : this.lastAny + this.config.cooldownMs;
    const cooling = Math.max(global, (this.lastFired.get(kind) ?? Number.NEGATIVE_INFINITY) + cooldownMs) - t;
    return cooling > 0 ? { state: 'cooling', waitMs: cooling } : { state: 'ready' };
  }

  /** `kinds` fired at `t`: their cool-downs start and their debounces reset. */
  fired(kinds: readonly TriggerKind[], t: number): void {
    for (const kind of kinds) {
      this.lastFired.set(kind, t);
      this.pending.delete(kind);
    }
    this.lastAny = t;
  }
}
