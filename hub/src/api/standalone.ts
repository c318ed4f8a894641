/**
 * Serves a list of routes the way the hub's API does (admin bearer auth, body limits, JSON
 * errors), without the rest of the hub, on 127.0.0.1 (port 0 picks one). For in-process tests and
 * benches of parts of the hub: the end-to-end training test and `bench:rollout`.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../log.js';
import { bearerAuth, challengeOf } from './auth.js';
import { ApiError, problemOf } from './problem.js';
import { type ApiEnv, mountRoutes, type Route } from './route.js';

/** The admin token {@link serveRoutes} uses unless given one. */
export const STANDALONE_TEST_TOKEN = 'pipeline-admin-token-0123456789';

export type TestServer = StandaloneServer;

export interface StandaloneServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `routes` on 127.0.0.1 (port 0) as the hub's API does. */
export async function serveRoutes(
  routes: Route[],
  log: Logger,
  maxBodyBytes = 64 * 1024 * 1024,
  adminToken = STANDALONE_TEST_TOKEN,
): Promise<StandaloneServer> {
  const app = new Hono<ApiEnv>();
  app.use('*', async (c, next) => {
    c.set('requestId', 'test');
    c.set('log', log);
    c.set('actor', 'anonymous');
    await next();
  });
  mountRoutes(app, routes, {
    authorize: bearerAuth(adminToken),
    bodyLimit: (maxSize) =>
      bodyLimit({
        maxSize,
        onError: () => {
          throw new ApiError(413, 'TOO_LARGE', `the request body is over ${maxSize} bytes`);
        },
      }),
    maxBodyBytes,
  });
  app.onError((error, c) => {
    const mapped = problemOf(error);
    if (mapped.internal) log.error({ err: error }, 'request failed');
    const challenge = challengeOf(error);
    if (challenge) c.header('www-authenticate', challenge);
    return c.json(mapped.body, mapped.status);
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** The stable repository's `/tuf/*` routes (they read only the object store). */
export { releaseRoutes as stableTufRoutes } from './routes/releases.js';
