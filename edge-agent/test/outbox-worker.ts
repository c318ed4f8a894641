/**
 * The child of the outbox kill -9 test: enqueues samples and drains them (acks a random subset)
 * as fast as it can, until it is killed. It prints `S <id>` only after `enqueue` answered `stored`,
 * and `A <id>` before asking to delete it, so the parent's claim "stored and never acked means still
 * in the outbox" is exactly what the outbox promises. Stdout is a pipe: writes are synchronous on Linux.
 */
import { randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import { SqliteOutbox } from '../src/outbox/sqlite-outbox.js';

const path = process.argv[2];
if (!path) throw new Error('usage: outbox-worker.ts <db path>');
const outbox = new SqliteOutbox({
  path,
  maxBytes: 1e12,
  overflow: 'reject_new',
  ttlMs: 1e12,
  backoff: { baseMs: 1, maxMs: 10, jitter: 0.5 },
});
writeSync(1, 'READY\n');
for (;;) {
  const sampleId = randomBytes(32).toString('hex');
  const result = await outbox.enqueue({
    sampleId,
    bytes: randomBytes(200 + Math.floor(Math.random() * 4000)),
    priority: Math.floor(Math.random() * 3),
  });
  if (result === 'stored') writeSync(1, `S ${sampleId}\n`);
  else writeSync(1, `X ${result}\n`);
  if (Math.random() < 0.5) {
    const due = await outbox.due(4);
    await outbox.markSent(due.map((i) => i.sampleId));
    const acked = due.filter(() => Math.random() < 0.5).map((i) => i.sampleId);
    if (acked.length > 0) {
      writeSync(1, acked.map((a) => `A ${a}\n`).join(''));
      await outbox.ack(acked);
    }
  }
}
