/**
 * The browser client's one error type. Every error carries a `code` (shown in the notice area, so
 * a person can quote it) and, where there is one, the `cause`.
 */
export type ClientErrorCode =
  | 'CONFIG_UNAVAILABLE'
  | 'CONFIG_INVALID'
  | 'REGISTER_FAILED'
  | 'STORAGE_FAILED'
  | 'MODEL_LOAD_FAILED'
  | 'INFERENCE_FAILED'
  | 'UPDATE_NOT_FOUND'
  | 'UPDATE_VERSION_NOT_NEWER'
  | 'UPDATE_MANIFEST_MISMATCH'
  | 'UPDATE_SELF_TEST_FAILED'
  | 'UPDATE_INSECURE_CONTEXT'
  | 'UPDATE_FAILED'
  | 'IMAGE_UNSUPPORTED';

export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The `code` of any error (a ClientError's, a TufError's, a ProtocolError's), else `UNKNOWN`. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** A one-line message for the notice area. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
