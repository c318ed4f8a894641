/** Verified (TUF) model updates: see `docs/updates.md`. */
export { classifyUpdateError } from './classify-error.js';
export { BoundedFetcher, type BoundedFetcherOptions, type DownloadProgress, defaultFetchLimits, type FetchLimits } from './fetcher.js';
export { type InstallRecord, ModelStore, type Pointer } from './model-store.js';
export {
  type InstalledModel,
  ModelUpdater,
  type ModelUpdaterEvents,
  type ModelUpdaterOptions,
  type UpdateResult,
} from './model-updater.js';
export { checkManifest, MANIFEST_FILE, MODEL_FILE, newestRelease, releasePaths } from './release.js';
export { canaryInputs, onnxSelfTest } from './self-test.js';
export { metadataDirs } from './trusted-metadata.js';
