/**
 * What the browser client (the PWA served at `/`) needs from the hub: its configuration and its
 * own device credentials.
 *
 * `/client-config.json` names the model, the TUF repository and the initial root. The root comes
 * from the same origin as the app's code, so it is exactly as trustworthy as that code (trust on
 * first use); the client keeps it and from then on accepts only roots that chain from it.
 *
 * `POST /browser/register` issues a browser its own device credentials: the same default-deny ACL
 * as any device (it may publish only its own samples, telemetry and status). It is public, so it is
 * rate-limited per client address and in total, and can be turned off (then an admin issues
 * credentials with `POST /devices`).
 */
import { randomBytes } from 'node:crypto';
import { SamplingConfigSchema } from '@edgeloop/protocol';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { TUF_PREFIX } from '../../releases/serve.js';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../problem.js';
import type { ApiEnv } from '../route.js';
import { defineRoute, type Route } from '../route.js';

const ClientConfigSchema = z.object({
  v: z.literal(1),
  model: z.string().nullable().describe('The model the client runs and updates'),
  tuf: z.object({
    base: z.string().describe('The TUF repository (stable track), relative to the page'),
    initialRoot: z
      .string()
      .describe(
        'The root the client trusts first (metadata/1.root.json); metadata lives under `<base>metadata/`, targets under `<base>targets/`',
      ),
  }),
  mqtt: z.object({ url: z.string() }).nullable().describe('MQTT over WebSocket; null when the broker has no WebSocket listener'),
  registerUrl: z.string().nullable().describe('Where a browser gets its device credentials; null when self-registration is off'),
  sampling: z.unknown().nullable().describe('A sampling configuration (protocol SamplingConfig), until the device config topic sends one'),
  updatePollSeconds: z.number().int().positive(),
});

/** A fixed-window counter per key: at most `limit` hits in each `windowMs`. */
class WindowLimiter {
  private readonly hits = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}
  take(key: string, now: number): boolean {
    let entry = this.hits.get(key);
    if (!entry || now - entry.start >= this.windowMs) {
      // Old windows are dropped as they are met, and all at once when the map grows large.
      if (this.hits.size > 10_000) for (const [k, e] of this.hits) if (now - e.start >= this.windowMs) this.hits.delete(k);
      entry = { start: now, count: 0 };
      this.hits.set(key, entry);
    }
    if (entry.count >= this.limit) return false;
    entry.count++;
    return true;
  }
}

function clientAddress(c: Context<ApiEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // not served by @hono/node-server (in-process requests in tests)
  }
}

/** The MQTT-over-WebSocket URL for a page loaded from `requestUrl`. */
function mqttUrlFor(config: Config, deps: ApiDeps, requestUrl: string): string | null {
  if (config.browserClient.mqttUrl) return config.browserClient.mqttUrl;
  const ws = deps.broker?.urls?.ws;
  if (!ws) return null;
  const page = new URL(requestUrl);
  const port = new URL(ws).port;
  return `${page.protocol === 'https:' ? 'wss' : 'ws'}://${page.hostname}${port ? `:${port}` : ''}`;
}

export function browserRoutes(deps: ApiDeps): Route[] {
  const { config } = deps;
  const register = config.browserClient.selfRegister;
  const HOUR = 3_600_000;
  const perAddress = new WindowLimiter(register.perAddressPerHour, HOUR);
  const total = new WindowLimiter(register.totalPerHour, HOUR);
  const sampling = config.browserClient.sampling ? SamplingConfigSchema.parse(config.browserClient.sampling) : null;
  return [
    defineRoute({
      operationId: 'clientConfig',
      method: 'get',
      path: '/client-config.json',
      summary: "The browser client's configuration: model, TUF repository, broker URL",
      tags: ['browser'],
      auth: 'public',
      responses: { 200: { description: 'The configuration', json: ClientConfigSchema } },
      handler(_input, { c }) {
        c.header('cache-control', 'no-cache');
        return c.json({
          v: 1 as const,
          model: config.pipeline.model || null,
          tuf: { base: `/${TUF_PREFIX}`, initialRoot: `/${TUF_PREFIX}metadata/1.root.json` },
          mqtt: (() => {
            const url = mqttUrlFor(config, deps, c.req.url);
            return url ? { url } : null;
          })(),
          registerUrl: register.enabled ? '/browser/register' : null,
          sampling,
          updatePollSeconds: config.browserClient.updatePollSeconds,
        });
      },
    }),
    defineRoute({
      operationId: 'registerBrowser',
      method: 'post',
      path: '/browser/register',
      summary: 'Issues a browser its own device credentials (rate-limited; the secret is shown once)',
      tags: ['browser'],
      auth: 'public',
      responses: {
        201: { description: 'Issued', json: z.object({ deviceId: z.string(), secret: z.string() }) },
        403: { description: 'Self-registration is turned off' },
        429: { description: 'Too many registrations from this address, or in total, this hour' },
      },
      async handler(_input, { c }) {
        if (!register.enabled)
          throw new ApiError(403, 'FORBIDDEN', 'browser self-registration is turned off; ask an admin for credentials');
        const now = Date.now();
        if (!perAddress.take(clientAddress(c), now) || !total.take('*', now)) {
          c.header('retry-after', '3600');
          throw new ApiError(429, 'OVERLOADED', 'too many browser registrations; try again later');
        }
        const deviceId = `web-${randomBytes(12).toString('hex')}`;
        const issued = await deps.devices.create(deviceId, 'browser-self-registration', { note: 'browser' });
        return c.json(issued, 201);
      },
    }),
  ];
}
