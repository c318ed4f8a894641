/**
 * A TUF client verifier (specification 1.0.x §5) with Web Standards only: WebCrypto Ed25519 and
 * sha256, so the browser verifies model updates itself, with the same rules as the edge agent.
 */
export { TufError, type TufErrorCode } from '../errors.js';
export { canonicalJson } from './canonical-json.js';
export { refreshTufMetadata, type TufRefreshOptions } from './refresh.js';
export { fetchVerifiedTarget, hashedTargetPath, newestModelRelease, tufTargetDownloadPath, withMetadataDir } from './targets.js';
export {
  defaultTufLimits,
  type TufLimits,
  type TufRefreshResult,
  type TufRemote,
  type TufTargetInfo,
  type TufTrustedBytes,
} from './types.js';
