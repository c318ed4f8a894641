/** The public shapes of the TUF client verifier: trusted state, the remote, the result, limits. */

/** Raw bytes of the trusted metadata as last verified: what a client persists (IndexedDB, disk). */
export interface TufTrustedBytes {
  root: Uint8Array;
  timestamp?: Uint8Array;
  snapshot?: Uint8Array;
  targets?: Uint8Array;
}

/**
 * Fetches a repository file by its path relative to the repository base ('2.root.json',
 * 'timestamp.json', 'targets/mnist-cnn/3/<sha>.model.onnx'). Resolves undefined on 404. Must not
 * return more than maxBytes (reject with TufError TOO_LARGE or stop reading). The hub serves its
 * metadata one level down, below `metadata/`: wrap such a remote in {@link withMetadataDir}.
 */
export interface TufRemote {
  get(path: string, maxBytes: number): Promise<Uint8Array | undefined>;
}

/** A target file as the top-level targets role signed it. */
export interface TufTargetInfo {
  path: string;
  length: number;
  sha256: string;
  custom?: unknown;
}

/** What a successful {@link refreshTufMetadata} verified. */
export interface TufRefreshResult {
  /** The new trusted bytes to persist (only after this resolves; nothing partial). */
  trusted: TufTrustedBytes;
  /** Every target of the verified top-level targets metadata, by path. */
  targets: Record<string, TufTargetInfo>;
  versions: { root: number; timestamp: number; snapshot: number; targets: number };
}

/** Caps on what the verifier downloads or reads back, checked before anything is parsed. */
export interface TufLimits {
  rootBytes: number;
  timestampBytes: number;
  snapshotBytes: number;
  targetsBytes: number;
  /** Most root versions fetched in one refresh (TUF §5.3.3; python-tuf's `max_root_rotations`). */
  maxRootRotations: number;
}

/** The defaults of tuf-js and python-tuf: 512 kB root, 16 KiB timestamp, 2 MB snapshot, 5 MB targets. */
export const defaultTufLimits: Readonly<TufLimits> = Object.freeze({
  rootBytes: 512_000,
  timestampBytes: 16_384,
  snapshotBytes: 2_000_000,
  targetsBytes: 5_000_000,
  maxRootRotations: 32,
});
