/**
 * Tables of the training triggers (#6): the fleet's telemetry windows, kept for drift detection and
 * for watching a rollout's canary cohort, and the log of trigger firings. Same conventions as
 * `schema.ts`: ISO-8601 text times, text ids, JSON as text.
 */
import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * One row per telemetry window a device published. The key is (device, window start), so a QoS1
 * duplicate of the same window is ignored instead of counted twice. `confidence_histogram` is the
 * sum of the per-class histograms, precomputed so that aggregating a lookback reads one small array
 * per row; `classes` keeps the window's per-class stats verbatim.
 */
export const telemetryWindows = sqliteTable(
  'telemetry_windows',
  {
    deviceId: text('device_id').notNull(),
    windowStart: text('window_start').notNull(),
    windowEnd: text('window_end').notNull(),
    receivedAt: text('received_at').notNull(),
    modelName: text('model_name').notNull(),
    modelVersion: integer('model_version').notNull(),
    total: integer('total').notNull(),
    lowConfidenceThreshold: real('low_confidence_threshold').notNull(),
    lowConfidenceRate: real('low_confidence_rate').notNull(),
    latencyP50: real('latency_p50').notNull(),
    latencyP95: real('latency_p95').notNull(),
    /** `number[20]`: the window's confidence histogram over all classes. */
    confidenceHistogram: text('confidence_histogram', { mode: 'json' }).notNull().$type<number[]>(),
    /** `{ [label]: { count, confidenceHistogram } }` as the device sent it. */
    classes: text('classes', { mode: 'json' }).notNull().$type<Record<string, { count: number; confidenceHistogram: number[] }>>(),
  },
  (t) => [
    primaryKey({ columns: [t.deviceId, t.windowStart] }),
    index('telemetry_end_idx').on(t.windowEnd),
    index('telemetry_model_idx').on(t.modelName, t.modelVersion, t.windowEnd),
  ],
);

/**
 * Every time a training trigger fired, with the inputs it decided on, so that "why did the hub
 * retrain?" has an answer. Only firings are stored; evaluations that did not fire (or were held by
 * the debounce or a cool-down) go to the log. `others` lists the kinds that were ready at the same
 * evaluation and rode along with this firing.
 */
export const triggerFirings = sqliteTable(
  'trigger_firings',
  {
    id: text('id').primaryKey(),
    at: text('at').notNull(),
    kind: text('kind', { enum: ['newLabels', 'labelChange', 'schedule', 'performanceDrop', 'drift', 'manual'] }).notNull(),
    reason: text('reason').notNull(),
    inputs: text('inputs', { mode: 'json' }).notNull(),
    others: text('others', { mode: 'json' }).notNull(),
    /** Who asked, for manual firings. */
    actor: text('actor'),
    /** The training this firing was measured against (from the pipeline), if there was one. */
    sinceTrainingAt: text('since_training_at'),
    sinceDatasetId: text('since_dataset_id'),
  },
  (t) => [index('trigger_firings_at_idx').on(t.at), index('trigger_firings_kind_idx').on(t.kind, t.at)],
);
