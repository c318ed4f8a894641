/**
 * The trigger engine on a real database with an injected clock: debounce, global and per-kind
 * cool-downs, the schedule, several kinds at once, the busy hold, restarts, the firing log, and the
 * start/notify/stop loop with real timers.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TelemetryStore } from '../fleet/telemetry-store.js';
import { openTestHub, type TestHub } from '../labeling/test-support.js';
import { type TriggerConfig, triggerConfig } from './config.js';
import { type LastTraining, TriggerEngine, type TriggerEngineOptions } from './engine.js';
import type { Firing } from './firings.js';
import { referenceFromPredictions } from './reference.js';
import { addLabelled, syntheticWindow, TestClock } from './test-support.js';

const MIN = 60_000;
const off = { enabled: false };

/** Only `newLabels` (N = 10), no debounce, 1 h cool-down: each test turns on what it needs. */
function config(overrides: Parameters<typeof triggerConfig>[0] = {}): TriggerConfig {
  return triggerConfig({
    debounceMs: 0,
    cooldownMs: 60 * MIN,
    newLabels: { enabled: true, minCount: 10 },
    labelChange: off,
    schedule: off,
    performanceDrop: off,
    drift: off,
    ...overrides,
  });
}

let hub: TestHub;
let clock: TestClock;
let fired: Firing[];
let training: LastTraining | undefined;
const engines: TriggerEngine[] = [];

function engine(cfg: TriggerConfig, extra: Partial<TriggerEngineOptions> = {}): TriggerEngine {
  const e = new TriggerEngine({
    db: hub.database,
    config: cfg,
    telemetry: new TelemetryStore(hub.database),
    lastTraining: () => training,
    onFire: (f) => {
      fired.push(f);
    },
    log: hub.log,
    now: clock.now,
    ...extra,
  });
  engines.push(e);
  return e;
}

beforeEach(async () => {
  hub = await openTestHub();
  clock = new TestClock(Date.parse('2026-03-02T00:00:00.000Z'));
  fired = [];
  training = { at: '2026-03-01T00:00:00.000Z', datasetId: 'd0' };
});
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop();
  await hub.close();
});

describe('debounce', () => {
  it('fires only after the condition held for debounceMs, and starts over when it lapses', async () => {
    const e = engine(config({ debounceMs: 5 * MIN }));
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    expect(await e.evaluate('labelled')).toBeUndefined(); // condition true, waiting
    clock.advance(4 * MIN);
    expect(await e.evaluate('labelled')).toBeUndefined();
    // A training lands: the condition lapses, and the wait starts over when it returns.
    training = { at: '2026-03-01T23:00:00.000Z' };
    clock.advance(2 * MIN);
    expect(await e.evaluate('labelled')).toBeUndefined();
    training = { at: '2026-03-01T00:00:00.000Z' };
    expect(await e.evaluate('labelled')).toBeUndefined();
    clock.advance(5 * MIN - 1);
    expect(await e.evaluate('labelled')).toBeUndefined();
    clock.advance(1);
    const firing = await e.evaluate('labelled');
    expect(firing).toMatchObject({ kind: 'newLabels', inputs: { newLabelled: 10 }, sinceTrainingAt: '2026-03-01T00:00:00.000Z' });
    expect(fired).toEqual([firing]);
  });

  it('lets a kind override the global debounce', async () => {
    const e = engine(config({ debounceMs: 60 * MIN, newLabels: { minCount: 10, debounceMs: 0 } }));
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    expect(await e.evaluate('labelled')).toMatchObject({ kind: 'newLabels' });
  });
});

describe('cool-down', () => {
  it('holds automatic triggers for cooldownMs after a firing, then fires again if still true', async () => {
    const e = engine(config());
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    expect(await e.evaluate()).toMatchObject({ kind: 'newLabels' });
    clock.advance(60 * MIN - 1);
    expect(await e.evaluate()).toBeUndefined();
    clock.advance(1);
    expect(await e.evaluate()).toMatchObject({ kind: 'newLabels' });
    expect(fired).toHaveLength(2);
  });

  it('applies a per-kind cool-down on top of the global one', async () => {
    const e = engine(config({ cooldownMs: 0, newLabels: { minCount: 10, cooldownMs: 30 * MIN } }));
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    await e.evaluate();
    clock.advance(29 * MIN);
    expect(await e.evaluate()).toBeUndefined();
    clock.advance(MIN);
    expect(await e.evaluate()).toMatchObject({ kind: 'newLabels' });
  });

  it('survives a restart: the cool-down is read back from the firing log', async () => {
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    expect(await engine(config()).evaluate()).toBeDefined();
    clock.advance(10 * MIN);
    const restarted = engine(config());
    expect(await restarted.evaluate()).toBeUndefined();
    clock.advance(50 * MIN);
    expect(await restarted.evaluate()).toBeDefined();
  });

  it('lets a manual request through the global cool-down but not through its own', async () => {
    const e = engine(config({ manual: { cooldownMs: 10 * MIN } }));
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    await e.evaluate();
    const first = await e.manual({ actor: 'alice', reason: 'new camera' });
    expect(first).toMatchObject({
      fired: true,
      firing: { kind: 'manual', actor: 'alice', reason: 'new camera', inputs: { actor: 'alice' } },
    });
    clock.advance(9 * MIN);
    expect(await e.manual({ actor: 'bob' })).toEqual({
      fired: false,
      reason: 'a manual trigger fired less than its cool-down ago',
      retryAfterMs: MIN,
    });
    clock.advance(MIN);
    expect(await e.manual({ actor: 'bob' })).toMatchObject({ fired: true, firing: { reason: 'manual trigger by bob' } });
    // The manual firings restarted the global cool-down for automatic triggers.
    clock.advance(59 * MIN);
    expect(await e.evaluate()).toBeUndefined();
  });

  it('refuses manual requests when manual triggers are off', async () => {
    const e = engine(config({ manual: { enabled: false } }));
    expect(await e.manual({ actor: 'alice' })).toEqual({ fired: false, reason: 'manual triggers are disabled', retryAfterMs: 0 });
  });
});

describe('several kinds, holds and failures', () => {
  it('makes one firing for the first ready kind; the others ride along and start over', async () => {
    const e = engine(config({ labelChange: { enabled: true, perLabelK: 5 } }));
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    const firing = await e.evaluate('labelled');
    expect(firing).toMatchObject({ kind: 'labelChange', others: [{ kind: 'newLabels' }] });
    expect(e.firings.list({ limit: 10 })).toEqual([firing]);
  });

  it('holds while a training runs and fires once it ends', async () => {
    let busy = true;
    const e = engine(config(), { busy: () => busy });
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    expect(await e.evaluate()).toBeUndefined();
    busy = false;
    expect(await e.evaluate()).toBeDefined();
  });

  it('keeps the firing logged when the pipeline throws', async () => {
    const e = engine(config(), {
      onFire: () => {
        throw new Error('pipeline down');
      },
    });
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    const firing = await e.evaluate();
    expect(e.firings.last()).toEqual(firing);
  });

  it('does nothing when the engine or the kind is off, and never evaluates other kinds on telemetry', async () => {
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    expect(await engine(config({ enabled: false })).evaluate()).toBeUndefined();
    expect(await engine(config({ newLabels: { enabled: false } })).evaluate()).toBeUndefined();
    expect(await engine(config()).evaluate('telemetry')).toBeUndefined();
  });
});

describe('schedule', () => {
  const weekly = { enabled: true, cron: '0 3 * * 1' };

  it('fires once per due slot, not on first boot, and spends a slot it could not use', async () => {
    clock.set('2026-03-02T02:00:00.000Z'); // Monday 02:00
    const e = engine(config({ newLabels: off, schedule: weekly }));
    expect(await e.evaluate()).toBeUndefined(); // first boot: nothing was due since now
    clock.set('2026-03-02T02:59:00.000Z');
    expect(await e.evaluate()).toBeUndefined();
    clock.set('2026-03-02T03:00:00.000Z');
    expect(await e.evaluate()).toMatchObject({ kind: 'schedule', inputs: { cron: '0 3 * * 1', due: '2026-03-02T03:00:00.000Z' } });
    clock.set('2026-03-02T03:01:00.000Z');
    expect(await e.evaluate()).toBeUndefined();
    // Next Monday falls within a cool-down: that slot is spent, not carried over.
    clock.set('2026-03-09T02:30:00.000Z');
    await e.manual({ actor: 'alice' });
    clock.set('2026-03-09T03:00:00.000Z');
    expect(await e.evaluate()).toBeUndefined();
    clock.set('2026-03-09T04:00:00.000Z');
    expect(await e.evaluate()).toBeUndefined();
    expect(fired.map((f) => f.kind)).toEqual(['schedule', 'manual']);
  });

  it('catches up once on restart for a slot missed while the hub was down', async () => {
    clock.set('2026-03-02T03:00:00.000Z');
    const before = engine(config({ newLabels: off, schedule: weekly, cooldownMs: 0 }));
    await before.evaluate(); // first boot, nothing due yet
    clock.set('2026-03-02T03:00:30.000Z');
    expect(await before.evaluate()).toBeUndefined();
    clock.set('2026-03-09T03:00:00.000Z');
    expect(await before.evaluate()).toBeDefined();
    // Down from Sunday to Tuesday: the restarted engine owes Monday's slot, once.
    clock.set('2026-03-17T10:00:00.000Z');
    const after = engine(config({ newLabels: off, schedule: weekly, cooldownMs: 0 }));
    expect(await after.evaluate()).toMatchObject({ kind: 'schedule', inputs: { due: '2026-03-16T03:00:00.000Z' } });
    expect(await after.evaluate()).toBeUndefined();
  });

  it('rejects a bad cron expression when the engine is made', () => {
    expect(() => engine(config({ schedule: { cron: '61 * * * *' } }))).toThrow('invalid cron expression');
  });
});

describe('events and the loop', () => {
  it('evaluates drift on telemetry events through the store', async () => {
    const store = new TelemetryStore(hub.database);
    const model = { name: 'digits', version: 1 };
    const reference = referenceFromPredictions(
      Array.from({ length: 1000 }, (_, i) => ({ label: i % 2 ? 'a' : 'b', confidence: 0.9 + (i % 10) / 100 })),
      model,
    );
    const e = engine(config({ newLabels: off, drift: { enabled: true, minWindows: 2, minPredictions: 100 } }), {
      reference: () => reference,
    });
    const record = (seed: number, confidence: (u: number) => number) =>
      store.record(
        `cam-${seed}`,
        syntheticWindow({
          deviceId: `cam-${seed}`,
          start: new Date(clock.now().getTime() - 10 * MIN),
          predictions: 100,
          classes: { a: 0.5, b: 0.5 },
          confidence,
          seed,
          model,
        }),
        clock.now(),
      );
    record(1, (u) => 0.9 + 0.1 * u);
    record(2, (u) => 0.9 + 0.1 * u);
    expect(await e.evaluate('telemetry')).toBeUndefined();
    record(3, (u) => 0.3 + 0.3 * u);
    record(4, (u) => 0.3 + 0.3 * u);
    expect(await e.evaluate('telemetry')).toMatchObject({ kind: 'drift', inputs: { windows: 4, metric: 'psi' } });
  });

  it('runs on its own after start(), coalesces notified events, and stops', async () => {
    const cfg = config({ intervalMs: 40, eventCoalesceMs: 10 });
    const e = engine(cfg);
    e.notify('labelled'); // before start: ignored, no timer
    addLabelled(hub.database, 10, 'cat', '2026-03-01T12:00:00.000Z');
    e.start();
    e.notify('labelled');
    e.notify('labelled');
    await new Promise((r) => setTimeout(r, 200));
    expect(fired).toHaveLength(1); // the cool-down (injected clock, frozen) holds later ticks
    await e.stop();
    clock.advance(61 * MIN);
    await new Promise((r) => setTimeout(r, 100));
    expect(fired).toHaveLength(1);
    expect(await e.evaluate()).toBeDefined(); // still usable by hand after stop()
  });
});
