/**
 * One TUF refresh (specification §5.1–5.6) with tuf-js, against the trusted metadata held in memory;
 * what tuf-js verified is persisted atomically even when a later step fails (a new root, say, stays
 * trusted), and the freeze checks run again against the injected clock.
 *
 * tuf-js 5 reads its local metadata with `readFileSync` and writes each file it verified with a plain
 * `writeFileSync` (no fsync, no rename), which a `kill -9` can tear. So its two file hooks
 * (`loadLocalMetadata`, `persistMetadata`) are replaced on the instance: it reads the trusted bytes
 * from memory and hands back what it verified, and this module persists those files durably,
 * before anything acts on them (TUF §5.3.8, §5.4.5, §5.5.7, §5.6.6). The caller keeps the trusted
 * bytes between refreshes ({@link KnownTrusted}); a process that starts or recovers reads them
 * from disk once. tuf-js is pinned (5.0.1); the hooks are checked to exist when this module loads.
 */
import { Updater } from 'tuf-js';
import type { BoundedFetcher } from './fetcher.js';
import {
  checkExpiry,
  ensureTrustedRoot,
  METADATA_FILES,
  type MetadataBytes,
  type MetadataDirs,
  type MetadataFile,
  persistWritten,
  readTrustedFiles,
  type TrustedMetadata,
  trustedFrom,
} from './trusted-metadata.js';

export interface RefreshOptions {
  dirs: MetadataDirs;
  repositoryUrl: string;
  fetcher: BoundedFetcher;
  trustedRoot?: Uint8Array;
  now: Date;
}

/** What the caller knows the trusted directory holds; `files` is unset when nothing is known. */
export interface KnownTrusted {
  files?: MetadataBytes;
}

/** The two methods of tuf-js's `Updater` that touch its metadata directory. */
interface UpdaterFileHooks {
  loadLocalMetadata(fileName: string): Buffer;
  persistMetadata(metaDataName: string, bytesData: Buffer): void;
}

const hooks = Updater.prototype as unknown as Partial<UpdaterFileHooks>;
if (typeof hooks.loadLocalMetadata !== 'function' || typeof hooks.persistMetadata !== 'function') {
  throw new Error('tuf-js changed: Updater has no loadLocalMetadata/persistMetadata; edgeloop pins tuf-js 5.0.1');
}

/** The repository URL with exactly one trailing slash. */
export function repositoryBase(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The trusted files, read from disk: once per process, and again after a failed persist. */
async function readFromDisk(o: RefreshOptions): Promise<MetadataBytes> {
  await ensureTrustedRoot(o.dirs, o.trustedRoot); // §5.2: load the trusted root
  return readTrustedFiles(o.dirs);
}

function fileOf(role: string): MetadataFile | undefined {
  const file = `${role}.json`;
  return (METADATA_FILES as readonly string[]).includes(file) ? (file as MetadataFile) : undefined;
}

/**
 * Refreshes and persists the trusted metadata; returns it with its bytes and the Updater to look
 * targets up with. `known` is updated to what the trusted directory holds afterwards (unset if
 * persisting failed, so the next refresh reads the directory again).
 */
export async function refreshTrusted(
  o: RefreshOptions,
  known: KnownTrusted = {},
): Promise<{ updater: Updater; trusted: TrustedMetadata; files: MetadataBytes }> {
  const current = known.files ?? (await readFromDisk(o));
  known.files = undefined;
  const base = repositoryBase(o.repositoryUrl);
  // The constructor reads root.json from metadataDir (the durable copy, equal to `current`).
  const updater = new Updater({
    metadataDir: o.dirs.trusted,
    metadataBaseUrl: `${base}metadata/`,
    targetBaseUrl: `${base}targets/`,
    fetcher: o.fetcher,
  });
  const written: MetadataBytes = new Map();
  const own = updater as unknown as UpdaterFileHooks;
  own.loadLocalMetadata = (role) => {
    const file = fileOf(role);
    const bytes = file && current.get(file);
    if (!bytes) throw Object.assign(new Error(`no trusted ${role} metadata`), { code: 'ENOENT' });
    return bytes;
  };
  own.persistMetadata = (role, bytes) => {
    const file = fileOf(role);
    if (!file) throw new Error(`unexpected metadata ${role}: delegated targets are not used`);
    written.set(file, Buffer.from(bytes));
  };
  try {
    await updater.refresh(); // §5.3 root, §5.4 timestamp, §5.5 snapshot, §5.6 targets
  } finally {
    await persistWritten(o.dirs, written); // persisted before anything acts on it
    known.files = new Map([...current, ...written]);
  }
  // tuf-js verified every signature of these bytes (here or in an earlier refresh, and at boot);
  // the versions and hashes that tie them together are checked again.
  const trusted = trustedFrom(known.files, { signatures: false });
  checkExpiry(trusted, o.now);
  return { updater, trusted, files: known.files };
}
