/** Errors of the edge agent: every one carries a stable `code` and, where there is one, a `cause`. */
import { CodedError } from '@edgeloop/protocol';

export type AgentErrorCode =
  // configuration and CLI
  | 'BAD_CONFIG'
  | 'BAD_ARGUMENT'
  // the classifier
  | 'NO_MODEL'
  | 'BAD_MODEL'
  | 'MODEL_LOAD_FAILED'
  | 'BAD_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'UNSUPPORTED_FORMAT'
  | 'INFERENCE_FAILED'
  // the outbox, the sampler's state and the uplink
  | 'OUTBOX_CORRUPT'
  | 'OUTBOX_FULL'
  | 'OUTBOX_FAILED'
  | 'UPLINK_FAILED'
  // model updates (TUF): each names the check that refused the update
  | 'UPDATE_FETCH_FAILED'
  | 'UPDATE_TIMEOUT'
  | 'UPDATE_TOO_LARGE'
  | 'UPDATE_REDIRECT_REFUSED'
  | 'UPDATE_BAD_METADATA'
  | 'UPDATE_UNSIGNED'
  | 'UPDATE_ROLLBACK'
  | 'UPDATE_EXPIRED'
  | 'UPDATE_HASH_MISMATCH'
  | 'UPDATE_NOT_FOUND'
  | 'UPDATE_VERSION_NOT_NEWER'
  | 'UPDATE_MANIFEST_MISMATCH'
  | 'UPDATE_SELF_TEST_FAILED'
  | 'UPDATE_INSTALL_FAILED'
  | 'UPDATE_NO_PREVIOUS'
  // lifecycle
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

export class AgentError extends CodedError<AgentErrorCode> {
  override readonly name = 'AgentError';
}
