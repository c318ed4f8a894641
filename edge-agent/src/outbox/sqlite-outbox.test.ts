import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outboxContract } from './outbox.contract.js';
import { SqliteOutbox } from './sqlite-outbox.js';

outboxContract('SqliteOutbox', async (policy) => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-contract-'));
  const path = join(dir, 'agent.db');
  const handle = {
    outbox: new SqliteOutbox({ ...policy, path }),
    async reopen() {
      await handle.outbox.close();
      handle.outbox = new SqliteOutbox({ ...policy, path });
      return handle.outbox;
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return handle;
});
