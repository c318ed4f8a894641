/** The model updater's options, results and events. */
import type { AgentError, AgentErrorCode } from '../errors.js';
import type { DownloadProgress, FetchLimits } from './fetcher.js';

export interface InstalledModel {
  name: string;
  version: number;
  /** Holds `model.onnx` and `manifest.json`. */
  dir: string;
}

export type UpdateResult =
  | {
      status: 'updated';
      model: InstalledModel;
      previous?: InstalledModel;
      timings: { totalMs: number; selfTestMs: number; swapMs: number };
    }
  | { status: 'up-to-date'; model?: InstalledModel }
  | { status: 'rejected'; code: AgentErrorCode; error: AgentError; version?: number };

export interface ModelUpdaterEvents {
  /** Bytes received of the file being downloaded. */
  progress: [DownloadProgress];
  /** The outcome of every check. */
  result: [UpdateResult];
  /** The current model changed (update, rollback or recovery): reload it. */
  model: [InstalledModel | undefined];
}

export interface ModelUpdaterOptions {
  modelName: string;
  /** `<stateDir>/tuf-metadata` holds the trusted metadata. */
  stateDir: string;
  modelsDir: string;
  /** Base URL of the repository: `metadata/` and `targets/` lie below it. */
  repositoryUrl: string;
  /** The provisioned root, used only while no trusted root is persisted. */
  trustedRoot?: Uint8Array;
  /** Loads and checks an installed model directory; throws to reject it. */
  selfTest: (dir: string) => Promise<void>;
  /** The clock expiry is checked against (default: the wall clock). */
  now?: () => Date;
  fetch?: Partial<FetchLimits>;
  /** Refuse a model target the repository signs as bigger than this (default 1 GiB). */
  maxModelBytes?: number;
  selfTestTimeoutMs?: number;
}
