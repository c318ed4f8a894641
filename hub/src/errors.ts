/** Errors of the hub: every one carries a stable `code` and, where there is one, a `cause`. */
import { CodedError } from '@edgeloop/protocol';

export type HubErrorCode =
  | 'BAD_CONFIG'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_LARGE'
  | 'BAD_IMAGE'
  | 'STORAGE_FAILED'
  | 'DATABASE_FAILED'
  | 'BROKER_FAILED'
  | 'OVERLOADED'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

export class HubError extends CodedError<HubErrorCode> {
  override readonly name = 'HubError';
}
