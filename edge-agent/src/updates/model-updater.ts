/**
 * Verified model updates from the hub's TUF repository. One check: refresh the trusted metadata
 * with tuf-js and persist it (TUF §5.3–5.6), re-check expiry against the injected clock, pick the
 * newest release of the model, refuse one that is not above the highest ever installed, download
 * and verify it (size cap, hash), install it whole, self-test it, then swap the `current` pointer.
 * Any refusal leaves `current` untouched; a swap is one pointer rename, so the classifier keeps
 * classifying on the old model until it reloads on the `model` event.
 *
 * The quick check: once a full check found nothing newer (or installed something), the updater
 * keeps the timestamp.json bytes it verified and the metadata it trusts, in memory. The next check
 * asks for the next root first (TUF §5.3.3, as the full refresh does), then fetches timestamp.json;
 * if there is no next root, the timestamp bytes are the same and nothing trusted has expired by the
 * injected clock, nothing the repository signs can have changed (the timestamp pins the snapshot,
 * which pins the targets), so the check ends there: two small GETs, no signature work, no disk
 * writes. A next root, a different timestamp or any expiry, and the full refresh runs as before;
 * a failed fetch is reported as the full refresh would report it.
 */
import { EventEmitter } from 'node:events';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { AgentError } from '../errors.js';
import { classifyUpdateError } from './classify-error.js';
import { BoundedFetcher } from './fetcher.js';
import { installRelease } from './install.js';
import { ModelStore, type Pointer } from './model-store.js';
import { type KnownTrusted, refreshTrusted, repositoryBase } from './refresh.js';
import { chooseRelease } from './release.js';
import { runSelfTest } from './self-test.js';
import {
  checkExpiry,
  loadTrusted,
  type MetadataBytes,
  type MetadataDirs,
  metadataDirs,
  removeLeftovers,
  type TrustedMetadata,
} from './trusted-metadata.js';
import type { InstalledModel, ModelUpdaterEvents, ModelUpdaterOptions, UpdateResult } from './types.js';

export type { InstalledModel, ModelUpdaterEvents, ModelUpdaterOptions, UpdateResult } from './types.js';

/** tuf-js's own caps for root.json and timestamp.json. */
const ROOT_MAX_BYTES = 512_000;
const TIMESTAMP_MAX_BYTES = 16_384;

export class ModelUpdater extends EventEmitter<ModelUpdaterEvents> {
  private readonly store: ModelStore;
  private readonly dirs: MetadataDirs;
  private readonly now: () => Date;
  private pointer: Pointer = { v: 1, highest: 0 };
  private current: InstalledModel | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private pendingCheck: Promise<UpdateResult> | undefined;
  private recovered = false;
  /** What the last full check verified, for the quick check (see the file comment). */
  private verified: { timestamp: Buffer; trusted: TrustedMetadata; highest: number } | undefined;
  /** The trusted metadata bytes as the last refresh persisted them (see `refresh.ts`). */
  private knownTrusted: KnownTrusted = {};

  constructor(private readonly options: ModelUpdaterOptions) {
    super();
    this.store = new ModelStore(options.modelsDir, options.modelName);
    this.dirs = metadataDirs(options.stateDir);
    this.now = options.now ?? (() => new Date());
  }

  /** The verified model in use, once {@link recover} has run. */
  currentModel(): InstalledModel | undefined {
    return this.current;
  }

  /**
   * Boot: drops leftovers of an interrupted update, then re-verifies the current model against the
   * trusted metadata; if it fails, falls back to the previous one (or to none).
   */
  recover(): Promise<InstalledModel | undefined> {
    return this.serial(() => this.recoverNow());
  }

  private async recoverNow(): Promise<InstalledModel | undefined> {
    this.verified = undefined;
    this.knownTrusted = {};
    await removeLeftovers(this.dirs);
    const trusted = await loadTrusted(this.dirs).then(
      (t) => t.targets?.signed,
      () => undefined,
    );
    this.setPointer(await this.store.repair(trusted));
    this.recovered = true;
    return this.current;
  }

  /** Checks the repository and installs a newer release; concurrent calls share one check. */
  checkForUpdate(): Promise<UpdateResult> {
    this.pendingCheck ??= this.serial(() => this.check()).finally(() => (this.pendingCheck = undefined));
    return this.pendingCheck;
  }

  /** Swaps back to the previous model at once (no download); the next check will not reinstall the newer one. */
  rollback(): Promise<InstalledModel> {
    return this.serial(async () => {
      const p = this.pointer;
      if (p.previous === undefined || p.current === undefined)
        throw new AgentError('UPDATE_NO_PREVIOUS', 'no previous model to roll back to');
      const targets = await loadTrusted(this.dirs).then(
        (t) => t.targets?.signed,
        () => undefined,
      );
      const problem = await this.store.verify(p.previous, targets);
      if (problem) throw problem;
      const next: Pointer = { v: 1, current: p.previous, previous: p.current, highest: p.highest };
      await this.store.writePointer(next);
      this.setPointer(next);
      this.emit('model', this.current);
      return this.current as InstalledModel;
    });
  }

  private async check(): Promise<UpdateResult> {
    const started = performance.now();
    const fetcher = new BoundedFetcher({ tmpDir: this.dirs.tmp, limits: this.options.fetch, onProgress: (p) => this.emit('progress', p) });
    let version: number | undefined;
    let result: UpdateResult;
    try {
      if (!this.recovered) await this.recoverNow(); // the installed versions decide what is newer
      if (await this.unchanged(fetcher)) return this.report({ status: 'up-to-date', ...(this.current ? { model: this.current } : {}) });
      this.verified = undefined;
      const { updater, trusted, files } = await refreshTrusted(
        { ...this.options, dirs: this.dirs, fetcher, now: this.now() },
        this.knownTrusted,
      );
      const release = await chooseRelease(updater, trusted, this.options.modelName, this.pointer.highest, this.options.maxModelBytes);
      if (!release) {
        this.remember(trusted, files);
        return this.report({ status: 'up-to-date', ...(this.current ? { model: this.current } : {}) });
      }
      version = release.version;
      const source = {
        fetcher,
        repositoryUrl: repositoryBase(this.options.repositoryUrl),
        consistentSnapshot: trusted.root.signed.consistentSnapshot,
      };
      const { dir } = await installRelease(this.store, source, version, release);
      const testStart = performance.now();
      await runSelfTest(this.options.selfTest, dir, this.options.selfTestTimeoutMs ?? 120_000);
      const swapStart = performance.now();
      const previous = this.current;
      const next: Pointer = { v: 1, current: version, previous: this.pointer.current, highest: version };
      await this.store.writePointer(next); // the swap (atomic rename)
      this.setPointer(next);
      const swapMs = performance.now() - swapStart;
      await this.store.prune([next.current, next.previous]);
      this.remember(trusted, files);
      this.emit('model', this.current);
      const timings = { totalMs: performance.now() - started, selfTestMs: swapStart - testStart, swapMs };
      result = { status: 'updated', model: this.current as unknown as InstalledModel, ...(previous ? { previous } : {}), timings };
    } catch (error) {
      const e = classifyUpdateError(error, fetcher.lastFailure);
      result = { status: 'rejected', code: e.code, error: e, ...(version !== undefined ? { version } : {}) };
      await this.store.prune([this.pointer.current, this.pointer.previous]).catch(() => {});
    }
    return this.report(result);
  }

  /** The quick check: true when timestamp.json is byte-identical to the verified one and nothing expired. */
  private async unchanged(fetcher: BoundedFetcher): Promise<boolean> {
    const v = this.verified;
    if (!v || v.highest !== this.pointer.highest) return false;
    try {
      checkExpiry(v.trusted, this.now());
    } catch {
      return false; // the full refresh decides, and reports
    }
    // TUF §5.3.3 first, as the full refresh does: a next root (good or bad) means a full refresh.
    // Failed fetches are reported as the full refresh would report them (it fetches the same URLs).
    const base = `${repositoryBase(this.options.repositoryUrl)}metadata/`;
    try {
      await fetcher.downloadBytes(`${base}${v.trusted.root.signed.version + 1}.root.json`, ROOT_MAX_BYTES);
      return false;
    } catch (error) {
      if (!(error instanceof DownloadHTTPError && [403, 404].includes(error.statusCode))) throw error;
    }
    const bytes = await fetcher.downloadBytes(`${base}timestamp.json`, TIMESTAMP_MAX_BYTES);
    return Buffer.from(bytes).equals(v.timestamp);
  }

  private remember(trusted: TrustedMetadata, files: MetadataBytes): void {
    const timestamp = files.get('timestamp.json');
    this.verified = timestamp ? { timestamp, trusted, highest: this.pointer.highest } : undefined;
  }

  private setPointer(p: Pointer): void {
    this.pointer = p;
    this.current =
      p.current === undefined ? undefined : { name: this.options.modelName, version: p.current, dir: this.store.dirOf(p.current) };
  }

  private report(result: UpdateResult): UpdateResult {
    this.emit('result', result);
    return result;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}
