/**
 * `/classify`: the production model for clients that cannot run one. The body is the raw image
 * (PNG, JPEG or WebP, at most the protocol's `MAX_IMAGE_BYTES`); decoding is bounded by the
 * classifier's decode limits. It takes the admin token for now: a device credential would suit
 * devices better, and is left for when devices call the hub over HTTP.
 */
import { MAX_IMAGE_BYTES } from '@edgeloop/protocol';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../problem.js';
import { defineRoute, type Route } from '../route.js';
import { IMAGE_TYPES } from './samples.js';

export function classifyRoutes(deps: ApiDeps): Route[] {
  return [
    defineRoute({
      operationId: 'classify',
      method: 'post',
      path: '/classify',
      summary: 'Classify one image with the production model',
      tags: ['classify'],
      auth: 'admin',
      body: {
        kind: 'binary',
        mediaTypes: [...IMAGE_TYPES, 'application/octet-stream'],
        maxBytes: MAX_IMAGE_BYTES,
        description: 'The image bytes',
      },
      responses: {
        200: {
          description: 'The classification',
          json: z.object({
            label: z.string(),
            confidence: z.number(),
            probabilities: z.array(z.number()).describe('One per label, in labels order'),
            labels: z.array(z.string()),
            model: z.string().describe('name@version'),
          }),
        },
        422: { description: 'Not a decodable image within the limits (BAD_IMAGE)' },
        503: { description: 'No production model is loaded (NO_MODEL)' },
      },
      async handler({ body }, { c }) {
        const classifier = deps.classifier?.();
        if (!classifier) throw new ApiError(503, 'NO_MODEL', 'no production model is loaded');
        return c.json(await classifier.classify(body));
      },
    }),
  ];
}
