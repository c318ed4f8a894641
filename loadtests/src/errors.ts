/** Errors of the loadtests package: every one carries a stable `code` and, where there is one, a `cause`. */

export type LoadtestsErrorCode = 'UNKNOWN_SHIFT' | 'BAD_ARGUMENT' | 'HUB_REQUEST_FAILED' | 'AGENT_FAILED';

export class LoadtestsError extends Error {
  override readonly name = 'LoadtestsError';
  readonly code: LoadtestsErrorCode;

  constructor(code: LoadtestsErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
  }
}
