/**
 * Test fixtures for the labelling and dataset tests (not used by the hub): a real SQLite file in a
 * temporary directory, the real file object store, a silent logger and fresh metrics.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { type OpenDatabase, openDatabase } from '../db/open.js';
import { createLogger, type Logger } from '../log.js';
import { createMetrics, type HubMetrics } from '../metrics.js';
import { FsObjectStore } from '../storage/fs.js';

export interface TestHub {
  dir: string;
  database: OpenDatabase;
  store: FsObjectStore;
  log: Logger;
  metrics: HubMetrics;
  count(sql: string, ...params: unknown[]): number;
  close(): Promise<void>;
}

export async function openTestHub(): Promise<TestHub> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-labeling-'));
  const database = openDatabase(join(dir, 'hub.db'));
  const store = await FsObjectStore.open(join(dir, 'objects'));
  const log = createLogger('warn', new Writable({ write: (_chunk, _enc, done) => done() }));
  return {
    dir,
    database,
    store,
    log,
    metrics: createMetrics({ defaultMetrics: false }),
    count: (sql, ...params) =>
      database.sqlite
        .prepare(sql)
        .pluck()
        .get(...params) as number,
    close: async () => {
      database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A small PNG, different for every `seed` (noise from a seeded generator). */
export async function noisePng(seed: number, size = 16, channels: 1 | 3 = 3): Promise<Uint8Array> {
  const data = Buffer.alloc(size * size * channels);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  const png = await sharp(data, { raw: { width: size, height: size, channels } })
    .png()
    .toBuffer();
  return new Uint8Array(png);
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export interface SampleFacts {
  id?: string;
  deviceId?: string | null;
  receivedAt?: string;
  predictedLabel?: string | null;
  confidence?: number | null;
  uncertainty?: number | null;
  preLabel?: string | null;
  queueState?: 'pending' | 'labelled' | 'skipped';
  objectKey?: string;
}

let counter = 0;

/** Inserts a device sample row as ingest would (no blob unless the test stores one). */
export function insertSample(database: OpenDatabase, facts: SampleFacts = {}): string {
  const id = facts.id ?? sha256(new TextEncoder().encode(`sample-${++counter}-${Math.random()}`));
  database.sqlite
    .prepare(
      `INSERT INTO samples (id, source, device_id, received_at, mime, width, height, byte_length, object_key,
         predicted_label, confidence, uncertainty, pre_label, queue_state)
       VALUES (?, 'device', ?, ?, 'image/png', 16, 16, 100, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      id,
      facts.deviceId === undefined ? 'dev-a' : facts.deviceId,
      facts.receivedAt ?? '2026-01-01T00:00:00.000Z',
      facts.objectKey ?? `samples/${id.slice(0, 2)}/${id}`,
      facts.predictedLabel === undefined ? 'cat' : facts.predictedLabel,
      facts.confidence === undefined ? 0.5 : facts.confidence,
      facts.uncertainty ?? null,
      facts.preLabel ?? null,
      facts.queueState ?? 'pending',
    );
  return id;
}

/** Appends a label and marks the sample labelled, as the queue does. */
export function labelSample(database: OpenDatabase, id: string, label: string, by = 'tester'): void {
  database.sqlite.transaction(() => {
    database.sqlite
      .prepare("INSERT INTO labels (sample_id, label, source, action, labelled_by, labelled_at) VALUES (?, ?, 'human', 'correct', ?, ?)")
      .run(id, label, by, new Date().toISOString());
    database.sqlite.prepare("UPDATE samples SET queue_state = 'labelled' WHERE id = ?").run(id);
  })();
}
