/**
 * Bearer-token auth for admin routes (RFC 6750). The token is compared in constant time: both sides
 * are hashed to 32 bytes first, so neither the content nor the length of the configured token leaks
 * through timing. An empty configured token turns every admin route off (401), so a hub started
 * without one is never open by accident.
 *
 * The actor recorded for an admin action is the token holder's self-declared name from
 * `x-edgeloop-actor` (an id: 1-64 of `[A-Za-z0-9._-]`), `admin` without it. It is attribution, not
 * authentication: everyone with the token is trusted with every name.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './problem.js';
import type { ApiEnv } from './route.js';

export const ACTOR_HEADER = 'x-edgeloop-actor';
export const DEFAULT_ACTOR = 'admin';
/** The same rule as device ids: actors land in audit rows and logs, so keep them plain. */
export const ACTOR_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Whether `presented` equals `expected`, in time independent of both; never true for an empty `expected`. */
export function tokenMatches(presented: string, expected: string): boolean {
  if (expected.length === 0) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

function unauthorized(error: 'invalid_request' | 'invalid_token' | undefined, message: string): ApiError & { challenge: string } {
  const challenge = `Bearer realm="edgeloop-hub"${error ? `, error="${error}"` : ''}`;
  return Object.assign(new ApiError(401, 'UNAUTHORIZED', message), { challenge });
}

/** The `WWW-Authenticate` value to send with an error, if it carries one. */
export function challengeOf(error: unknown): string | undefined {
  return error instanceof ApiError ? (error as ApiError & { challenge?: string }).challenge : undefined;
}

/** Middleware: 401 unless `Authorization: Bearer <token>` matches; then sets the actor. */
export function bearerAuth(token: string): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) throw unauthorized(undefined, 'admin routes need Authorization: Bearer <token>');
    const match = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
    if (!match) throw unauthorized('invalid_request', 'the Authorization header is not a bearer token');
    if (!tokenMatches(match[1]!, token)) throw unauthorized('invalid_token', 'the bearer token is not valid');
    const actor = c.req.header(ACTOR_HEADER);
    if (actor !== undefined && !ACTOR_PATTERN.test(actor)) {
      throw new ApiError(400, 'BAD_REQUEST', `${ACTOR_HEADER} must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit`, [
        { in: 'headers', path: [ACTOR_HEADER], message: 'invalid actor' },
      ]);
    }
    c.set('actor', actor ?? DEFAULT_ACTOR);
    await next();
  };
}
