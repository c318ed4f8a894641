/**
 * Fixtures for the API tests and `hub/test/serve-api.ts` (not used by the hub): the API over real
 * parts (a SQLite file and the file object store in a temporary directory, the device registry,
 * the labelling queue, the dataset importer, an ONNX classifier), and seed data for them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportToOnnx, mnistCnn, mnistPreprocessing } from '@edgeloop/models';
import { ModelManifestSchema } from '@edgeloop/protocol';
import type { Hono } from 'hono';
import { type BrowserClientConfig, configFor } from '../config.js';
import { importDataset } from '../datasets/import.js';
import { createSnapshot } from '../datasets/snapshot.js';
import type { OpenDatabase } from '../db/open.js';
import { DeviceRegistry } from '../fleet/devices.js';
import { sampleObjectKey } from '../ingest/sample-handler.js';
import { type Classifier, loadOnnxClassifier } from '../labeling/classifier.js';
import { LabellingQueue } from '../labeling/queue.js';
import { insertSample, labelSample, noisePng, openTestHub, sha256, type TestHub } from '../labeling/test-support.js';
import type { Logger } from '../log.js';
import { createApi } from './app.js';
import type { ApiDeps } from './deps.js';
import { ImportJobs } from './import-jobs.js';
import type { ApiEnv, Route } from './route.js';
import { apiRoutes } from './routes/index.js';

export const TEST_TOKEN = 'test-admin-token-0123456789';
export const auth = { authorization: `Bearer ${TEST_TOKEN}` };

export interface ApiFixture extends TestHub {
  app: Hono<ApiEnv>;
  routes: Route[];
  devices: DeviceRegistry;
  queue: LabellingQueue;
  importRoot: string;
  imports: ImportJobs;
}

/**
 * Writes an untrained 3-class MNIST-shaped CNN as `runTrainingJob` would (model.onnx and
 * manifest.json) and loads it: a real model, real onnxruntime, arbitrary answers.
 */
export async function tinyClassifier(dir: string): Promise<Classifier> {
  mkdirSync(dir, { recursive: true });
  const model = mnistCnn(3, 7);
  const onnx = exportToOnnx(model, { modelName: 'tiny', docString: 'edgeloop tiny v1' });
  model.dispose();
  const manifest = ModelManifestSchema.parse({
    v: 1,
    name: 'tiny',
    version: 1,
    labels: ['circle', 'square', 'triangle'],
    input: { name: 'input', shape: [-1, 28, 28, 1], layout: 'NHWC', dtype: 'float32' },
    output: { name: 'probabilities', kind: 'probabilities' },
    preprocessing: mnistPreprocessing,
    model: { format: 'onnx', sha256: createHash('sha256').update(onnx).digest('hex'), length: onnx.byteLength },
    createdAt: new Date().toISOString(),
  });
  await writeFile(join(dir, 'model.onnx'), onnx);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return loadOnnxClassifier(dir);
}

export interface FixtureOptions {
  token?: string;
  bodyLimitBytes?: number;
  classifier?: Classifier;
  broker?: { connectedClients(): number; urls?: { mqtt: string; ws?: string } };
  /** Replaces the fixture's silent logger. */
  log?: Logger;
  ready?: () => boolean;
  browserClient?: Partial<BrowserClientConfig>;
  /** The trigger engine for the trigger routes, made over the fixture's database. */
  triggers?: (hub: { database: OpenDatabase; log: Logger }) => ApiDeps['triggers'];
}

/** The API over fresh real parts in a temporary directory. */
export async function openApiFixture(options: FixtureOptions = {}): Promise<ApiFixture> {
  const opened = await openTestHub();
  const hub = options.log ? { ...opened, log: options.log } : opened;
  const base = configFor(hub.dir);
  const config = configFor(hub.dir, {
    adminToken: options.token ?? TEST_TOKEN,
    http: { ...base.http, bodyLimitBytes: options.bodyLimitBytes ?? base.http.bodyLimitBytes },
    browserClient: { ...base.browserClient, ...options.browserClient },
  });
  const devices = new DeviceRegistry(hub.database);
  const queue = new LabellingQueue({ db: hub.database, metrics: hub.metrics });
  const importRoot = join(hub.dir, 'imports');
  mkdirSync(importRoot, { recursive: true });
  const imports = new ImportJobs(importDataset, { db: hub.database, store: hub.store });
  const deps = {
    config,
    db: hub.database,
    store: hub.store,
    devices,
    queue,
    classifier: () => options.classifier,
    imports,
    importRoot,
    broker: options.broker,
    metrics: hub.metrics,
    log: hub.log,
    ready: options.ready ?? (() => true),
    triggers: options.triggers?.(hub),
  };
  return { ...hub, app: createApi(deps), routes: apiRoutes(deps), devices, queue, importRoot, imports };
}

export interface Seeded {
  deviceIds: string[];
  sampleIds: string[];
  datasetIds: string[];
  images: Uint8Array[];
  folders: string[];
}

/**
 * Devices (one revoked), 24 device samples with their images stored (some pre-annotated, some
 * labelled), two snapshots with a relabel between them, and an importable folder `shapes`.
 */
export async function seed(f: ApiFixture): Promise<Seeded> {
  const deviceIds = ['cam-1', 'cam-2', 'cam-3'];
  for (const id of deviceIds) await f.devices.create(id, 'seed');
  f.devices.revoke('cam-3', 'seed');
  const images: Uint8Array[] = [];
  const sampleIds: string[] = [];
  for (let i = 0; i < 24; i++) {
    const bytes = await noisePng(1000 + i, 16 + (i % 3) * 6, i % 2 === 0 ? 1 : 3);
    const id = sha256(bytes);
    await f.store.put(sampleObjectKey(id), bytes);
    insertSample(f.database, {
      id,
      deviceId: deviceIds[i % 2]!,
      receivedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      predictedLabel: ['circle', 'square', 'triangle'][i % 3]!,
      confidence: 0.3 + (i % 7) / 10,
      uncertainty: i % 4 === 0 ? 0.5 : null,
      preLabel: i % 4 === 0 ? 'circle' : null,
    });
    if (i < 12) labelSample(f.database, id, ['circle', 'square', 'triangle'][i % 3]!);
    images.push(bytes);
    sampleIds.push(id);
  }
  const first = createSnapshot({ db: f.database }, { name: 'first', actor: 'seed' });
  labelSample(f.database, sampleIds[0]!, 'square');
  const second = createSnapshot({ db: f.database }, { name: 'second', actor: 'seed', parentId: first.id });
  for (const [label, seedBase] of [
    ['circle', 5000],
    ['square', 6000],
  ] as const) {
    const dir = join(f.importRoot, 'shapes', label);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, `${i}.png`), await noisePng(seedBase + i, 12));
  }
  return { deviceIds, sampleIds, datasetIds: [first.id, second.id], images, folders: ['shapes'] };
}
