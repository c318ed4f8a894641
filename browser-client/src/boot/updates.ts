/**
 * When to look for a new model: at start (when online), on a release announcement (a hint only),
 * every `updatePollSeconds`, and on the "Check for updates" button. Updates need WebCrypto
 * (`crypto.subtle`), which browsers give only to secure contexts (https, or localhost): elsewhere
 * the stored model keeps classifying and updates are switched off with a notice.
 */
import type { ClientConfig, LocalLimits } from '../config.js';
import { resolveUrl } from '../config.js';
import type { Classifier } from '../inference/classifier.js';
import { httpRemote } from '../updates/http-remote.js';
import { TufError, withMetadataDir } from '../updates/tuf.js';
import { ModelUpdater, type UpdateResult } from '../updates/updater.js';

export interface UpdatesOptions {
  db: IDBDatabase;
  config: ClientConfig;
  limits: LocalLimits;
  installedVersion: () => number;
  onInstalled: (classifier: Classifier) => void;
  onResult: (result: UpdateResult | { status: 'disabled'; reason: string }, manual: boolean) => void;
}

export class Updates {
  private readonly updater: ModelUpdater | undefined;
  private readonly disabled: string | undefined;

  constructor(private readonly o: UpdatesOptions) {
    const { config } = o;
    if (!config.model) this.disabled = 'The hub names no model yet.';
    else if (!globalThis.crypto?.subtle) {
      this.disabled = 'Model updates are off: this page is not a secure context (use https or localhost). The stored model still works.';
    }
    if (this.disabled || !config.model) return;
    const base = resolveUrl(config.tuf.base);
    this.updater = new ModelUpdater({
      db: o.db,
      model: config.model,
      remote: withMetadataDir(httpRemote(base)),
      initialRoot: async () => {
        const res = await fetch(resolveUrl(config.tuf.initialRoot), { cache: 'no-store', credentials: 'same-origin' });
        if (!res.ok) throw new TufError('TUF_FETCH_FAILED', `initial root: HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
      installedVersion: o.installedVersion,
      maxModelBytes: o.limits.maxModelBytes,
    });
  }

  /** Why updates are off here, if they are. */
  get disabledReason(): string | undefined {
    return this.disabled;
  }

  /** Starts the poll; checks now when online. Call once, from `main.ts`. */
  start(): void {
    if (!this.updater) return;
    setInterval(() => navigator.onLine && void this.check(false), this.o.config.updatePollSeconds * 1000);
    if (navigator.onLine) void this.check(false);
  }

  /** One check (shared with any in progress); `manual` ones always report. */
  async check(manual: boolean): Promise<void> {
    if (!this.updater) {
      this.o.onResult({ status: 'disabled', reason: this.disabled ?? 'updates are off' }, manual);
      return;
    }
    const result = await this.updater.check();
    if (result.status === 'updated') this.o.onInstalled(result.classifier);
    this.o.onResult(result, manual);
  }
}
