-- The labelling queue's order (labeling/queue.ts): pending samples by COALESCE(uncertainty,
-- 1 - confidence) descending, then received_at and id. With this index SQLite walks the rows in
-- order instead of sorting every pending sample (drizzle-kit cannot declare expression indexes).
CREATE INDEX `samples_queue_order_idx` ON `samples` (`queue_state`, COALESCE(`uncertainty`, 1.0 - `confidence`) DESC, `received_at`, `id`);
