/**
 * One TUF refresh (specification §5.1–5.6) with tuf-js, in a working copy of the trusted metadata;
 * what tuf-js verified is persisted atomically even when a later step fails (a new root, say, stays
 * trusted), and the freeze checks run again against the injected clock.
 */
import { Updater } from 'tuf-js';
import type { BoundedFetcher } from './fetcher.js';
import {
  checkExpiry,
  ensureTrustedRoot,
  loadTrusted,
  type MetadataDirs,
  persistVerified,
  prepareWorkingCopy,
  type TrustedMetadata,
} from './trusted-metadata.js';

export interface RefreshOptions {
  dirs: MetadataDirs;
  repositoryUrl: string;
  fetcher: BoundedFetcher;
  trustedRoot?: Uint8Array;
  now: Date;
}

/** The repository URL with exactly one trailing slash. */
export function repositoryBase(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** Refreshes and persists the trusted metadata; returns it with the Updater to fetch targets with. */
export async function refreshTrusted(o: RefreshOptions): Promise<{ updater: Updater; trusted: TrustedMetadata }> {
  await ensureTrustedRoot(o.dirs, o.trustedRoot); // §5.2: load the trusted root
  await prepareWorkingCopy(o.dirs);
  const base = repositoryBase(o.repositoryUrl);
  const updater = new Updater({
    metadataDir: o.dirs.work,
    metadataBaseUrl: `${base}metadata/`,
    targetBaseUrl: `${base}targets/`,
    fetcher: o.fetcher,
  });
  try {
    await updater.refresh(); // §5.3 root, §5.4 timestamp, §5.5 snapshot, §5.6 targets
  } finally {
    await persistVerified(o.dirs); // persisted before anything acts on it
  }
  const trusted = await loadTrusted(o.dirs);
  checkExpiry(trusted, o.now);
  return { updater, trusted };
}
