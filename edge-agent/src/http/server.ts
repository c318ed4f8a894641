/**
 * The agent's local HTTP API, on loopback by default (it has no authentication):
 * - `POST /classify`: image bytes in (`curl --data-binary @x.png`), top-k JSON out;
 *   `?topK=3`, `?probabilities=true`; errors are 4xx/5xx with `{ code, message }`.
 * - `GET /status`: model, outbox, uplink and update state.
 * - `GET /metrics`: Prometheus text.
 * - `GET /health`: liveness, and readiness (a model is loaded).
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Classification, ClassifyOptions } from '../classifier/classifier.js';
import { AgentError, type AgentErrorCode } from '../errors.js';

export interface HttpDeps {
  /** The agent's classification path (telemetry and sampling included). */
  classify(bytes: Uint8Array, options: ClassifyOptions): Promise<Classification>;
  status(): Promise<object> | object;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Whether a model is loaded, for `/health`'s readiness. */
  ready(): boolean;
  bodyLimitBytes: number;
  defaultTopK: number;
  /** Called for a request that failed on the server's side (5xx), for the log. */
  onError?: (error: unknown) => void;
}

const STATUS_OF: Partial<Record<AgentErrorCode, ContentfulStatusCode>> = {
  BAD_ARGUMENT: 400,
  BAD_IMAGE: 400,
  UNSUPPORTED_FORMAT: 415,
  IMAGE_TOO_LARGE: 413,
  NO_MODEL: 503,
  SHUTTING_DOWN: 503,
};

function parseTopK(raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const k = Number(raw);
  if (!Number.isInteger(k) || k < 1 || k > 1000) throw new AgentError('BAD_ARGUMENT', 'topK must be an integer from 1 to 1000');
  return k;
}

/** The API as a Hono app (no socket): tests can call `app.request` directly. */
export function createHttpApp(deps: HttpDeps): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    const code = err instanceof AgentError ? err.code : 'INTERNAL';
    const status = STATUS_OF[code as AgentErrorCode] ?? 500;
    if (status >= 500) deps.onError?.(err);
    return c.json({ code, message: status >= 500 && code === 'INTERNAL' ? 'internal error' : err.message }, status);
  });
  app.notFound((c) => c.json({ code: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` }, 404));

  app.post(
    '/classify',
    bodyLimit({
      maxSize: deps.bodyLimitBytes,
      // The rest of the body is never read, so the connection cannot be reused: close it.
      onError: (c) =>
        c.json({ code: 'IMAGE_TOO_LARGE', message: `body is over the ${deps.bodyLimitBytes}-byte limit` }, 413, { connection: 'close' }),
    }),
    async (c) => {
      const topK = parseTopK(c.req.query('topK'), deps.defaultTopK);
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      if (bytes.byteLength === 0) throw new AgentError('BAD_IMAGE', 'the request body is empty; send the image bytes');
      const { probabilities, ...result } = await deps.classify(bytes, { topK });
      return c.json(c.req.query('probabilities') === 'true' ? { ...result, probabilities } : result);
    },
  );
  app.get('/status', async (c) => c.json(await deps.status()));
  app.get('/metrics', async (c) => {
    const { contentType, body } = await deps.metrics();
    return c.body(body, 200, { 'content-type': contentType });
  });
  app.get('/health', (c) => {
    const ready = deps.ready();
    return c.json({ ok: true, ready });
  });
  return app;
}

export interface RunningHttpServer {
  /** The bound port (useful with port 0). */
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens on `host:port`; resolves once bound. */
export function startHttpServer(app: Hono, options: { host: string; port: number }): Promise<RunningHttpServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, (info: AddressInfo) => {
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        port: info.port,
        url: `http://${host}:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          }),
      });
    });
    server.once('error', (e) => reject(new AgentError('BAD_CONFIG', `cannot listen on ${options.host}:${options.port}`, { cause: e })));
  });
}
