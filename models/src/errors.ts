/** Errors of the models package: every one carries a stable `code` and, where there is one, a `cause`. */

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

export class ModelsError extends Error {
  override readonly name = 'ModelsError';
  readonly code: ModelsErrorCode;

  constructor(code: ModelsErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
  }
}
