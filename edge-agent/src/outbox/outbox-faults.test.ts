/**
 * Faults of the SQLite outbox: a corrupt database is quarantined and recreated with an alert, and a
 * full disk (simulated with `PRAGMA max_page_count`) rejects new samples without throwing, then
 * recovers once acknowledged samples free space.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DurableDb } from './durable-db.js';
import { id } from './outbox.contract.js';
import type { OutboxAlert, OutboxPolicy } from './outbox.js';
import { SqliteOutbox } from './sqlite-outbox.js';

let dir: string;
let path: string;
let alerts: OutboxAlert[];
const policy = (): OutboxPolicy => ({
  maxBytes: 1e9,
  overflow: 'reject_new',
  ttlMs: 1e9,
  backoff: { baseMs: 100, maxMs: 1_000, jitter: 0 },
  now: () => 1_700_000_000_000,
  onAlert: (a) => alerts.push(a),
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'outbox-faults-'));
  path = join(dir, 'agent.db');
  alerts = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const quarantined = () => readdirSync(dir).filter((f) => f.includes('.corrupt-'));

describe('a corrupt database', () => {
  it('of garbage bytes is moved aside, recreated empty and alerted', async () => {
    const garbage = randomBytes(16_384);
    writeFileSync(path, garbage);
    const outbox = new SqliteOutbox({ ...policy(), path });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ code: 'OUTBOX_CORRUPT', quarantinedAs: `${path}.corrupt-1700000000000` });
    expect(readFileSync(`${path}.corrupt-1700000000000`).equals(garbage)).toBe(true);
    expect(await outbox.enqueue({ sampleId: id(1), bytes: randomBytes(100) })).toBe('stored');
    expect(await outbox.stats()).toMatchObject({ count: 1, quarantined: 1 });
    await outbox.close();
  });

  it('with one damaged page of a real outbox is caught by quick_check and quarantined with its WAL', async () => {
    const first = new SqliteOutbox({ ...policy(), path });
    for (let i = 0; i < 300; i++) await first.enqueue({ sampleId: id(i), bytes: randomBytes(500) });
    await first.close();
    const pages = readFileSync(path).byteLength / 4096;
    expect(pages).toBeGreaterThan(20);
    // Damage one b-tree page in the middle of the file (SQLite's default page size is 4096).
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096 * Math.floor(pages / 2));
    closeSync(fd);
    // Leave a -wal file behind too: it belongs to the damaged file and must move with it.
    writeFileSync(`${path}-wal`, Buffer.alloc(0));

    const outbox = new SqliteOutbox({ ...policy(), path });
    expect(alerts.map((a) => a.code)).toEqual(['OUTBOX_CORRUPT']);
    expect(quarantined()).toContain('agent.db.corrupt-1700000000000');
    expect(quarantined()).toContain('agent.db.corrupt-1700000000000-wal');
    expect(await outbox.stats()).toMatchObject({ count: 0, quarantined: 1 });
    expect(await outbox.enqueue({ sampleId: id(1), bytes: randomBytes(100) })).toBe('stored');
    await outbox.close();
    // The quarantined copy really is damaged.
    const old = new Database(`${path}.corrupt-1700000000000`, { readonly: true });
    expect(old.pragma('quick_check', { simple: true })).not.toBe('ok');
    old.close();
  });

  it('reported by SQLite in the middle of an operation is quarantined and the operation redone', () => {
    // SQLite reports damage it meets later as SQLITE_CORRUPT from any statement; this test double
    // of such an error drives the same path as a real one.
    const events: string[] = [];
    const db = new DurableDb({ path, now: () => 5, onQuarantine: (e) => events.push(e.quarantinedAs) });
    db.addSchema('CREATE TABLE IF NOT EXISTS t (x INTEGER)');
    db.tx(() => db.db.prepare('INSERT INTO t VALUES (1)').run());
    let calls = 0;
    const rows = db.guard(() => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('database disk image is malformed'), { code: 'SQLITE_CORRUPT' });
      return db.db.prepare('SELECT COUNT(*) AS n FROM t').get();
    });
    expect(calls).toBe(2);
    expect(rows).toEqual({ n: 0 });
    expect(events).toEqual([`${path}.corrupt-5`]);
    expect(existsSync(`${path}.corrupt-5`)).toBe(true);
    expect(db.meta('quarantined')).toBe(1);
    db.close();
  });
});

describe('a full disk', () => {
  it('rejects new samples with an alert, never throws, and recovers when acks free space', async () => {
    const outbox = new SqliteOutbox({ ...policy(), path, maxPageCount: 64 });
    const stored: string[] = [];
    let rejected = 0;
    for (let i = 0; i < 200 && rejected < 5; i++) {
      const r = await outbox.enqueue({ sampleId: id(i), bytes: randomBytes(6_000) });
      if (r === 'stored') stored.push(id(i));
      else rejected++;
    }
    expect(stored.length).toBeGreaterThan(10);
    expect(rejected).toBe(5);
    expect(alerts.length).toBe(5);
    expect(alerts.every((a) => a.code === 'OUTBOX_FULL' && a.reason === 'disk_full')).toBe(true);
    expect(await outbox.stats()).toMatchObject({ count: stored.length, rejected: 5 });
    // Reads and the uplink's bookkeeping keep working while full.
    expect((await outbox.due(1000)).length).toBe(stored.length);
    await outbox.markSent(stored.slice(0, 3));
    // The hub acknowledges half: their pages are free again, and new samples fit.
    expect(await outbox.ack(stored.slice(0, Math.ceil(stored.length / 2)))).toBe(Math.ceil(stored.length / 2));
    expect(await outbox.enqueue({ sampleId: id(1_000), bytes: randomBytes(6_000) })).toBe('stored');
    expect(await outbox.enqueue({ sampleId: id(1_001), bytes: randomBytes(6_000) })).toBe('stored');
    await outbox.close();
  });
});
