/**
 * Resend and reconnect backoff: exponential, capped, with subtractive jitter so that browsers that
 * went offline together do not come back in lockstep, yet the cap stays a hard upper bound. The
 * same schedule as the edge agent's `outbox/backoff.ts`.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** In [0, 1]: the fraction of the delay that is randomised. */
  jitter: number;
}

/** The delay after `attempts` (≥ 1) attempts. */
export function backoffDelay(attempts: number, o: BackoffOptions, rng: () => number = Math.random): number {
  const raw = Math.min(o.maxMs, o.baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.max(0, Math.round(raw * (1 - Math.min(1, Math.max(0, o.jitter)) * rng())));
}
