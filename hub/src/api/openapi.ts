/**
 * The OpenAPI 3.1 document, built from the route registry with zod 4's own `z.toJSONSchema`:
 * requests from the input side of each schema (what a client sends: `limit` is an integer, not
 * the coerced text), responses from the output side. OpenAPI 3.1 schemas are JSON Schema
 * 2020-12, so the converted schemas go in as they are, with one rewrite: `\p{Cc}` (valid in
 * ECMA-262 `u` patterns, unknown to many other regex engines, such as the Python tools that read
 * this document) becomes the explicit code-point ranges it stands for.
 */
import { z } from 'zod';
import { ACTOR_HEADER, ACTOR_PATTERN } from './auth.js';
import type { ResponseSpec, Route } from './route.js';
import { ErrorSchema } from './schemas.js';

type JsonSchema = Record<string, unknown>;

/** Unicode general category Cc: C0 controls, DEL and C1 controls. */
const CC_RANGES = '\\u0000-\\u001F\\u007F-\\u009F';

function portable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(portable);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonSchema = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '$schema') continue;
    out[key] = key === 'pattern' && typeof v === 'string' ? v.replaceAll('\\p{Cc}', CC_RANGES) : portable(v);
  }
  return out;
}

/** JSON Schema of `schema`, for a request (`input`) or a response (`output`). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return portable(z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' })) as JsonSchema;
}

const errorRef = { $ref: '#/components/schemas/Error' };
const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: errorRef } } });

function responseOf(spec: ResponseSpec) {
  if (spec.json) return { description: spec.description, content: { 'application/json': { schema: jsonSchemaOf(spec.json, 'output') } } };
  if (spec.binary) {
    return {
      description: spec.description,
      content: Object.fromEntries(spec.binary.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])),
    };
  }
  if (spec.text) return { description: spec.description, content: { [spec.text]: { schema: { type: 'string' } } } };
  return errorResponse(spec.description);
}

/** Path and query parameters, one per property of the route's object schemas. */
function parametersOf(route: Route) {
  const parameters: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const json = jsonSchemaOf(schema, 'input');
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...propertySchema } = property;
      parameters.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: propertySchema,
      });
    }
  }
  if (route.auth === 'admin') {
    parameters.push({
      name: ACTOR_HEADER,
      in: 'header',
      required: false,
      description: 'Who acts, recorded in labels and the audit log (default "admin")',
      schema: { type: 'string', pattern: ACTOR_PATTERN.source },
    });
  }
  return parameters;
}

function requestBodyOf(route: Route) {
  const body = route.body;
  if (!body) return undefined;
  if (body.kind === 'json') {
    return {
      required: true,
      description: body.description,
      content: { 'application/json': { schema: jsonSchemaOf(body.schema, 'input') } },
    };
  }
  const schema = { type: 'string', format: 'binary', maxLength: body.maxBytes };
  return { required: true, description: body.description, content: Object.fromEntries(body.mediaTypes.map((t) => [t, { schema }])) };
}

function operationOf(route: Route) {
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) responses[status] = responseOf(spec);
  const hasInput = route.params || route.query || route.body || route.auth === 'admin';
  if (hasInput && !responses['400']) responses['400'] = errorResponse('The request does not match the schema (BAD_REQUEST, with issues)');
  if (route.auth === 'admin') responses['401'] = errorResponse('Missing or wrong bearer token (UNAUTHORIZED)');
  if (route.body) {
    responses['413'] = errorResponse('The body is over the size limit (TOO_LARGE)');
    responses['415'] = errorResponse('Wrong Content-Type (UNSUPPORTED_MEDIA_TYPE)');
  }
  responses['500'] ??= errorResponse('A bug (INTERNAL); the log has the details under the request id');
  const requestBody = requestBodyOf(route);
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: route.tags,
    security: route.auth === 'admin' ? [{ bearerAuth: [] }] : [],
    parameters: parametersOf(route),
    ...(requestBody ? { requestBody } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document for `routes`. */
export function buildOpenApi(routes: readonly Route[], info: { title: string; version: string; description?: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path]![route.method] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'The hub admin token (EDGELOOP_ADMIN_TOKEN)' } },
      schemas: { Error: jsonSchemaOf(ErrorSchema, 'output') },
    },
  };
}
