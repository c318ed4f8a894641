/** Training triggers: ask for a training by hand, and read why the hub trained (the firing log). */
import { z } from 'zod';
import { HubError } from '../../errors.js';
import { TRIGGER_KINDS } from '../../triggers/config.js';
import type { TriggerEngine } from '../../triggers/engine.js';
import { defineRoute, type Route } from '../route.js';
import { InstantSchema, queryInt } from '../schemas.js';

/** What the routes need: the engine (absent: the routes answer 409, triggers are not running). */
export interface TriggerApiDeps {
  triggers?: Pick<TriggerEngine, 'manual' | 'firings'>;
}

const Inputs = z.record(z.string(), z.unknown());

const FiringSchema = z.object({
  id: z.string(),
  at: z.string().describe('When it fired (ISO 8601, UTC)'),
  kind: z.enum(TRIGGER_KINDS),
  reason: z.string(),
  inputs: Inputs.describe('What the trigger decided on: counts, estimates, distances, the schedule'),
  others: z
    .array(z.object({ kind: z.enum(TRIGGER_KINDS), reason: z.string(), inputs: Inputs }))
    .describe('Kinds that were ready at the same time'),
  actor: z.string().nullable().describe('Who asked, for a manual firing'),
  sinceTrainingAt: z.string().nullable().describe('The last training before this firing'),
  sinceDatasetId: z.string().nullable(),
});

function engineOf(deps: TriggerApiDeps): NonNullable<TriggerApiDeps['triggers']> {
  if (!deps.triggers) throw new HubError('CONFLICT', 'the training triggers are not running');
  return deps.triggers;
}

export function triggerRoutes(deps: TriggerApiDeps): Route[] {
  return [
    defineRoute({
      operationId: 'triggerTraining',
      method: 'post',
      path: '/training/trigger',
      summary: 'Ask for a training now (a manual trigger)',
      description:
        'Fires the manual trigger: the firing is logged with who asked and handed to the training pipeline. Refused with 409 while manual triggers are off or within their cool-down (Retry-After says when to ask again).',
      tags: ['training'],
      auth: 'admin',
      body: {
        kind: 'json',
        schema: z.strictObject({ reason: z.string().min(1).max(500).optional().describe('Why; stored with the firing') }),
      },
      responses: {
        202: { description: 'Fired; the pipeline takes it from here', json: FiringSchema },
        409: { description: 'Manual triggers are off, cooling down, or the engine is not running' },
      },
      async handler({ body }, { c, actor }) {
        const result = await engineOf(deps).manual({ actor, ...(body.reason ? { reason: body.reason } : {}) });
        if (!result.fired) {
          const headers: Record<string, string> =
            result.retryAfterMs > 0 ? { 'retry-after': String(Math.ceil(result.retryAfterMs / 1000)) } : {};
          return c.json({ code: 'CONFLICT', message: result.reason, requestId: c.get('requestId') }, 409, headers);
        }
        return c.json(result.firing, 202);
      },
    }),
    defineRoute({
      operationId: 'listTriggerFirings',
      method: 'get',
      path: '/triggers/firings',
      summary: 'Trigger firings, newest first, with the inputs each decided on',
      tags: ['training'],
      auth: 'admin',
      query: z.object({
        kind: z.enum(TRIGGER_KINDS).optional().describe('Only this kind'),
        before: InstantSchema.optional().describe('Only firings before this time (the `at` of the last item of the previous page)'),
        limit: queryInt(1, 500, 50).describe('Page size, 1-500.'),
      }),
      responses: {
        200: { description: 'A page of firings', json: z.object({ items: z.array(FiringSchema) }) },
        409: { description: 'The trigger engine is not running' },
      },
      handler({ query }, { c }) {
        const items = engineOf(deps).firings.list({
          limit: query.limit,
          ...(query.kind ? { kind: query.kind } : {}),
          ...(query.before ? { before: query.before } : {}),
        });
        return c.json({ items });
      },
    }),
  ];
}
