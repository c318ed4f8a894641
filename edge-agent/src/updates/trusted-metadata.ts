/**
 * The trusted TUF metadata on disk. `<stateDir>/tuf-metadata/` holds the last verified root,
 * timestamp, snapshot and targets. tuf-js writes what it verifies with a plain `writeFileSync` (no
 * fsync, no rename), which a `kill -9` can tear; a torn root.json would stop every later update.
 * So tuf-js works in a throw-away copy (`tuf-metadata.work/`) and each file it verified is then
 * persisted atomically, root first, before anything acts on it (TUF §5.3.8, §5.4.5, §5.5.7, §5.6.6).
 */
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Metadata, MetadataKind, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { AgentError } from '../errors.js';
import { TMP_MARK, writeFileAtomic } from './durable-fs.js';

/** In the order they are persisted: a new root before anything its new keys signed. */
export const METADATA_FILES = ['root.json', 'timestamp.json', 'snapshot.json', 'targets.json'] as const;

export interface MetadataDirs {
  /** The durable trusted metadata. */
  trusted: string;
  /** tuf-js's working copy, rebuilt for each check. */
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

/** A fresh working copy of the trusted metadata for tuf-js. */
export async function prepareWorkingCopy(dirs: MetadataDirs): Promise<void> {
  await rm(dirs.work, { recursive: true, force: true });
  await mkdir(dirs.work, { recursive: true });
  for (const f of METADATA_FILES) {
    await copyFile(join(dirs.trusted, f), join(dirs.work, f)).catch((cause: NodeJS.ErrnoException) => {
      if (cause.code !== 'ENOENT') throw cause;
    });
  }
}

/** Persists every file tuf-js verified and wrote into the working copy, each atomically. */
export async function persistVerified(dirs: MetadataDirs): Promise<void> {
  for (const f of METADATA_FILES) {
    const fresh = await readOptional(join(dirs.work, f));
    if (!fresh) continue;
    const old = await readOptional(join(dirs.trusted, f));
    if (!old?.equals(fresh)) await writeFileAtomic(join(dirs.trusted, f), fresh);
  }
}

/**
 * Loads the persisted metadata and checks it again (signatures by the trusted root's keys, the
 * versions snapshot and timestamp name): it is our own state, but a disk can rot.
 */
export async function loadTrusted(dirs: MetadataDirs): Promise<TrustedMetadata> {
  const bytes = async (f: string) => readOptional(join(dirs.trusted, f));
  const rootBytes = await bytes('root.json');
  if (!rootBytes) throw new AgentError('UPDATE_BAD_METADATA', 'no trusted root persisted');
  const root = parse(MetadataKind.Root, rootBytes);
  root.verifyDelegate(MetadataKind.Root, root);
  const out: TrustedMetadata = { root };
  const ts = await bytes('timestamp.json');
  if (ts) {
    out.timestamp = parse(MetadataKind.Timestamp, ts);
    root.verifyDelegate(MetadataKind.Timestamp, out.timestamp);
  }
  const snap = await bytes('snapshot.json');
  if (snap && out.timestamp?.signed.snapshotMeta.version === parse(MetadataKind.Snapshot, snap).signed.version) {
    out.snapshot = parse(MetadataKind.Snapshot, snap);
    root.verifyDelegate(MetadataKind.Snapshot, out.snapshot);
  }
  const targets = await bytes('targets.json');
  if (targets && out.snapshot) {
    const t = parse(MetadataKind.Targets, targets);
    out.snapshot.signed.meta['targets.json']?.verify(targets);
    if (out.snapshot.signed.meta['targets.json']?.version === t.signed.version) {
      root.verifyDelegate(MetadataKind.Targets, t);
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
