/**
 * Fixtures for the registry and gate tests (not used by the hub): the tracker and registry over a
 * real SQLite file and the file object store, and a manifest for given model bytes.
 */
import { createHash } from 'node:crypto';
import { mnistPreprocessing } from '@edgeloop/models/data';
import { type ModelManifest, ModelManifestSchema } from '@edgeloop/protocol';
import { PromotionGate } from '../gate/decisions.js';
import { openTestHub, type TestHub } from '../labeling/test-support.js';
import { defaultRegistryConfig, type RegistryConfig } from './config.js';
import { ModelRegistry } from './models.js';
import { RunTracker } from './runs.js';

export interface RegistryHarness {
  hub: TestHub;
  runs: RunTracker;
  models: ModelRegistry;
  gate: PromotionGate;
  config: RegistryConfig;
  /** Advances the injected clock. */
  tick(ms: number): void;
  changes: string[];
}

export async function openRegistryHarness(config: RegistryConfig = defaultRegistryConfig): Promise<RegistryHarness> {
  const hub = await openTestHub();
  let now = Date.parse('2026-11-22T10:00:00.000Z');
  const clock = () => new Date(now);
  const changes: string[] = [];
  const runs = new RunTracker({
    db: hub.database,
    store: hub.store,
    energy: config.energy,
    now: clock,
    onChange: (id) => changes.push(`run:${id}`),
  });
  const models = new ModelRegistry({ db: hub.database, store: hub.store, now: clock, onChange: () => changes.push('model') });
  const gate = new PromotionGate({ db: hub.database, registry: models, settings: config.gate, now: clock });
  return {
    hub,
    runs,
    models,
    gate,
    config,
    changes,
    tick: (ms) => {
      now += ms;
    },
  };
}

/** A valid MNIST-shaped manifest naming `onnx` (whatever its bytes are). */
export function manifestFor(onnx: Uint8Array, labels: string[] = ['0', '1', '2'], name = 'trainer-output'): ModelManifest {
  return ModelManifestSchema.parse({
    v: 1,
    name,
    version: 1,
    labels,
    input: { name: 'input', shape: [-1, 28, 28, 1], layout: 'NHWC', dtype: 'float32' },
    output: { name: 'probabilities', kind: 'probabilities' },
    preprocessing: mnistPreprocessing,
    model: { format: 'onnx', sha256: createHash('sha256').update(onnx).digest('hex'), length: onnx.byteLength },
    createdAt: '2026-11-22T09:00:00.000Z',
  });
}
