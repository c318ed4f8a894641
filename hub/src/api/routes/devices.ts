/** Device credentials: issue, list, show, revoke. Secrets are shown once, at issuance. */
import { z } from 'zod';
import { HubError } from '../../errors.js';
import type { ApiDeps } from '../deps.js';
import { defineRoute, type Route } from '../route.js';
import { DeviceIdSchema, paging } from '../schemas.js';

const DeviceSchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  revokedAt: z.string().nullable(),
  status: z.enum(['unknown', 'online', 'offline']).describe('Presence as the broker last saw it'),
  lastSeenAt: z.string().nullable(),
  model: z.string().nullable().describe('Model the device last reported, name@version'),
  note: z.string().nullable(),
});

const IssuedSchema = z.object({
  deviceId: z.string(),
  username: z.string().describe('MQTT username (the device id)'),
  secret: z.string().describe('MQTT password; shown only in this response, only its hash is kept'),
  mqtt: z.object({ url: z.string(), ws: z.string().optional() }).optional().describe("The hub's broker, when it runs one"),
});

const IdParams = z.object({ id: DeviceIdSchema });

export function deviceRoutes(deps: ApiDeps): Route[] {
  const { devices } = deps;
  return [
    defineRoute({
      operationId: 'createDevice',
      method: 'post',
      path: '/devices',
      summary: 'Issue credentials for a device (re-issues a revoked one)',
      tags: ['devices'],
      auth: 'admin',
      body: { kind: 'json', schema: z.strictObject({ deviceId: DeviceIdSchema, note: z.string().max(500).optional() }) },
      responses: {
        201: { description: 'Issued; the secret is not shown again', json: IssuedSchema },
        409: { description: 'The device exists and is not revoked' },
      },
      async handler({ body }, { c, actor }) {
        const issued = await devices.create(body.deviceId, actor, { note: body.note });
        const urls = deps.broker?.urls;
        const mqtt = urls ? { url: urls.mqtt, ...(urls.ws ? { ws: urls.ws } : {}) } : undefined;
        return c.json({ deviceId: issued.deviceId, username: issued.deviceId, secret: issued.secret, ...(mqtt ? { mqtt } : {}) }, 201);
      },
    }),
    defineRoute({
      operationId: 'listDevices',
      method: 'get',
      path: '/devices',
      summary: 'List devices, newest first',
      tags: ['devices'],
      auth: 'admin',
      query: z.object({
        status: z
          .enum(['active', 'revoked', 'online', 'offline', 'unknown'])
          .optional()
          .describe('active/revoked filter on credentials; online/offline/unknown on the presence of active devices'),
        ...paging(500, 50),
      }),
      responses: {
        200: {
          description: 'A page of devices',
          json: z.object({ items: z.array(DeviceSchema), total: z.number().int(), limit: z.number().int(), offset: z.number().int() }),
        },
      },
      handler({ query }, { c }) {
        const page = devices.list(query);
        return c.json({ ...page, limit: query.limit, offset: query.offset });
      },
    }),
    defineRoute({
      operationId: 'getDevice',
      method: 'get',
      path: '/devices/{id}',
      summary: 'One device',
      tags: ['devices'],
      auth: 'admin',
      params: IdParams,
      responses: { 200: { description: 'The device', json: DeviceSchema }, 404: { description: 'No such device' } },
      handler({ params }, { c }) {
        const device = devices.get(params.id);
        if (!device) throw new HubError('NOT_FOUND', `no device ${params.id}`);
        return c.json(device);
      },
    }),
    defineRoute({
      operationId: 'revokeDevice',
      method: 'post',
      path: '/devices/{id}/revoke',
      summary: "Revoke a device's credentials (its next CONNECT is refused); idempotent",
      tags: ['devices'],
      auth: 'admin',
      params: IdParams,
      responses: { 200: { description: 'The revoked device', json: DeviceSchema }, 404: { description: 'No such device' } },
      handler({ params }, { c, actor }) {
        return c.json(devices.revoke(params.id, actor));
      },
    }),
  ];
}
