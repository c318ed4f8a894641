/**
 * The hub's tables (drizzle, SQLite dialect). Times are ISO-8601 text and ids are text, so the same
 * shapes map onto PostgreSQL later without a data migration. Change this file, then run
 * `npm run db:generate -w hub` and commit the generated SQL in `hub/drizzle/`.
 */
import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Edge devices and browser clients. `secretHash` is a Mosquitto-compatible PBKDF2 hash. */
export const devices = sqliteTable('devices', {
  id: text('id').primaryKey(),
  secretHash: text('secret_hash').notNull(),
  createdAt: text('created_at').notNull(),
  createdBy: text('created_by').notNull(),
  revokedAt: text('revoked_at'),
  /** `online` / `offline` from the status topic and the broker's connect/disconnect events. */
  status: text('status', { enum: ['unknown', 'online', 'offline'] })
    .notNull()
    .default('unknown'),
  lastSeenAt: text('last_seen_at'),
  /** Model the device last reported, `name@version`. */
  model: text('model'),
  note: text('note'),
});

/**
 * One row per distinct image (id = sha256 of its bytes). Device samples and imported images share
 * this table: `source` says which.
 */
export const samples = sqliteTable(
  'samples',
  {
    id: text('id').primaryKey(),
    source: text('source', { enum: ['device', 'import'] }).notNull(),
    deviceId: text('device_id'),
    /** Where the image came from for imports: a path, a URL or `mnist:<digit>/<index>`. */
    origin: text('origin'),
    receivedAt: text('received_at').notNull(),
    capturedAt: text('captured_at'),
    mime: text('mime').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    byteLength: integer('byte_length').notNull(),
    objectKey: text('object_key').notNull(),
    /** The device's prediction and sampling facts, when it came from a device. */
    modelName: text('model_name'),
    modelVersion: integer('model_version'),
    predictedLabel: text('predicted_label'),
    confidence: real('confidence'),
    samplingStrategy: text('sampling_strategy'),
    samplingScore: real('sampling_score'),
    inclusionProbability: real('inclusion_probability'),
    audit: integer('audit', { mode: 'boolean' }).notNull().default(false),
    /** The production model's pre-annotation on the hub; `uncertainty` orders the labelling queue. */
    preLabel: text('pre_label'),
    preConfidence: real('pre_confidence'),
    preModel: text('pre_model'),
    uncertainty: real('uncertainty'),
    /** Labelling state: `pending` until a person (or an import) settles it. */
    queueState: text('queue_state', { enum: ['pending', 'labelled', 'skipped'] })
      .notNull()
      .default('pending'),
    /** Extra header fields kept verbatim (probabilities, annotation, latency). */
    extra: text('extra', { mode: 'json' }),
  },
  (t) => [
    index('samples_device_idx').on(t.deviceId, t.receivedAt),
    // The labelling queue's order index is an expression index that drizzle-kit cannot express:
    // it lives in the custom migration `drizzle/0001_queue_order.sql`.
    index('samples_received_idx').on(t.receivedAt),
  ],
);

/**
 * Sample images on their way to the object store. Ingest writes a small image here in the same
 * transaction as its `samples` row, so the COMMIT that the device's ack waits for makes the bytes
 * durable too, at one fsync per group commit instead of two or more fsyncs per image in the object
 * store. The `BlobSpiller` then puts each blob into the object store and deletes its row; readers
 * look here when the store has no object yet (`storage/sample-blob.ts`).
 */
export const sampleBlobs = sqliteTable('sample_blobs', {
  sampleId: text('sample_id')
    .primaryKey()
    .references(() => samples.id),
  bytes: blob('bytes', { mode: 'buffer' }).notNull(),
  stagedAt: text('staged_at').notNull(),
});

/**
 * Labels, append-only: the newest row per sample is its label. `source` is `human`,
 * `pre-annotation` (accepted as proposed by the model) or `import`; `action` records what the
 * person did (accept or correct).
 */
export const labels = sqliteTable(
  'labels',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    sampleId: text('sample_id')
      .notNull()
      .references(() => samples.id),
    label: text('label').notNull(),
    source: text('source', { enum: ['human', 'pre-annotation', 'import', 'device-user'] }).notNull(),
    action: text('action', { enum: ['accept', 'correct', 'import', 'annotate'] }).notNull(),
    labelledBy: text('labelled_by').notNull(),
    labelledAt: text('labelled_at').notNull(),
  },
  (t) => [index('labels_sample_idx').on(t.sampleId, t.id)],
);

/** Immutable dataset snapshots; `id` is the content hash of the sorted (sampleId, label) manifest. */
export const datasets = sqliteTable('datasets', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: text('created_at').notNull(),
  createdBy: text('created_by').notNull(),
  /** Sorted label set, JSON. */
  labels: text('labels', { mode: 'json' }).notNull().$type<string[]>(),
  itemCount: integer('item_count').notNull(),
  /** Counts per split and per label, JSON. */
  stats: text('stats', { mode: 'json' }).notNull(),
  /** The snapshot this one was derived from, if any. */
  parentId: text('parent_id'),
  note: text('note'),
});

export const datasetItems = sqliteTable(
  'dataset_items',
  {
    datasetId: text('dataset_id')
      .notNull()
      .references(() => datasets.id),
    sampleId: text('sample_id')
      .notNull()
      .references(() => samples.id),
    label: text('label').notNull(),
    split: text('split', { enum: ['train', 'validation', 'test'] }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.datasetId, t.sampleId] })],
);

/** Who did what, when: device issuance and revocation, labelling, snapshots, imports. */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: text('at').notNull().default(sql`(strftime('%Y-%m-%dT%H:%M:%fZ','now'))`),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    subject: text('subject'),
    detail: text('detail', { mode: 'json' }),
  },
  (t) => [index('audit_at_idx').on(t.at)],
);
