/**
 * Verified model updates, mirroring the edge agent (`updates/model-updater.ts`, `release.ts`):
 * 1. refresh the TUF metadata from the trusted root (TUF §5.3–5.6, in protocol's verifier);
 * 2. pick the newest release of the model; never one at or below the installed version (monotonic);
 * 3. download the manifest and the model, each checked against its signed length and sha256 (§5.7);
 * 4. check the manifest describes exactly this release (`checkManifest`);
 * 5. self-test: load it in onnxruntime-web and run a zero input;
 * 6. only then install everything in one IndexedDB transaction, and hand the new classifier over.
 * Any failure leaves the running model untouched and is reported with its code.
 */
import { decodeJson, type ModelManifest } from '@edgeloop/protocol';
import { ClientError, errorCode, errorMessage } from '../errors.js';
import { Classifier } from '../inference/classifier.js';
import { installModel, loadTrusted, saveTrusted, trustInitialRoot } from './model-store.js';
import { fetchVerifiedTarget, newestModelRelease, refreshTufMetadata, TufError, type TufRemote, type TufTargetInfo } from './tuf.js';

export type UpdateResult =
  | { status: 'updated'; version: number; classifier: Classifier; previous?: number }
  | { status: 'up-to-date'; version?: number }
  | { status: 'rejected'; code: string; message: string; version?: number };

export interface UpdaterOptions {
  db: IDBDatabase;
  model: string;
  remote: TufRemote;
  /** Fetches the initial root (trust on first use; same origin as the app code). */
  initialRoot: () => Promise<Uint8Array>;
  /** The installed version (0 when none): only a higher one is installed. */
  installedVersion: () => number;
  maxModelBytes: number;
  now?: () => Date;
}

/** The release's two targets (edge-agent `release.ts`). */
export function releasePaths(name: string, version: number): { model: string; manifest: string } {
  return { model: `${name}/${version}/model.onnx`, manifest: `${name}/${version}/manifest.json` };
}

/** Checks that a manifest describes this release: name, version, and the signed model target. */
export function checkManifest(bytes: Uint8Array, name: string, version: number, model: TufTargetInfo): ModelManifest {
  const decoded = decodeJson('manifest', bytes);
  if (!decoded.ok) throw new ClientError('UPDATE_MANIFEST_MISMATCH', `manifest of ${name} v${version}: ${decoded.error.message}`);
  const m = decoded.value;
  const problems: string[] = [];
  if (m.name !== name) problems.push(`name ${m.name}`);
  if (m.version !== version) problems.push(`version ${m.version}`);
  if (m.model.sha256 !== model.sha256) problems.push('model sha256');
  if (m.model.length !== model.length) problems.push('model length');
  if (problems.length > 0) {
    throw new ClientError('UPDATE_MANIFEST_MISMATCH', `manifest disagrees with release ${name} v${version}: ${problems.join(', ')}`);
  }
  return m;
}

export class ModelUpdater {
  private pending: Promise<UpdateResult> | undefined;

  constructor(private readonly o: UpdaterOptions) {}

  /** Checks for and installs a newer release; concurrent calls share one check. */
  check(): Promise<UpdateResult> {
    this.pending ??= this.run().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async run(): Promise<UpdateResult> {
    const { db, model } = this.o;
    let version: number | undefined;
    let candidate: Classifier | undefined;
    try {
      const trusted = (await loadTrusted(db)) ?? (await trustInitialRoot(db, await this.o.initialRoot()));
      const refreshed = await refreshTufMetadata({ trusted, remote: this.o.remote, now: (this.o.now ?? (() => new Date()))() });
      const installed = this.o.installedVersion();
      version = newestModelRelease(refreshed.targets, model);
      if (version === undefined) throw new ClientError('UPDATE_NOT_FOUND', `the repository has no release of ${model}`);
      if (version < installed) {
        throw new ClientError('UPDATE_VERSION_NOT_NEWER', `newest release v${version} is below the installed v${installed}`);
      }
      if (version === installed) {
        await saveTrusted(db, refreshed.trusted);
        return { status: 'up-to-date', version };
      }
      const paths = releasePaths(model, version);
      const modelTarget = refreshed.targets[paths.model];
      const manifestTarget = refreshed.targets[paths.manifest];
      if (!modelTarget || !manifestTarget) throw new ClientError('UPDATE_NOT_FOUND', `release v${version} is incomplete`);
      if (modelTarget.length > this.o.maxModelBytes) {
        throw new TufError('TUF_TOO_LARGE', `${paths.model} is signed as ${modelTarget.length} bytes, over this browser's cap`);
      }
      const manifestBytes = await fetchVerifiedTarget(this.o.remote, manifestTarget);
      const manifest = checkManifest(manifestBytes, model, version, modelTarget);
      const modelBytes = await fetchVerifiedTarget(this.o.remote, modelTarget);
      candidate = await this.selfTest(modelBytes, manifest);
      await installModel(db, { version, manifestBytes, modelBytes }, refreshed.trusted);
      const result: UpdateResult = { status: 'updated', version, classifier: candidate };
      if (installed > 0) result.previous = installed;
      return result;
    } catch (error) {
      await candidate?.release();
      return { status: 'rejected', code: errorCode(error), message: errorMessage(error), ...(version !== undefined ? { version } : {}) };
    }
  }

  private async selfTest(bytes: Uint8Array, manifest: ModelManifest): Promise<Classifier> {
    let classifier: Classifier | undefined;
    try {
      classifier = await Classifier.load(bytes, manifest);
      await classifier.selfTest();
      return classifier;
    } catch (cause) {
      await classifier?.release();
      throw new ClientError('UPDATE_SELF_TEST_FAILED', `v${manifest.version} failed its self-test: ${errorMessage(cause)}`, { cause });
    }
  }
}
