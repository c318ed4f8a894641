/**
 * The API's error bodies: always JSON `{code, message, requestId?, issues?}`. Hub errors keep their
 * code and get the HTTP status that says whether retrying can help; anything else is a bug and is
 * answered as `500 INTERNAL` without its message (which may name paths or SQL).
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HubError, type HubErrorCode } from '../errors.js';

/** Codes only the HTTP layer produces, on top of {@link HubErrorCode}. */
export type ApiErrorCode = HubErrorCode | 'METHOD_NOT_ALLOWED' | 'UNSUPPORTED_MEDIA_TYPE' | 'NO_MODEL';

/** One schema violation, as zod reports it (`path` into the part named by `in`). */
export interface Issue {
  in: 'params' | 'query' | 'body' | 'headers';
  path: (string | number)[];
  message: string;
}

/** An error the HTTP layer raises itself: a status, a code, and for schema failures the issues. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ApiErrorCode,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
  }
}

/**
 * HTTP status of each hub error code. Storage, database and broker faults are 503: the request was
 * fine and may succeed later. Configuration faults are the operator's and surface as 500.
 */
const STATUS_OF: Record<HubErrorCode, ContentfulStatusCode> = {
  BAD_CONFIG: 500,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  BAD_IMAGE: 422,
  STORAGE_FAILED: 503,
  DATABASE_FAILED: 503,
  BROKER_FAILED: 503,
  OVERLOADED: 503,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
};

export interface ErrorBody {
  code: ApiErrorCode;
  message: string;
  requestId?: string;
  issues?: Issue[];
}

/** The status and body for any thrown value; `internal` says whether it is a bug (logged as an error). */
export function problemOf(error: unknown): { status: ContentfulStatusCode; body: ErrorBody; internal: boolean } {
  if (error instanceof ApiError) {
    const body: ErrorBody = { code: error.code, message: error.message };
    if (error.issues) body.issues = error.issues;
    return { status: error.status, body, internal: error.status === 500 };
  }
  if (error instanceof HubError) {
    const status = STATUS_OF[error.code] ?? 500;
    // 500s hide their message: it is for the log, not for the client.
    if (status === 500) return { status, body: { code: 'INTERNAL', message: 'internal error' }, internal: true };
    return { status, body: { code: error.code, message: error.message }, internal: false };
  }
  return { status: 500, body: { code: 'INTERNAL', message: 'internal error' }, internal: true };
}
