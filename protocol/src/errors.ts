/**
 * Errors of the protocol package. Decoders never throw on bad input: they return a
 * {@link DecodeResult} whose error carries a stable `code` and the path of the first bad field.
 */

/** Stable machine-readable codes for everything that can be wrong with a message. */
/**
 * The shape every edgeloop package's error class shares: a stable machine-readable `code` from the
 * package's own union, a message for people, and the `cause` underneath when there is one. Each
 * package subclasses it (`HubError`, `AgentError`, …) with its own `name` and codes.
 */
export class CodedError<C extends string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
  }
}

export type ProtocolErrorCode = 'TOO_LARGE' | 'BAD_FRAME' | 'BAD_JSON' | 'SCHEMA' | 'ID_MISMATCH' | 'BAD_TOPIC' | 'BAD_STATE';

/** One problem found in a message, with the path of the offending field (`[]` for the whole). */
export interface ProtocolIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** The one error type of `@edgeloop/protocol`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ProtocolErrorCode;
  readonly issues: readonly ProtocolIssue[];

  constructor(code: ProtocolErrorCode, message: string, options: { issues?: readonly ProtocolIssue[]; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }

  /** The path of the first issue, `a.b[2].c` style; empty when the whole message is bad. */
  get path(): string {
    return formatPath(this.issues[0]?.path ?? []);
  }
}

/** Outcome of decoding untrusted bytes: a value or a {@link ProtocolError}, never a throw. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

/** Builds the failing side of a {@link DecodeResult}. */
export function fail<T = never>(
  code: ProtocolErrorCode,
  message: string,
  issues?: readonly ProtocolIssue[],
  cause?: unknown,
): DecodeResult<T> {
  return { ok: false, error: new ProtocolError(code, message, { issues, cause }) };
}

/** Renders a field path as `a.b[2].c`. */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/**
 * Why the TUF verifier (`tuf/`) refused an update, one code per kind of check (TUF specification
 * §5): the metadata's form, its signatures, versions going down, expiry (freeze), the hash and
 * length its parent role signed, size caps, and the repository not having or not serving a file.
 */
export type TufErrorCode =
  | 'TUF_BAD_METADATA'
  | 'TUF_BAD_SIGNATURE'
  | 'TUF_ROLLBACK'
  | 'TUF_EXPIRED'
  | 'TUF_BAD_HASH'
  | 'TUF_BAD_LENGTH'
  | 'TUF_TOO_LARGE'
  | 'TUF_NOT_FOUND'
  | 'TUF_FETCH_FAILED';

/** A refused TUF refresh or target download; `cause` holds what failed underneath, if anything. */
export class TufError extends CodedError<TufErrorCode> {
  override readonly name = 'TufError';
}
