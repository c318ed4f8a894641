/**
 * Mounts registry routes on Hono: per route, its name for metrics, then auth (admin routes), then
 * the body limit, then parsing and validating params, query and body against the route's zod
 * schemas (every violation in one 400 with `issues`), then the handler.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import type { z } from 'zod';
import { ApiError, type Issue } from './problem.js';
import type { ApiEnv, BinaryBody, Route } from './route.js';

/** `/devices/{id}` → `/devices/:id` (Hono's syntax). */
export function honoPath(path: string): string {
  return path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

function check<S extends z.ZodType>(part: Issue['in'], schema: S, value: unknown, issues: Issue[]): z.output<S> | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const i of parsed.error.issues)
    issues.push({ in: part, path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message });
  return undefined;
}

function mediaTypeOf(c: Context): string | undefined {
  return c.req.header('content-type')?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/** The query string as single values: the first of repeated keys, like most servers. */
function queryOf(c: Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URL(c.req.url).searchParams) if (!Object.hasOwn(out, key)) out[key] = value;
  return out;
}

/** Reads the body; a stream that breaks off (the client went away) is the client's fault, not a 500. */
async function bodyBytes(c: Context): Promise<Uint8Array> {
  try {
    return new Uint8Array(await c.req.arrayBuffer());
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'the request body could not be read');
  }
}

async function readJson(c: Context): Promise<unknown> {
  const type = mediaTypeOf(c);
  const text = new TextDecoder().decode(await bodyBytes(c));
  if (text.length === 0) throw new ApiError(400, 'BAD_REQUEST', 'a JSON request body is required');
  if (type !== 'application/json' && !(type?.startsWith('application/') && type.endsWith('+json'))) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(400, 'BAD_REQUEST', 'the request body is not valid JSON');
  }
}

async function readBinary(c: Context, spec: BinaryBody): Promise<Uint8Array> {
  const type = mediaTypeOf(c);
  if (type === undefined || !spec.mediaTypes.includes(type)) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `the request body must be one of ${spec.mediaTypes.join(', ')}`);
  }
  const bytes = await bodyBytes(c);
  if (bytes.byteLength === 0) throw new ApiError(400, 'BAD_REQUEST', 'the request body is empty');
  return bytes;
}

/** Parses and validates a route's inputs; any schema violation is a 400 with every issue. */
async function readInput(route: Route, c: Context<ApiEnv>) {
  const issues: Issue[] = [];
  const params = route.params ? check('params', route.params, c.req.param(), issues) : undefined;
  const query = route.query ? check('query', route.query, queryOf(c), issues) : undefined;
  let body: unknown;
  if (route.body?.kind === 'json') body = check('body', route.body.schema, await readJson(c), issues);
  else if (route.body?.kind === 'binary') body = await readBinary(c, route.body);
  if (issues.length > 0) {
    const first = issues[0]!;
    throw new ApiError(
      400,
      'BAD_REQUEST',
      `invalid ${first.in}${first.path.length ? ` ${first.path.join('.')}` : ''}: ${first.message}`,
      issues,
    );
  }
  return { params, query, body } as Parameters<Route['handler']>[0];
}

export interface MountOptions {
  /** Runs on admin routes, before anything reads the body. */
  authorize: MiddlewareHandler<ApiEnv>;
  /** A body-limit middleware for at most `maxBytes`. */
  bodyLimit(maxBytes: number): MiddlewareHandler<ApiEnv>;
  /** The configured limit; a binary route may only lower it. */
  maxBodyBytes: number;
}

/** Mounts every route: route name, then auth, then the body limit, then validation and the handler. */
export function mountRoutes(app: Hono<ApiEnv>, routes: readonly Route[], options: MountOptions): void {
  for (const route of routes) {
    const chain: MiddlewareHandler<ApiEnv>[] = [
      async (c, next) => {
        c.set('route', route.path);
        await next();
      },
    ];
    if (route.auth === 'admin') chain.push(options.authorize);
    if (route.body) {
      const max = route.body.kind === 'binary' ? Math.min(route.body.maxBytes, options.maxBodyBytes) : options.maxBodyBytes;
      chain.push(options.bodyLimit(max));
    }
    chain.push(async (c) => {
      const input = await readInput(route, c);
      return route.handler(input, { c, actor: c.get('actor'), log: c.get('log') });
    });
    app.on(route.method.toUpperCase(), honoPath(route.path), ...(chain as [MiddlewareHandler<ApiEnv>]));
  }
}
