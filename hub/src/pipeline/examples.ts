/**
 * What the gate compares the challenger and the champion on.
 *
 * **Frozen golden test set.** The test split of the first snapshot a champion of the model was
 * trained on, with the labels that snapshot recorded (`dataset_items` rows never change), stored
 * in `golden_sets` when the first champion is chosen. Splits are a hash of the sample id, so no
 * later training ever trains on these samples: every snapshot puts them in its test split too.
 * Relabelling a golden sample later does not move the set; to re-freeze it, delete the row and
 * the next first-champion choice sets it again.
 *
 * **Recent reviewed hard samples.** Device samples received in the last `windowDays`, on which
 * the device's model was unsure (confidence below `maxConfidence`), that a person has labelled
 * (`labels.source = 'human'`), newest first, at most `max`; their current label counts. Samples
 * already in the golden set are not counted twice, and neither are samples in the training split
 * of the challenger's snapshot (the challenger saw their labels).
 */
import type { OpenDatabase } from '../db/open.js';
import type { LabelledImage } from '../gate/evaluate.js';
import type { ObjectStore } from '../storage/object-store.js';
import { readSampleBlob } from '../storage/sample-blob.js';
import type { PipelineConfig } from './config.js';

export interface GoldenDeps {
  db: OpenDatabase;
  store: ObjectStore;
  now?: () => Date;
}

/** The golden snapshot of `model`, if one was frozen. */
export function goldenDataset(db: OpenDatabase, model: string): string | undefined {
  return db.sqlite.prepare<[string], { dataset_id: string }>('SELECT dataset_id FROM golden_sets WHERE model = ?').get(model)?.dataset_id;
}

/** Freezes `datasetId` as the golden set of `model` unless one is frozen already. */
export function freezeGolden(db: OpenDatabase, model: string, datasetId: string, at: Date): void {
  db.sqlite
    .prepare('INSERT OR IGNORE INTO golden_sets (model, dataset_id, created_at) VALUES (?, ?, ?)')
    .run(model, datasetId, at.toISOString());
}

export interface GateExamples {
  examples: LabelledImage[];
  detail: { goldenDatasetId: string; golden: number; hard: number; missing: number };
}

/** The golden test split plus the recent hard samples, with their image bytes. */
export async function gateExamples(
  deps: GoldenDeps,
  model: string,
  challengerDatasetId: string,
  hard: PipelineConfig['hardSamples'],
): Promise<GateExamples> {
  const golden = goldenDataset(deps.db, model);
  if (!golden) throw new Error(`no golden set frozen for ${model}`);
  const goldenItems = deps.db.sqlite
    .prepare<[string], { sampleId: string; label: string }>(
      "SELECT sample_id AS sampleId, label FROM dataset_items WHERE dataset_id = ? AND split = 'test' ORDER BY sample_id",
    )
    .all(golden);
  const since = new Date((deps.now?.() ?? new Date()).getTime() - hard.windowDays * 86_400_000).toISOString();
  const hardItems = deps.db.sqlite
    .prepare<[string, number, string, string, number], { sampleId: string; label: string }>(
      `SELECT s.id AS sampleId, l.label AS label
       FROM samples s JOIN labels l ON l.id = (SELECT max(id) FROM labels WHERE sample_id = s.id)
       WHERE s.source = 'device' AND s.queue_state = 'labelled' AND s.received_at >= ?
         AND s.confidence IS NOT NULL AND s.confidence < ? AND l.source = 'human'
         AND s.id NOT IN (SELECT sample_id FROM dataset_items WHERE dataset_id = ?)
         AND s.id NOT IN (SELECT sample_id FROM dataset_items WHERE dataset_id = ? AND split = 'train')
       ORDER BY s.received_at DESC LIMIT ?`,
    )
    .all(since, hard.maxConfidence, golden, challengerDatasetId, hard.max);
  const examples: LabelledImage[] = [];
  let missing = 0;
  for (const item of [...goldenItems, ...hardItems]) {
    const bytes = await readSampleBlob(deps, item.sampleId);
    if (bytes) examples.push({ bytes, label: item.label });
    else missing++;
  }
  return { examples, detail: { goldenDatasetId: golden, golden: goldenItems.length, hard: hardItems.length, missing } };
}
