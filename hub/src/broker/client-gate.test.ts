import { describe, expect, it } from 'vitest';
import { ClientGate, type LimitError } from './client-gate.js';

function harness(limits: Partial<ConstructorParameters<typeof ClientGate>[0]> = {}) {
  let now = 0;
  const gate = new ClientGate({ messagesPerSecond: 10, burst: 5, maxInflight: 100, maxViolations: 3, ...limits }, () => now);
  const results: Array<boolean | string> = [];
  const connection = {};
  const admit = (qos: number, on: object = connection) =>
    gate.admit(on, qos, (error, ok) => results.push(error ? (error as LimitError).reason : ok));
  return { gate, results, admit, connection, advance: (ms: number) => (now += ms) };
}

describe('ClientGate', () => {
  it('admits a burst, then drops QoS 0 and counts violations until it disconnects', () => {
    const { admit, results } = harness();
    for (let i = 0; i < 5; i++) admit(0);
    expect(results).toEqual([true, true, true, true, true]);
    admit(0);
    admit(0);
    admit(0);
    expect(results.slice(5)).toEqual([false, false, false]);
    admit(0);
    expect(results.at(-1)).toBe('rate_limit');
  });

  it('makes QoS 1 wait for a token instead of dropping it', async () => {
    const { admit, results, advance } = harness({ messagesPerSecond: 1000, burst: 1 });
    admit(1);
    admit(1);
    expect(results).toEqual([true]);
    advance(5);
    await new Promise((r) => setTimeout(r, 20));
    expect(results).toEqual([true, true]);
  });

  it('forgives violations once the bucket has refilled', () => {
    const { admit, results, advance } = harness();
    for (let i = 0; i < 8; i++) admit(0);
    expect(results.filter((r) => r === false)).toHaveLength(3);
    advance(1000);
    for (let i = 0; i < 8; i++) admit(0);
    expect(results).not.toContain('rate_limit');
  });

  it('caps handlers in flight: QoS 1 waits for a release, QoS 0 is dropped without a violation', () => {
    const { gate, admit, results } = harness({ burst: 100, maxInflight: 2, maxViolations: 0 });
    admit(1);
    admit(1);
    admit(0);
    admit(1);
    expect(results).toEqual([true, true, false]);
    expect(gate.pending).toBe(2);
    gate.release();
    expect(results).toEqual([true, true, false, true]);
    expect(gate.pending).toBe(2);
  });

  it('fails the waiting publishes too when it disconnects, and starts over with an empty bucket', () => {
    const { gate, admit, results, advance } = harness({ burst: 1, maxViolations: 1 });
    admit(1);
    admit(1);
    admit(1);
    expect(results).toEqual([true, 'rate_limit', 'rate_limit']);
    // A reconnect does not refill the bucket: the device shares one gate across connections.
    admit(0, {});
    expect(results.at(-1)).toBe(false);
    advance(100);
    admit(0, {});
    expect(results.at(-1)).toBe(true);
    expect(gate.idle()).toBe(false);
    gate.release();
    gate.release();
    advance(1000);
    expect(gate.idle()).toBe(true);
  });

  it('forgets the waiting publishes of a closed connection without calling back', async () => {
    const { gate, admit, results, connection, advance } = harness({ burst: 1, messagesPerSecond: 1000 });
    admit(1);
    admit(1);
    gate.forget(connection);
    advance(10);
    await new Promise((r) => setTimeout(r, 10));
    expect(results).toEqual([true]);
  });
});
