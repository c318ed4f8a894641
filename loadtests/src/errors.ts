/** Errors of the loadtests package: every one carries a stable `code` and, where there is one, a `cause`. */
import { CodedError } from '@edgeloop/protocol';

export type LoadtestsErrorCode = 'UNKNOWN_SHIFT' | 'BAD_ARGUMENT' | 'HUB_REQUEST_FAILED' | 'AGENT_FAILED';

export class LoadtestsError extends CodedError<LoadtestsErrorCode> {
  override readonly name = 'LoadtestsError';
}
