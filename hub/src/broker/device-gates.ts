/**
 * The {@link ClientGate}s of connected devices, one per device id. A gate outlives its
 * connections while it still holds state (messages in flight, a bucket not yet refilled), so a
 * device cannot reset its limits by reconnecting; an idle gate equals a fresh one and is dropped.
 */
import { ClientGate, type GateLimits } from './client-gate.js';

export class DeviceGates {
  private readonly gates = new Map<string, ClientGate>();
  private readonly sweeps = new Map<string, NodeJS.Timeout>();

  constructor(private readonly limits: GateLimits) {}

  /** The device's gate, created on first use. */
  for(deviceId: string): ClientGate {
    let gate = this.gates.get(deviceId);
    if (!gate) {
      gate = new ClientGate(this.limits);
      this.gates.set(deviceId, gate);
    }
    return gate;
  }

  /** A connection of the device closed: forget its waiting publishes, and drop the gate once idle. */
  closed(deviceId: string, connection: object): void {
    this.gates.get(deviceId)?.forget(connection);
    this.sweep(deviceId);
  }

  /** Gates held (for tests and metrics). */
  get size(): number {
    return this.gates.size;
  }

  private sweep(deviceId: string): void {
    if (this.sweeps.has(deviceId)) return;
    const refillMs = (this.limits.burst / this.limits.messagesPerSecond) * 1000;
    const timer = setTimeout(() => {
      this.sweeps.delete(deviceId);
      const gate = this.gates.get(deviceId);
      if (!gate) return;
      // Deleting an idle gate is safe even with a connection open: a fresh gate is identical.
      if (gate.idle()) this.gates.delete(deviceId);
      else this.sweep(deviceId);
    }, refillMs + 1000);
    timer.unref();
    this.sweeps.set(deviceId, timer);
  }

  /** Stops the sweeps (on broker close). */
  clear(): void {
    for (const t of this.sweeps.values()) clearTimeout(t);
    this.sweeps.clear();
    this.gates.clear();
  }
}
