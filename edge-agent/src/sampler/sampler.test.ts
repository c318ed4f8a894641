import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceConfig } from '@edgeloop/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableDb } from '../outbox/durable-db.js';
import { Sampler, type SamplerOptions } from './sampler.js';

const id = (n: number) => n.toString(16).padStart(64, '0');
let dir: string;
let db: DurableDb;
let t: number;
const options = (over: Partial<SamplerOptions> = {}): SamplerOptions => ({
  db,
  // Sends everything the budget allows: random at rate 1, no audit.
  defaults: {
    sampling: { strategy: { strategy: 'random', rate: 1 } },
    budgets: { device: { capacity: 3, refillPerHour: 0 }, perClass: { capacity: 10, refillPerHour: 0 }, classOverrides: {} },
  },
  now: () => t,
  rng: () => 0.5,
  ...over,
});
const reopen = () => {
  db.close();
  db = new DurableDb({ path: join(dir, 'agent.db') });
};
const consider = (s: Sampler, n: number, p: number[] = [0.6, 0.4]) => s.consider({ sampleId: id(n), probabilities: p, label: 'cat' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sampler-'));
  db = new DurableDb({ path: join(dir, 'agent.db') });
  t = 1_700_000_000_000;
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Sampler', () => {
  it('returns the SamplingInfo of an included sample', () => {
    const v = consider(new Sampler(options()), 1);
    expect(v).toMatchObject({
      include: true,
      sampling: { strategy: 'random', score: 0.8, inclusionProbability: 1, audit: false, reason: 'random' },
    });
  });

  it('keeps spent budget across a restart', () => {
    let s = new Sampler(options());
    expect([1, 2, 3, 4].map((n) => consider(s, n).include)).toEqual([true, true, true, false]);
    expect(consider(s, 5)).toMatchObject({ include: false, reason: 'budget_exhausted' });
    reopen();
    s = new Sampler(options());
    expect(s.available('cat').device).toBe(0);
    expect(consider(s, 6)).toMatchObject({ include: false, reason: 'budget_exhausted' });
  });

  it('decides each sample id once, across restarts, within its recent-ids window', () => {
    let s = new Sampler(options({ recentIds: 3 }));
    expect(consider(s, 1).include).toBe(true);
    expect(consider(s, 1)).toEqual({ include: false, reason: 'duplicate' });
    expect(s.available('cat').device).toBe(2); // the duplicate spent nothing
    reopen();
    s = new Sampler(options({ recentIds: 3 }));
    expect(consider(s, 1)).toEqual({ include: false, reason: 'duplicate' });
    for (const n of [2, 3, 4]) consider(s, n);
    // id 1 has left the 3-id window: it is decided again (and the budget is spent by now).
    expect(consider(s, 1)).toMatchObject({ include: false, reason: 'budget_exhausted' });
  });

  it('switches to the hub config, keeps spent tokens, and remembers the config for an offline restart', () => {
    let s = new Sampler(options());
    for (const n of [1, 2, 3]) consider(s, n);
    const hub: DeviceConfig = {
      v: 1,
      sampling: { strategy: { strategy: 'least_confidence', threshold: 0.3, floor: 0 }, auditRate: 0 },
      budgets: { device: { capacity: 100, refillPerHour: 3_600 }, perClass: { capacity: 100, refillPerHour: 3_600 }, classOverrides: {} },
      telemetryIntervalS: 60,
    };
    s.applyConfig(hub);
    expect(s.config.source).toBe('hub');
    expect(consider(s, 10, [0.5, 0.5])).toMatchObject({ include: false, reason: 'budget_exhausted' });
    t += 2_000; // 2 tokens refill at 1 per second
    expect(consider(s, 11, [0.99, 0.01])).toMatchObject({ include: false, reason: 'not_selected' });
    expect(consider(s, 12, [0.5, 0.5])).toMatchObject({ include: true, sampling: { strategy: 'least_confidence', reason: 'uncertain' } });
    reopen();
    s = new Sampler(options());
    expect(s.config).toMatchObject({ source: 'hub', sampling: hub.sampling });
    expect(consider(s, 13, [0.5, 0.5]).include).toBe(true);
    expect(consider(s, 14, [0.5, 0.5])).toMatchObject({ include: false, reason: 'budget_exhausted' });
  });

  it('clamps restored tokens to a smaller capacity from the hub', () => {
    const s = new Sampler(
      options({
        defaults: {
          ...options().defaults,
          budgets: { device: { capacity: 50, refillPerHour: 0 }, perClass: { capacity: 50, refillPerHour: 0 }, classOverrides: {} },
        },
      }),
    );
    s.applyConfig({
      v: 1,
      sampling: { strategy: { strategy: 'random', rate: 1 }, auditRate: 0 },
      budgets: { device: { capacity: 2, refillPerHour: 0 }, perClass: { capacity: 50, refillPerHour: 0 }, classOverrides: {} },
      telemetryIntervalS: 60,
    });
    expect([1, 2, 3].map((n) => consider(s, n).include)).toEqual([true, true, false]);
  });
});
