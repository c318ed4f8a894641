/** Errors of the hub: every one carries a stable `code` and, where there is one, a `cause`. */

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

export class HubError extends Error {
  override readonly name = 'HubError';
  readonly code: HubErrorCode;

  constructor(code: HubErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
  }
}
