import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OpenDatabase, openDatabase } from '../db/open.js';
import { closeSqliteWriter, IDLE_CLOSE_MS, sqliteWriterFor, type WriterRow } from './sqlite-writer.js';

const row = (n: number, staged?: Uint8Array): WriterRow => ({
  params: [
    n.toString(16).padStart(64, '0'),
    'dev-a',
    '2026-01-02T03:04:05.000Z',
    null,
    'image/png',
    8,
    8,
    10,
    `k/${n}`,
    'm',
    1,
    'a',
    0.5,
    's',
    0.1,
    1,
    0,
    'null',
  ],
  annotation: null,
  staged,
});

describe('SQLite writer thread', () => {
  let dir: string;
  let database: OpenDatabase;
  let reader: Database.Database;
  const count = (sql: string) => reader.prepare(sql).pluck().get() as number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloop-writer-'));
    database = openDatabase(join(dir, 'hub.db'));
    reader = new Database(join(dir, 'hub.db'), { readonly: true });
  });
  afterEach(async () => {
    await closeSqliteWriter(database.sqlite);
    reader.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits on its own connection, one writer per connection, and copies staged bytes out of larger buffers', async () => {
    const writer = sqliteWriterFor(database.sqlite);
    expect(sqliteWriterFor(database.sqlite)).toBe(writer);
    // A view into a big buffer, as an MQTT payload is: only the view's bytes are stored.
    const socketBuffer = new Uint8Array(65_536).fill(7);
    socketBuffer.set([1, 2, 3], 100);
    expect(await writer.commit([row(1, socketBuffer.subarray(100, 103)), row(2), row(1)])).toEqual(['inserted', 'inserted', 'duplicate']);
    expect(count('SELECT count(*) FROM samples')).toBe(2);
    expect([...(reader.prepare('SELECT bytes FROM sample_blobs').pluck().get() as Buffer)]).toEqual([1, 2, 3]);
    await writer.unstage([row(1).params[0] as string]);
    expect(count('SELECT count(*) FROM sample_blobs')).toBe(0);
  });

  it('fails a transaction as a whole, and goes on after it', async () => {
    const writer = sqliteWriterFor(database.sqlite);
    const broken = row(2);
    broken.params[4] = null; // mime NOT NULL
    await expect(writer.commit([row(1), broken])).rejects.toThrow(/NOT NULL/);
    expect(count('SELECT count(*) FROM samples')).toBe(0);
    expect(await writer.commit([row(1)])).toEqual(['inserted']);
  });

  it('finishes what it was sent before it closes, and starts again on the next write', async () => {
    const writer = sqliteWriterFor(database.sqlite);
    const sent = Array.from({ length: 20 }, (_, i) => writer.commit([row(100 + i)]));
    await closeSqliteWriter(database.sqlite);
    expect(await Promise.all(sent)).toEqual(Array(20).fill(['inserted']));
    expect(await writer.commit([row(200)])).toEqual(['inserted']);
    // Idle: the thread ends by itself, and the next write starts a new one.
    await new Promise((r) => setTimeout(r, IDLE_CLOSE_MS + 200));
    expect(await writer.commit([row(201)])).toEqual(['inserted']);
    expect(count('SELECT count(*) FROM samples')).toBe(22);
  });

  it('refuses an in-memory database, which has no second connection', () => {
    const memory = openDatabase(':memory:');
    try {
      expect(() => sqliteWriterFor(memory.sqlite)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    } finally {
      memory.close();
    }
  });
});
