/** Signed releases as a TUF repository (see `hub/docs/releases.md`). */
export { type AnnounceBroker, type AnnouncementInput, announce } from './announce.js';
export { generateKey, KeyDir, type KeySet, keyFromPem, type RepoKey } from './keys.js';
export { DEFAULT_EXPIRIES, type OnlineRole, type RoleName } from './metadata.js';
export { type PublishedRelease, type ReleaseInput, versionsOf } from './publish.js';
export { MANIFEST_FILE, MODEL_FILE, releaseTargets } from './release-paths.js';
export { ReleaseRepository, type ReleaseRepositoryOptions, type RepositoryVersions } from './repository.js';
export { CACHE_IMMUTABLE, CACHE_MUTABLE, isRepositoryPath, readRepositoryFile, TUF_PREFIX } from './serve.js';
export type { RepositoryState } from './state.js';
