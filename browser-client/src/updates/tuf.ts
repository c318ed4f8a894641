/**
 * The TUF verifier the browser uses: protocol's (`@edgeloop/protocol`, WebCrypto Ed25519 and
 * sha256, the same rules as the edge agent). This file is the one place the client binds to it.
 */
export {
  fetchVerifiedTarget,
  newestModelRelease,
  refreshTufMetadata,
  TufError,
  type TufRefreshResult,
  type TufRemote,
  type TufTargetInfo,
  type TufTrustedBytes,
  withMetadataDir,
} from '@edgeloop/protocol';
