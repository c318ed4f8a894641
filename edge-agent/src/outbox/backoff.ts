import type { BackoffOptions } from './outbox.js';

/**
 * The delay before attempt `attempts + 1`, after `attempts` (≥ 1) attempts: exponential, capped,
 * with "subtractive" jitter so that devices that went offline together do not resend in lockstep,
 * yet the cap stays a hard upper bound. With `rng() = 0` the schedule is exact: base, base·f, …, max.
 */
export function backoffDelay(attempts: number, options: BackoffOptions, rng: () => number): number {
  const factor = options.factor ?? 2;
  const exponent = Math.max(0, attempts - 1);
  const raw = Math.min(options.maxMs, options.baseMs * factor ** exponent);
  const jitter = Math.min(1, Math.max(0, options.jitter));
  return Math.max(0, Math.round(raw * (1 - jitter * rng())));
}
