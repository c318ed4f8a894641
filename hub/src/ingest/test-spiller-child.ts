/**
 * Child process for the spiller crash tests (not used by the hub): runs a `BlobSpiller` over the
 * database and file store in `argv[2]` whose store SIGKILLs this process right after the
 * `argv[3]`-th put has resolved, so that blob is in the store and still staged: the moment between
 * put and delete that a crash can leave behind. With `argv[4]` = `batch`, the store takes batches
 * (`putMany`, 16 blobs a pass) and the kill follows the `argv[3]`-th batch.
 */
import { join } from 'node:path';
import { openDatabase } from '../db/open.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { FsObjectStore } from '../storage/fs.js';
import type { ObjectStore } from '../storage/object-store.js';
import { BlobSpiller } from './blob-spiller.js';

const [dir, killAfter, mode] = [process.argv[2]!, Number(process.argv[3]), process.argv[4]];
const database = openDatabase(join(dir, 'hub.db'));
const store = await FsObjectStore.open(join(dir, 'objects'));
let puts = 0;
const killing: ObjectStore = {
  ...store,
  put: async (key, bytes) => {
    await store.put(key, bytes);
    if (++puts === killAfter) process.kill(process.pid, 'SIGKILL');
  },
  get: (key) => store.get(key),
  head: (key) => store.head(key),
  delete: (key) => store.delete(key),
  list: (prefix) => store.list(prefix),
  close: () => store.close(),
  description: store.description,
};
if (mode === 'batch') {
  killing.putMany = async (items) => {
    const results = await store.putMany(items);
    if (++puts === killAfter) process.kill(process.pid, 'SIGKILL');
    return results;
  };
}
const spiller = new BlobSpiller({
  db: database,
  store: killing,
  log: createLogger('silent'),
  metrics: createMetrics({ defaultMetrics: false }),
  concurrency: 1,
  batchSize: mode === 'batch' ? 16 : undefined,
});
await spiller.flush();
// Not reached when the kill happened: a clean exit means fewer puts than `killAfter`.
process.stdout.write(`done after ${puts} puts\n`);
database.close();
