/**
 * The ingest pipeline under test (not used by the hub): a real SQLite file in a temporary
 * directory, the real file object store, and a `publish` that records what the hub would hand to
 * the broker, noting for each ack what a second database connection (and the store) held at that
 * moment; a blob spiller on the same database and store, which tests start or flush.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { decodeJson, type SampleAck } from '@edgeloop/protocol';
import Database from 'better-sqlite3';
import type { DeviceMessage } from '../broker/hub-broker.js';
import { configFor, type IngestConfig } from '../config.js';
import { type OpenDatabase, openDatabase } from '../db/open.js';
import { createLogger } from '../log.js';
import { createMetrics, type HubMetrics } from '../metrics.js';
import { FsObjectStore } from '../storage/fs.js';
import type { ObjectStore } from '../storage/object-store.js';
import { sampleObjectKey } from '../storage/sample-blob.js';
import { BlobSpiller } from './blob-spiller.js';
import { createIngest, type Ingest } from './pipeline.js';
import { closeSqliteWriter } from './sqlite-writer.js';

export interface PublishedAck {
  topic: string;
  ack: SampleAck;
  /** For each accepted id: whether its row was visible to another connection when the ack left. */
  committedWhenPublished: boolean[];
  /** For each accepted id: whether its bytes were durable (staged and committed, or in the store) then. */
  bytesWhenPublished: boolean[];
}

export interface Harness {
  dir: string;
  database: OpenDatabase;
  /** A second, read-only connection: it sees only COMMITted rows. */
  reader: Database.Database;
  store: FsObjectStore;
  /** Counts `put` calls on the real store. */
  puts: { count: number };
  /** A spiller on the same database and store, not started: tests flush it or start it. */
  spiller: BlobSpiller;
  acks: PublishedAck[];
  ingest: Ingest;
  metrics: HubMetrics;
  logs: Array<Record<string, unknown>>;
  count(sql: string): number;
  storedKeys(): Promise<string[]>;
  close(): Promise<void>;
}

export const DEVICES = ['dev-a', 'dev-b', 'dev-c', 'dev-d'];

export function sampleMessage(deviceId: string, payload: Uint8Array): DeviceMessage {
  return { deviceId, channel: 'samples', topic: `edgeloop/v1/devices/${deviceId}/samples`, payload, qos: 1 };
}

export async function startHarness(
  options: { config?: Partial<IngestConfig>; wrapStore?: (store: ObjectStore) => ObjectStore } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloop-ingest-'));
  const database = openDatabase(join(dir, 'hub.db'));
  const insertDevice = database.sqlite.prepare(
    "INSERT INTO devices (id, secret_hash, created_at, created_by) VALUES (?, 'x', '2026-01-01T00:00:00.000Z', 'test')",
  );
  for (const id of DEVICES) insertDevice.run(id);
  const reader = new Database(join(dir, 'hub.db'), { readonly: true });
  const store = await FsObjectStore.open(join(dir, 'objects'));
  const real: ObjectStore = store;
  const puts = { count: 0 };
  const counting: ObjectStore = {
    put: (key, bytes, opts) => {
      puts.count++;
      return real.put(key, bytes, opts);
    },
    get: (key) => store.get(key),
    head: (key) => store.head(key),
    delete: (key) => store.delete(key),
    list: (prefix) => store.list(prefix),
    description: store.description,
    close: () => store.close(),
  };
  const ingestStore = options.wrapStore ? options.wrapStore(counting) : counting;
  const acks: PublishedAck[] = [];
  const rowVisible = reader.prepare('SELECT count(*) FROM samples WHERE id = ?').pluck();
  const stagedVisible = reader.prepare('SELECT count(*) FROM sample_blobs WHERE sample_id = ?').pluck();
  const bytesDurable = (id: string) => stagedVisible.get(id) === 1 || existsSync(join(store.root, ...sampleObjectKey(id).split('/')));
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const log = createLogger('debug', sink);
  const ingest = createIngest({
    db: database,
    store: ingestStore,
    publish: async (topic, payload) => {
      const decoded = decodeJson('ack', payload);
      if (!decoded.ok) throw decoded.error;
      const committedWhenPublished = decoded.value.accepted.map((id) => rowVisible.get(id) === 1);
      const bytesWhenPublished = decoded.value.accepted.map(bytesDurable);
      acks.push({ topic, ack: decoded.value, committedWhenPublished, bytesWhenPublished });
    },
    config: { ...configFor(dir).ingest, ...options.config },
    log,
    metrics,
  });
  const spiller = new BlobSpiller({ db: database, store: ingestStore, log, metrics });
  return {
    dir,
    database,
    reader,
    store,
    puts,
    spiller,
    acks,
    ingest,
    metrics,
    logs,
    count: (sql) => reader.prepare(sql).pluck().get() as number,
    async storedKeys() {
      const keys: string[] = [];
      for await (const key of store.list('')) keys.push(key);
      return keys;
    },
    async close() {
      await ingest.drain();
      await spiller.stop();
      await closeSqliteWriter(database.sqlite);
      reader.close();
      database.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The value of a counter or histogram series, by its labels or sample-name suffix. */
export async function metricValue(
  metric: { get(): Promise<{ values: Array<{ value: number; labels: object; metricName?: string }> }> },
  match: { labels?: Record<string, string>; suffix?: string } = {},
): Promise<number> {
  const { values } = await metric.get();
  const hit = values.find(
    (v) =>
      (!match.suffix || v.metricName?.endsWith(match.suffix)) &&
      Object.entries(match.labels ?? {}).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x),
  );
  return hit?.value ?? 0;
}
