/** Errors of the models package: every one carries a stable `code` and, where there is one, a `cause`. */
import { CodedError } from '@edgeloop/protocol';

export type ModelsErrorCode =
  | 'BAD_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'UNSUPPORTED_FORMAT'
  | 'FETCH_FAILED'
  | 'BAD_DATASET'
  | 'BAD_CSV'
  | 'UNSUPPORTED_LAYER'
  | 'TRAINING_DIVERGED'
  | 'NO_BACKEND'
  | 'BAD_ARGUMENT';

export class ModelsError extends CodedError<ModelsErrorCode> {
  override readonly name = 'ModelsError';
}
