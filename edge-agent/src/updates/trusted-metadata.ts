/**
 * The trusted TUF metadata on disk. `<stateDir>/tuf-metadata/` holds the last verified root,
 * timestamp, snapshot and targets. Each file tuf-js verified is persisted atomically (temporary
 * file, fsync, rename, directory fsync), root first, before anything acts on it (TUF §5.3.8,
 * §5.4.5, §5.5.7, §5.6.6); a torn root.json would stop every later update. See `refresh.ts`.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, MetadataKind, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { AgentError } from '../errors.js';
import { fsyncDir, TMP_MARK, tempPathFor, writeFileAtomic, writeFileDurable } from './durable-fs.js';

/** In the order they are persisted: a new root before anything its new keys signed. */
export const METADATA_FILES = ['root.json', 'timestamp.json', 'snapshot.json', 'targets.json'] as const;
export type MetadataFile = (typeof METADATA_FILES)[number];

/** The bytes of each metadata file, by name; absent roles are absent. */
export type MetadataBytes = Map<MetadataFile, Buffer>;

export interface MetadataDirs {
  /** The durable trusted metadata. */
  trusted: string;
  /** tuf-js's working copy in earlier agent versions; boot removes one if it is left. */
  work: string;
  /** Partial downloads. */
  tmp: string;
}

export function metadataDirs(stateDir: string): MetadataDirs {
  return { trusted: join(stateDir, 'tuf-metadata'), work: join(stateDir, 'tuf-metadata.work'), tmp: join(stateDir, 'tuf-tmp') };
}

/** The verified metadata as last persisted; the roles after root are absent before the first refresh. */
export interface TrustedMetadata {
  root: Metadata<Root>;
  timestamp?: Metadata<Timestamp>;
  snapshot?: Metadata<Snapshot>;
  targets?: Metadata<Targets>;
}

async function readOptional(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cause;
  }
}

function parse<K extends MetadataKind>(kind: K, bytes: Buffer) {
  return Metadata.fromJSON(kind as MetadataKind.Root, JSON.parse(bytes.toString('utf8'))) as unknown as Metadata<
    K extends MetadataKind.Root ? Root : K extends MetadataKind.Timestamp ? Timestamp : K extends MetadataKind.Snapshot ? Snapshot : Targets
  >;
}

/**
 * Installs the provisioned root (TUF §5.2: the trusted root shipped with the client) unless a
 * trusted root is already persisted: a later root, reached by rotation, is never replaced by it.
 */
export async function ensureTrustedRoot(dirs: MetadataDirs, initialRoot: Uint8Array | undefined): Promise<void> {
  await mkdir(dirs.trusted, { recursive: true });
  if (await readOptional(join(dirs.trusted, 'root.json'))) return;
  if (!initialRoot) throw new AgentError('BAD_CONFIG', `no trusted TUF root in ${dirs.trusted} and none provisioned`);
  try {
    const root = parse(MetadataKind.Root, Buffer.from(initialRoot));
    root.verifyDelegate(MetadataKind.Root, root);
  } catch (cause) {
    throw new AgentError('BAD_CONFIG', 'the provisioned TUF root is not a self-signed root', { cause });
  }
  await writeFileAtomic(join(dirs.trusted, 'root.json'), initialRoot);
}

/** Removes what an interrupted check leaves: the working copy, partial downloads, temporary files. */
export async function removeLeftovers(dirs: MetadataDirs): Promise<void> {
  await rm(dirs.work, { recursive: true, force: true });
  await rm(dirs.tmp, { recursive: true, force: true });
  const names = await readdir(dirs.trusted).catch(() => [] as string[]);
  for (const n of names) if (n.includes(TMP_MARK)) await rm(join(dirs.trusted, n), { force: true });
}

/** The persisted metadata files, unchecked (tuf-js checks them when it loads them). */
export async function readTrustedFiles(dirs: MetadataDirs): Promise<MetadataBytes> {
  const files: MetadataBytes = new Map();
  for (const f of METADATA_FILES) {
    const bytes = await readOptional(join(dirs.trusted, f));
    if (bytes) files.set(f, bytes);
  }
  return files;
}

/**
 * Persists the files tuf-js verified, each atomically. A new root goes first and is durable on its
 * own, before anything its keys signed; the others are written and fsynced, renamed in order and
 * made durable by one directory fsync. A crash in between leaves some of them new and some old:
 * {@link loadTrusted} and tuf-js tie them together by version and hash, and fetch what does not fit.
 */
export async function persistWritten(dirs: MetadataDirs, written: MetadataBytes): Promise<void> {
  const root = written.get('root.json');
  if (root) await writeFileAtomic(join(dirs.trusted, 'root.json'), root);
  const staged: [string, string][] = [];
  try {
    for (const f of METADATA_FILES) {
      const bytes = written.get(f);
      if (f === 'root.json' || !bytes) continue;
      const path = join(dirs.trusted, f);
      const tmp = tempPathFor(path);
      staged.push([tmp, path]);
      await writeFileDurable(tmp, bytes);
    }
    for (const [tmp, path] of staged) await rename(tmp, path);
    staged.length = 0;
  } finally {
    for (const [tmp] of staged) await rm(tmp, { force: true });
  }
  if (written.size > (root ? 1 : 0)) await fsyncDir(dirs.trusted);
}

/**
 * Loads the persisted metadata and checks it again (signatures by the trusted root's keys, the
 * versions snapshot and timestamp name): it is our own state, but a disk can rot.
 */
export async function loadTrusted(dirs: MetadataDirs): Promise<TrustedMetadata> {
  return trustedFrom(await readTrustedFiles(dirs), { signatures: true });
}

/**
 * The trusted metadata in `files`: the versions snapshot and timestamp name, and the targets hash
 * snapshot names, are always checked; the signatures only when `signatures` is set. They are skipped
 * only for bytes tuf-js verified in this same check.
 */
export function trustedFrom(files: MetadataBytes, { signatures }: { signatures: boolean }): TrustedMetadata {
  const rootBytes = files.get('root.json');
  if (!rootBytes) throw new AgentError('UPDATE_BAD_METADATA', 'no trusted root persisted');
  const root = parse(MetadataKind.Root, rootBytes);
  const check = (role: MetadataKind, md: Metadata<Root | Timestamp | Snapshot | Targets>) => {
    if (signatures) root.verifyDelegate(role, md);
  };
  check(MetadataKind.Root, root);
  const out: TrustedMetadata = { root };
  const ts = files.get('timestamp.json');
  if (ts) {
    out.timestamp = parse(MetadataKind.Timestamp, ts);
    check(MetadataKind.Timestamp, out.timestamp);
  }
  const snapBytes = files.get('snapshot.json');
  const snap = snapBytes && parse(MetadataKind.Snapshot, snapBytes);
  if (snap && out.timestamp?.signed.snapshotMeta.version === snap.signed.version) {
    out.snapshot = snap;
    check(MetadataKind.Snapshot, snap);
  }
  const targets = files.get('targets.json');
  if (targets && out.snapshot) {
    const t = parse(MetadataKind.Targets, targets);
    out.snapshot.signed.meta['targets.json']?.verify(targets);
    if (out.snapshot.signed.meta['targets.json']?.version === t.signed.version) {
      check(MetadataKind.Targets, t);
      out.targets = t;
    }
  }
  return out;
}

/**
 * The freeze-attack checks again, against the injected clock: tuf-js 5 reads the wall clock
 * (`new Date()` when the Updater is built) and cannot be given another. Metadata expired by either
 * clock is refused. TUF §5.3.10 (root), §5.4.4 (timestamp), §5.5.6 (snapshot), §5.6.5 (targets).
 */
export function checkExpiry(trusted: TrustedMetadata, now: Date): void {
  for (const role of ['root', 'timestamp', 'snapshot', 'targets'] as const) {
    const md = trusted[role];
    if (!md) throw new AgentError('UPDATE_BAD_METADATA', `no trusted ${role} metadata after the refresh`);
    if (md.signed.isExpired(now)) {
      throw new AgentError('UPDATE_EXPIRED', `${role}.json expired at ${md.signed.expires} (now ${now.toISOString()})`);
    }
  }
}
