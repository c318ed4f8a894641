/**
 * A real hub serving the built browser client, with a real trained MNIST model published as
 * signed releases: what the browser end-to-end tests and `bench:browser` run against.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFor, type Hub, KeyDir, ReleaseRepository, startHub } from '@edgeloop/hub';
import { mnistJob, runTrainingJob } from '@edgeloop/models';
import { encodeJson, type ModelManifest, type SamplingConfigInput } from '@edgeloop/protocol';
import { freePort } from './ports.js';

export const MODEL = 'mnist-cnn';

/** A trained MNIST CNN: its ONNX bytes and manifest (version 1). */
export interface TrainedModel {
  onnx: Uint8Array;
  manifest: ModelManifest;
}

/**
 * Trains the MNIST CNN on the bundled digits for a few epochs (about 96-98% test accuracy, a few
 * seconds per epoch on the wasm backend). Cached in `cacheDir` when given.
 */
export async function trainMnist(options: { epochs?: number; cacheDir?: string } = {}): Promise<TrainedModel> {
  const epochs = options.epochs ?? 3;
  const out = options.cacheDir ? join(options.cacheDir, `mnist-e${epochs}`) : await mkdtemp(join(tmpdir(), 'edgeloop-mnist-'));
  try {
    if (!existsSync(join(out, 'model.onnx')) || !existsSync(join(out, 'manifest.json'))) {
      await runTrainingJob({ ...mnistJob(out), epochs });
    }
    const onnx = new Uint8Array(await readFile(join(out, 'model.onnx')));
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as ModelManifest;
    return { onnx, manifest };
  } finally {
    if (!options.cacheDir) await rm(out, { recursive: true, force: true });
  }
}

export interface BrowserHub {
  hub: Hub;
  url: string;
  releases: ReleaseRepository;
  /** Publishes `model` as release `version` of {@link MODEL}. */
  publish(version: number, model: TrainedModel): Promise<void>;
  close(): Promise<void>;
}

export async function startBrowserHub(options: { clientDir: string; sampling?: SamplingConfigInput }): Promise<BrowserHub> {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloop-browser-hub-'));
  const base = configFor(dir);
  const hub = await startHub({
    ...base,
    http: { ...base.http, port: 0 },
    mqtt: { ...base.mqtt, tcpPort: await freePort(), wsPort: await freePort() },
    productionModel: MODEL,
    pipeline: { ...base.pipeline, model: MODEL },
    localTrainer: false,
    browserClient: { ...base.browserClient, dir: options.clientDir, ...(options.sampling ? { sampling: options.sampling } : {}) },
    log: { level: 'warn' },
  });
  const releases = new ReleaseRepository({ store: hub.store, keyDir: new KeyDir(base.releases.keysDir) });
  return {
    hub,
    url: hub.urls.http,
    releases,
    async publish(version, model) {
      const onnx = model.onnx;
      const manifest = {
        ...model.manifest,
        name: MODEL,
        version,
        model: { ...model.manifest.model, sha256: createHash('sha256').update(onnx).digest('hex'), length: onnx.byteLength },
      };
      await releases.publishRelease({ model: MODEL, version, onnxBytes: onnx, manifestBytes: encodeJson('manifest', manifest) });
    },
    async close() {
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
