/**
 * Public routes: health, Prometheus metrics and the OpenAPI document.
 *
 * `/metrics` needs no token so that a scraper needs no admin credential; it exposes counters and
 * gauges (rates, latencies, queue depths, connected devices), never ids. Keep the HTTP port off
 * the public internet, or put the path behind the proxy's own auth.
 */
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { defineRoute, type Route } from '../route.js';

const HealthSchema = z.object({
  status: z.enum(['ok', 'unavailable']),
  ready: z.boolean().describe('False while the hub starts or shuts down'),
  db: z.enum(['ok', 'error']),
  broker: z.enum(['ok', 'none']),
  connectedDevices: z.number().int().optional(),
});

export function systemRoutes(deps: ApiDeps, openApiDocument: () => unknown): Route[] {
  const ping = deps.db.sqlite.prepare('SELECT 1');
  return [
    defineRoute({
      operationId: 'health',
      method: 'get',
      path: '/health',
      summary: 'Liveness and readiness: 200 when the hub serves, 503 while it starts or stops or cannot reach its database',
      tags: ['system'],
      auth: 'public',
      responses: {
        200: { description: 'Serving', json: HealthSchema },
        503: { description: 'Not serving', json: HealthSchema },
      },
      handler(_input, { c, log }) {
        let db: 'ok' | 'error' = 'ok';
        try {
          ping.get();
        } catch (error) {
          log.error({ err: error }, 'health: database check failed');
          db = 'error';
        }
        const ready = deps.ready();
        const broker = deps.broker;
        const body = {
          status: ready && db === 'ok' ? ('ok' as const) : ('unavailable' as const),
          ready,
          db,
          broker: broker ? ('ok' as const) : ('none' as const),
          ...(broker ? { connectedDevices: broker.connectedClients() } : {}),
        };
        return c.json(body, body.status === 'ok' ? 200 : 503);
      },
    }),
    defineRoute({
      operationId: 'metrics',
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (text exposition format); public, see the README',
      tags: ['system'],
      auth: 'public',
      responses: { 200: { description: 'Metrics', text: 'text/plain' } },
      async handler(_input, { c }) {
        const { registry } = deps.metrics;
        return c.body(await registry.metrics(), 200, { 'content-type': registry.contentType });
      },
    }),
    defineRoute({
      operationId: 'openapi',
      method: 'get',
      path: '/openapi.json',
      summary: 'This OpenAPI 3.1 document',
      tags: ['system'],
      auth: 'public',
      responses: { 200: { description: 'The document', json: z.record(z.string(), z.unknown()) } },
      handler(_input, { c }) {
        return c.json(openApiDocument() as Record<string, unknown>);
      },
    }),
  ];
}
