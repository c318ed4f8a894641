/**
 * The running model, swappable while classifications are in flight. A swap is one assignment, so
 * every classification runs entirely on the old model or entirely on the new one; the old native
 * session is released only once its last in-flight classification has finished. Classification
 * therefore never stops during an update, and never runs on a released session.
 */
import { AgentError } from '../errors.js';
import type { Classification, Classifier, ClassifyOptions } from './classifier.js';

interface Entry {
  classifier: Classifier;
  inflight: number;
  retired: boolean;
  release?: () => void;
}

export class ClassifierHolder {
  private entry: Entry | undefined;
  private closed = false;

  constructor(initial?: Classifier) {
    if (initial) this.entry = { classifier: initial, inflight: 0, retired: false };
  }

  /** The classifier new work goes to, if a model is loaded. */
  current(): Classifier | undefined {
    return this.entry?.classifier;
  }

  /** Classifies on the current model; throws `NO_MODEL` when none is loaded. */
  async classify(bytes: Uint8Array, options?: ClassifyOptions): Promise<Classification> {
    const entry = this.entry;
    if (this.closed) throw new AgentError('SHUTTING_DOWN', 'the classifier is closed');
    if (!entry) throw new AgentError('NO_MODEL', 'no model is installed yet');
    entry.inflight++;
    try {
      return await entry.classifier.classify(bytes, options);
    } finally {
      entry.inflight--;
      if (entry.retired && entry.inflight === 0) entry.release?.();
    }
  }

  /**
   * Makes `next` current at once. Resolves, with the previous classifier, after that one has
   * drained and its session has been released (immediately when nothing was in flight).
   */
  async swap(next: Classifier): Promise<Classifier | undefined> {
    if (this.closed) {
      await next.release();
      throw new AgentError('SHUTTING_DOWN', 'the classifier is closed');
    }
    const old = this.entry;
    this.entry = { classifier: next, inflight: 0, retired: false };
    if (old) await this.retire(old);
    return old?.classifier;
  }

  /** Stops accepting work and releases the current session once idle. */
  async close(): Promise<void> {
    this.closed = true;
    const old = this.entry;
    this.entry = undefined;
    if (old) await this.retire(old);
  }

  private async retire(entry: Entry): Promise<void> {
    entry.retired = true;
    if (entry.inflight > 0) await new Promise<void>((resolve) => (entry.release = resolve));
    await entry.classifier.release();
  }
}
