/**
 * Imports labelled images into the hub: each one is checked (decodable within the dimension
 * bounds, a valid label, in the label set when one is given), stored as a blob under its sha256,
 * then recorded as a `samples` row (source `import`, already `labelled`) with a `labels` row that
 * names who imported it. Same order as ingest: blob first, then the rows in a transaction, so a row
 * never points at a missing blob. Bad inputs and duplicates are reported, never fatal.
 */
import { createHash } from 'node:crypto';
import { type DecodeLimits, decodeImage, defaultDecodeLimits, type FetchLimits, inspectImage, MIME_OF } from '@edgeloop/models/data';
import { LabelSchema } from '@edgeloop/protocol';
import type { OpenDatabase } from '../db/open.js';
import { HubError } from '../errors.js';
import { sampleObjectKey } from '../ingest/sample-handler.js';
import type { Logger } from '../log.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type ImportSource, readSource, type SourceImage } from './sources.js';

export type { ImportSource };

export interface ImportDeps {
  db: OpenDatabase;
  store: ObjectStore;
  log: Logger;
}

export interface ImportOptions {
  /** Who imports: recorded on every label and in the audit log. */
  actor: string;
  /** `phase` is `read` while the source is read and checked, then `store` while images are stored. */
  onProgress?(done: number, total: number, phase?: 'read' | 'store'): void;
  /** The allowed label set; images with another label are reported and skipped. */
  labels?: string[];
  limits?: DecodeLimits;
  fetchLimits?: FetchLimits;
}

export interface ImportReport {
  /** New samples stored. */
  imported: number;
  /** Inputs that were exact copies of another input, or of a sample the hub already had. */
  duplicates: number;
  problems: { source: string; reason: string }[];
  /** Sorted labels of the imported samples. */
  labels: string[];
  /** Ids of the new samples, in import order (`imported` of them). */
  sampleIds: string[];
}

/** Images stored per transaction: big enough to amortise the fsync, small enough to report progress. */
const CHUNK = 64;
const LOG_EVERY = 1000;

interface Checked {
  id: string;
  image: SourceImage;
  mime: string;
  width: number;
  height: number;
}

/** Why an image cannot be imported, or its row facts. */
async function check(image: SourceImage, labelSet: Set<string> | undefined, limits: DecodeLimits): Promise<Checked | string> {
  if (!LabelSchema.safeParse(image.label).success) return `invalid label ${JSON.stringify(image.label)}`;
  if (labelSet && !labelSet.has(image.label)) return `label "${image.label}" is not in the label set`;
  try {
    // Header dimensions, as ingest records them (before any EXIF rotation)...
    const header = await inspectImage(image.bytes, limits);
    // ...and a full decode, because a truncated body passes a header check.
    await decodeImage(image.bytes, limits);
    const id = createHash('sha256').update(image.bytes).digest('hex');
    return { id, image, mime: MIME_OF[header.format], width: header.width, height: header.height };
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Imports `source`; throws only for a bad source as a whole (BAD_REQUEST) or a storage/database fault. */
export async function importDataset(deps: ImportDeps, source: ImportSource, opts: ImportOptions): Promise<ImportReport> {
  if (typeof opts.actor !== 'string' || opts.actor === '') throw new HubError('BAD_REQUEST', 'an import needs an actor');
  const { sqlite } = deps.db;
  const log = deps.log.child({ import: source.kind, actor: opts.actor });
  const limits = opts.limits ?? defaultDecodeLimits;
  const labelSet = opts.labels ? new Set(opts.labels) : undefined;
  const read = await readSource(source, {
    limits,
    fetchLimits: opts.fetchLimits,
    onProgress: (done, total) => opts.onProgress?.(done, total, 'read'),
  });
  const problems = [...read.problems];
  let duplicates = read.duplicates;
  const sampleIds: string[] = [];
  const labels = new Set<string>();
  const exists = sqlite.prepare<[string], number>('SELECT 1 FROM samples WHERE id = ?').pluck();
  const insertSample = sqlite.prepare(
    `INSERT INTO samples (id, source, origin, received_at, mime, width, height, byte_length, object_key, queue_state)
     VALUES (?, 'import', ?, ?, ?, ?, ?, ?, ?, 'labelled') ON CONFLICT(id) DO NOTHING`,
  );
  const insertLabel = sqlite.prepare(
    "INSERT INTO labels (sample_id, label, source, action, labelled_by, labelled_at) VALUES (?, ?, 'import', 'import', ?, ?)",
  );
  const commit = sqlite.transaction((rows: Checked[], at: string) => {
    for (const row of rows) {
      const key = sampleObjectKey(row.id);
      const { changes } = insertSample.run(row.id, row.image.origin, at, row.mime, row.width, row.height, row.image.bytes.byteLength, key);
      // Lost a race with ingest or another import: the sample is theirs, and so is its label.
      if (changes === 0) {
        duplicates++;
        continue;
      }
      insertLabel.run(row.id, row.image.label, opts.actor, at);
      sampleIds.push(row.id);
      labels.add(row.image.label);
    }
  });

  const total = read.images.length;
  const seen = new Set<string>();
  for (let from = 0; from < total; from += CHUNK) {
    const chunk = read.images.slice(from, from + CHUNK);
    const checked = await Promise.all(chunk.map((image) => check(image, labelSet, limits)));
    const rows: Checked[] = [];
    checked.forEach((c, i) => {
      if (typeof c === 'string') problems.push({ source: chunk[i]!.origin, reason: c });
      else if (seen.has(c.id) || exists.get(c.id) !== undefined) duplicates++;
      else {
        seen.add(c.id);
        rows.push(c);
      }
    });
    // The chunk's puts overlap (each is an fsync or an HTTP round trip); every one lands before the COMMIT.
    await Promise.all(rows.map((row) => deps.store.put(sampleObjectKey(row.id), row.image.bytes, { contentType: row.mime })));
    commit.immediate(rows, new Date().toISOString());
    const done = Math.min(from + CHUNK, total);
    opts.onProgress?.(done, total, 'store');
    if (Math.floor(done / LOG_EVERY) > Math.floor(from / LOG_EVERY) || done === total) log.info({ done, total }, 'import progress');
  }

  const report: ImportReport = { imported: sampleIds.length, duplicates, problems, labels: [...labels].sort(), sampleIds };
  sqlite
    .prepare("INSERT INTO audit_log (actor, action, subject, detail) VALUES (?, 'dataset.import', ?, ?)")
    .run(
      opts.actor,
      source.kind,
      JSON.stringify({ imported: report.imported, duplicates, problems: problems.length, labels: report.labels }),
    );
  log.info({ imported: report.imported, duplicates, problems: problems.length }, 'import finished');
  return report;
}
