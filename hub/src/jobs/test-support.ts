/**
 * Fixtures for the job, pipeline and rollout tests (not used by the hub): a real hub database and
 * file object store in a temporary directory, the run tracker, the queue, MNIST samples imported
 * through the hub's importer, and an HTTP server on 127.0.0.1 that mounts a list of routes the way
 * `api/app.ts` does (admin bearer auth, body limits, JSON errors).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { importDataset } from '../datasets/import.js';
import { type OpenDatabase, openDatabase } from '../db/open.js';
import { createLogger, type Logger } from '../log.js';
import { defaultRegistryConfig } from '../registry/config.js';
import { RunTracker } from '../registry/runs.js';
import { FsObjectStore } from '../storage/fs.js';
import type { ObjectStore } from '../storage/object-store.js';

export { STANDALONE_TEST_TOKEN as ADMIN_TOKEN } from '../api/standalone.js';
export const WORKER_TOKEN = 'pipeline-worker-token-0123456789';

export interface HubParts {
  dir: string;
  db: OpenDatabase;
  store: ObjectStore;
  runs: RunTracker;
  log: Logger;
  close(): Promise<void>;
}

export const quietLog = (): Logger => createLogger('warn', new Writable({ write: (_c, _e, done) => done() }));

export async function openHubParts(prefix = 'edgeloop-pipeline-'): Promise<HubParts> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const db = openDatabase(join(dir, 'hub.db'));
  const store = await FsObjectStore.open(join(dir, 'objects'));
  const runs = new RunTracker({ db, store, energy: defaultRegistryConfig.energy });
  return {
    dir,
    db,
    store,
    runs,
    log: quietLog(),
    close: async () => {
      await store.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Imports `perClass` bundled MNIST digits per class as labelled samples; returns their ids. */
export async function importMnist(parts: HubParts, perClass: number): Promise<string[]> {
  const report = await importDataset(
    { db: parts.db, store: parts.store, log: parts.log },
    { kind: 'mnist', perClass },
    { actor: 'tester' },
  );
  return report.sampleIds;
}

export { serveRoutes, type TestServer } from '../api/standalone.js';
