/**
 * The hub's HTTP API (Hono). Every request gets a request id (`x-request-id`, echoed, generated
 * when absent or unusable) and a child logger carrying it; admin routes check the bearer token
 * before anything reads the body; bodies are capped by `hono/body-limit`, which counts the bytes
 * that actually arrive (a chunked body, or one that outgrows its Content-Length, cannot slip
 * past); every error is JSON with a `code`; every response is counted per route template.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { bearerAuth, challengeOf } from './auth.js';
import { mountClient } from './client-static.js';
import type { ApiDeps } from './deps.js';
import { ApiError, problemOf } from './problem.js';
import { type ApiEnv, mountRoutes, pathMatches, type Route } from './route.js';
import { apiRoutes } from './routes/index.js';

export type { ApiDeps };
export { apiRoutes };

/** A client's request id is kept only if it is short and plain (it lands in every log line). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Routine writes: trainer workers' lease polls, heartbeats, downloads and per-epoch metrics.
const QUIET_ROUTES = new Set(['/jobs/lease', '/jobs/{id}/heartbeat', '/jobs/{id}/samples', '/jobs/{id}/metrics']);
// A TUF client asks for the root after its own until it gets a 404 (TUF §5.3.3): that 404 is
// the normal "no newer root", sent for every update check of every device.
const TUF_METADATA_ROUTES = new Set(['/tuf/metadata/{file}', '/tuf-canary/metadata/{file}']);
const NEXT_ROOT = /\/\d+\.root\.json$/;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

function requestContext(deps: ApiDeps): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = deps.log.child({ requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.set('actor', 'anonymous');
    c.set('route', 'unmatched');
    c.header('x-request-id', requestId);
    const started = performance.now();
    await next();
    const status = c.res.status;
    const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
    deps.metrics.httpRequests.inc({ method, route: c.get('route'), status: String(status) });
    const line = { method, path: c.req.path, route: c.get('route'), status, ms: Math.round(performance.now() - started) };
    // Reads that succeed (probes, scrapes, devices polling the TUF repository, dashboards),
    // routine worker calls and the TUF "no newer root" 404 go to the debug log; writes and every
    // other failure to the info log.
    const routine = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || QUIET_ROUTES.has(line.route);
    const noNewerRoot = status === 404 && method === 'GET' && TUF_METADATA_ROUTES.has(line.route) && NEXT_ROOT.test(line.path);
    if ((routine && status < 400) || noNewerRoot) log.debug(line, 'request');
    else log.info(line, 'request');
  };
}

/** `hono/body-limit` with our error; a body that breaks off while being read is the client's fault. */
function limitBody(maxSize: number): MiddlewareHandler<ApiEnv> {
  const limit = bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, 'TOO_LARGE', `the request body is over ${maxSize} bytes`);
    },
  });
  return async (c, next) => {
    let reached = false;
    try {
      await limit(c, async () => {
        reached = true;
        await next();
      });
    } catch (error) {
      // Hono catches downstream errors itself, so what lands here came from reading the body.
      if (reached || error instanceof ApiError) throw error;
      throw new ApiError(400, 'BAD_REQUEST', 'the request body could not be read');
    }
  };
}

function allowedMethods(routes: readonly Route[], path: string): string[] {
  const methods = new Set(routes.filter((r) => pathMatches(r.path, path)).map((r) => r.method.toUpperCase()));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** The API over `deps`. Serve it with `@hono/node-server` (`main.ts` does). */
export function createApi(deps: ApiDeps): Hono<ApiEnv> {
  const routes = apiRoutes(deps);
  const app = new Hono<ApiEnv>();
  app.use('*', requestContext(deps));
  mountRoutes(app, routes, {
    authorize: bearerAuth(deps.config.adminToken),
    bodyLimit: limitBody,
    maxBodyBytes: deps.config.http.bodyLimitBytes,
  });
  mountClient(app, deps.config.browserClient.dir);

  app.notFound((c) => {
    const allowed = allowedMethods(routes, c.req.path);
    if (allowed.length > 0) {
      c.header('allow', allowed.join(', '));
      return c.json({ code: 'METHOD_NOT_ALLOWED', message: `${c.req.method} is not allowed here`, requestId: c.get('requestId') }, 405);
    }
    return c.json({ code: 'NOT_FOUND', message: `no route for ${c.req.method} ${c.req.path}`, requestId: c.get('requestId') }, 404);
  });

  app.onError((error, c) => {
    const mapped =
      error instanceof HTTPException && error.status < 500
        ? problemOf(new ApiError(error.status as 400, error.status === 413 ? 'TOO_LARGE' : 'BAD_REQUEST', error.message || 'bad request'))
        : problemOf(error);
    const log = c.get('log') ?? deps.log;
    if (mapped.internal) log.error({ err: error, route: c.get('route') }, 'request failed');
    else if (mapped.status >= 500) log.warn({ err: error, route: c.get('route') }, 'request refused');
    const challenge = challengeOf(error);
    if (challenge) c.header('www-authenticate', challenge);
    return c.json({ ...mapped.body, requestId: c.get('requestId') }, mapped.status);
  });
  return app;
}
