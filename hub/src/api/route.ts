/**
 * A small typed route registry. Each route declares its method, its OpenAPI-style path
 * (`/devices/{id}`), its auth, zod schemas for its inputs and its responses, and a handler. The
 * same declarations mount the route on Hono (here) and describe it in the OpenAPI document
 * (`openapi.ts`), so the document cannot drift from what the server validates. Mounting, with
 * input parsing and validation, is in `mount.ts`.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import type { Logger } from '../log.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Per-request values the middleware sets. */
export interface ApiVariables {
  requestId: string;
  log: Logger;
  /** Who the request acts as (admin routes only; `x-edgeloop-actor`, default `admin`). */
  actor: string;
  /** The matched route's path template, for metrics and logs. */
  route: string;
}
export type ApiEnv = { Variables: ApiVariables };

/** A documented response: a JSON body, a binary body (images) or a text body. */
export interface ResponseSpec {
  description: string;
  json?: z.ZodType;
  binary?: readonly string[];
  text?: string;
}

export interface JsonBody<S extends z.ZodType = z.ZodType> {
  kind: 'json';
  schema: S;
  description?: string;
}

/** A raw body of one of `mediaTypes`, at most `maxBytes` (the configured body limit if smaller). */
export interface BinaryBody {
  kind: 'binary';
  mediaTypes: readonly string[];
  maxBytes: number;
  description?: string;
}

export type BodySpec = JsonBody | BinaryBody;
// biome-ignore lint/suspicious/noExplicitAny: any object schema, strict or not, is a valid part.
export type ObjectSchema = z.ZodObject<any, any>;

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;
type BodyOut<B> = B extends JsonBody<infer S> ? z.output<S> : B extends BinaryBody ? Uint8Array : undefined;

export interface HandlerContext {
  c: Context<ApiEnv>;
  actor: string;
  log: Logger;
}

export interface RouteDef<P, Q, B> {
  /** Unique, camelCase: the OpenAPI operationId. */
  operationId: string;
  method: HttpMethod;
  /** OpenAPI path template, `{name}` for parameters. */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: 'admin' | 'public';
  params?: P;
  query?: Q;
  body?: B;
  /** Responses by status; common errors (400, 401, 404 …) are added by `openapi.ts`. */
  responses: Record<number, ResponseSpec>;
  handler(input: { params: Out<P>; query: Out<Q>; body: BodyOut<B> }, ctx: HandlerContext): Response | Promise<Response>;
}

export type Route = RouteDef<ObjectSchema | undefined, ObjectSchema | undefined, BodySpec | undefined>;

/** Declares a route; the type parameters give the handler its parsed inputs. */
export function defineRoute<
  P extends ObjectSchema | undefined = undefined,
  Q extends ObjectSchema | undefined = undefined,
  B extends BodySpec | undefined = undefined,
>(def: RouteDef<P, Q, B>): Route {
  return def as unknown as Route;
}

const templateCache = new Map<string, RegExp>();

/** Whether `pathname` fits the template `path` (one non-empty segment per parameter). */
export function pathMatches(path: string, pathname: string): boolean {
  let re = templateCache.get(path);
  if (!re) {
    const source = path
      .split(/\{[A-Za-z0-9_]+\}/)
      .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
      .join('[^/]+');
    re = new RegExp(`^${source}$`);
    templateCache.set(path, re);
  }
  return re.test(pathname);
}

export { type MountOptions, mountRoutes } from './mount.js';
