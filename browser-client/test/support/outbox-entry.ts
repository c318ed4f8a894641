// Bundled for Chromium by `outbox.test.ts`: exposes the IndexedDB outbox to `page.evaluate`.
import { IdbOutbox } from '../../src/outbox/idb-outbox.js';
import { openDatabase } from '../../src/storage/idb.js';

async function open(options: { maxEntries?: number; maxBytes?: number } = {}): Promise<IdbOutbox> {
  const db = await openDatabase('edgeloop-test');
  return new IdbOutbox(db, { maxEntries: options.maxEntries ?? 500, maxBytes: options.maxBytes ?? 50e6 });
}

(globalThis as unknown as { outboxTest: unknown }).outboxTest = { open };
