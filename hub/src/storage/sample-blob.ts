/**
 * Where a sample's image bytes are. Every image ends up in the object store under
 * {@link sampleObjectKey}; a small one that ingest has just committed may still be staged in the
 * `sample_blobs` table until the `BlobSpiller` (`ingest/blob-spiller.ts`) has moved it. Readers of
 * sample images (the API's image route, pre-annotation, integrity checks) go through
 * {@link readSampleBlob} so that they find it in either place.
 */
import type Database from 'better-sqlite3';
import type { OpenDatabase } from '../db/open.js';
import type { ObjectStore } from './object-store.js';

/** Where a sample's image lives in the object store: fanned out by the first two hex digits. */
export function sampleObjectKey(sampleId: string): string {
  return `samples/${sampleId.slice(0, 2)}/${sampleId}`;
}

const stagedLookups = new WeakMap<Database.Database, Database.Statement<[string], Buffer | undefined>>();

function stagedLookup(sqlite: Database.Database): Database.Statement<[string], Buffer | undefined> {
  let lookup = stagedLookups.get(sqlite);
  if (!lookup) {
    lookup = sqlite.prepare<[string], Buffer | undefined>('SELECT bytes FROM sample_blobs WHERE sample_id = ?').pluck();
    stagedLookups.set(sqlite, lookup);
  }
  return lookup;
}

/**
 * The image bytes of sample `sampleId`, or `undefined` when it has none. The staging table is read
 * first: the spiller deletes a staged row only after the object store holds the bytes, so a miss
 * there followed by a look in the store cannot fall between the two places, as the other order can
 * (store: not yet; spiller moves it; staging: not any more). The staging look-up is one primary-key
 * read in SQLite.
 */
export async function readSampleBlob(deps: { db: OpenDatabase; store: ObjectStore }, sampleId: string): Promise<Uint8Array | undefined> {
  const staged = stagedLookup(deps.db.sqlite).get(sampleId);
  if (staged) return new Uint8Array(staged.buffer, staged.byteOffset, staged.byteLength);
  return deps.store.get(sampleObjectKey(sampleId));
}
