/**
 * Pre-annotation: the production model labels pending samples before a person sees them, and its
 * uncertainty orders the queue. A sample is (re-)annotated while its `pre_model` is not the current
 * model, so a new production model re-scores the whole pending queue. A sample whose image cannot
 * be classified (missing blob, undecodable) is marked with the model and no label, so it is not
 * retried on every pass; it keeps its previous order (the device confidence, unless an older model scored it).
 */
import type { OpenDatabase } from '../db/open.js';
import { HubError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readSampleBlob } from '../storage/sample-blob.js';
import { type Classifier, uncertaintyOf } from './classifier.js';

export interface PreAnnotatorDeps {
  db: OpenDatabase;
  store: ObjectStore;
  log: Logger;
  /** The current production classifier, or `undefined` while there is none. */
  classifier: () => Classifier | undefined;
}

interface Pending {
  id: string;
  objectKey: string;
}

interface Annotation {
  id: string;
  label: string | null;
  confidence: number | null;
  uncertainty: number | null;
}

export class PreAnnotator {
  constructor(private readonly deps: PreAnnotatorDeps) {}

  /**
   * Annotates up to `limit` pending samples, oldest first.
   * Returns how many got a label. Storage faults stop the pass (the rest is retried next time).
   */
  async runOnce(limit = 64): Promise<number> {
    const classifier = this.deps.classifier();
    if (!classifier) return 0;
    const { sqlite } = this.deps.db;
    const model = classifier.model ?? 'unknown';
    const pending = sqlite
      .prepare<[string, number], Pending>(
        `SELECT id, object_key AS objectKey FROM samples
         WHERE queue_state = 'pending' AND (pre_model IS NULL OR pre_model <> ?)
         ORDER BY received_at, id LIMIT ?`,
      )
      .all(model, limit);
    const done: Annotation[] = [];
    try {
      for (const sample of pending) done.push(await this.annotate(classifier, sample));
    } finally {
      // Whatever was classified before a fault is kept.
      this.save(done, model);
    }
    const labelled = done.filter((a) => a.label !== null).length;
    if (pending.length > 0) this.deps.log.debug({ model, labelled, tried: pending.length }, 'pre-annotation pass');
    return labelled;
  }

  private async annotate(classifier: Classifier, sample: Pending): Promise<Annotation> {
    const bytes = await readSampleBlob(this.deps, sample.id);
    if (bytes === undefined) {
      this.deps.log.warn({ sampleId: sample.id, key: sample.objectKey }, 'pre-annotation: the sample has no blob');
      return { id: sample.id, label: null, confidence: null, uncertainty: null };
    }
    try {
      const c = await classifier.classify(bytes);
      return { id: sample.id, label: c.label, confidence: c.confidence, uncertainty: uncertaintyOf(c) };
    } catch (error) {
      if (!(error instanceof HubError && error.code === 'BAD_IMAGE')) throw error;
      this.deps.log.warn({ sampleId: sample.id, err: error }, 'pre-annotation: the image cannot be classified');
      return { id: sample.id, label: null, confidence: null, uncertainty: null };
    }
  }

  private save(annotations: readonly Annotation[], model: string): void {
    if (annotations.length === 0) return;
    const update = this.deps.db.sqlite.prepare(
      `UPDATE samples SET pre_label = @label, pre_confidence = @confidence, pre_model = @model,
         uncertainty = COALESCE(@uncertainty, uncertainty)
       WHERE id = @id AND queue_state = 'pending'`,
    );
    // A sample labelled meanwhile keeps its state; the annotation is simply dropped for it.
    this.deps.db.sqlite.transaction(() => {
      for (const a of annotations) update.run({ ...a, model });
    })();
  }
}
