import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiFixture, openApiFixture } from './test-support.js';

type Operation = {
  operationId: string;
  summary: string;
  tags: string[];
  security: Record<string, string[]>[];
  parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
};
type Document = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
};

/** Every value under `node` whose key is `key`. */
function collect(node: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const v of node) collect(v, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v);
      collect(v, key, out);
    }
  }
  return out;
}

let f: ApiFixture;
let doc: Document;

beforeAll(async () => {
  f = await openApiFixture();
  const res = await f.app.request('/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await res.json()) as Document;
});
afterAll(() => f.close());

describe('/openapi.json', () => {
  it('is an OpenAPI 3.1 document with bearer auth and a shared Error schema', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    expect(doc.components.securitySchemes.bearerAuth).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.components.schemas.Error).toMatchObject({ type: 'object', required: ['code', 'message'] });
  });

  it('lists every registered route, once, under its path and method, and nothing else', () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(documented.sort()).toEqual(f.routes.map((r) => `${r.method} ${r.path}`).sort());
    const ids = documented.map((d) => {
      const [method, path] = d.split(' ') as [string, string];
      return doc.paths[path]![method]!.operationId;
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(f.routes.length).toBeGreaterThanOrEqual(23);
  });

  it('describes each operation: parameters for every path template, auth, bodies and error responses', () => {
    for (const route of f.routes) {
      const op = doc.paths[route.path]![route.method]!;
      const where = `${route.method} ${route.path}`;
      expect(op.summary, where).toBeTruthy();
      expect(op.tags.length, where).toBeGreaterThan(0);
      const templated = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const pathParams = op.parameters.filter((p) => p.in === 'path');
      expect(pathParams.map((p) => p.name).sort(), where).toEqual(templated.sort());
      expect(pathParams.every((p) => p.required)).toBe(true);
      const queryNames = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
      expect(queryNames.sort(), where).toEqual(Object.keys(route.query?.shape ?? {}).sort());
      if (route.auth === 'admin') {
        expect(op.security, where).toEqual([{ bearerAuth: [] }]);
        expect(op.responses['401'], where).toBeDefined();
        expect(
          op.parameters.some((p) => p.in === 'header' && p.name === 'x-edgeloop-actor'),
          where,
        ).toBe(true);
      } else {
        expect(op.security, where).toEqual([]);
      }
      if (route.body) {
        expect(op.requestBody?.required, where).toBe(true);
        expect(op.responses['413'], where).toBeDefined();
        expect(op.responses['415'], where).toBeDefined();
      } else {
        expect(op.requestBody, where).toBeUndefined();
      }
      for (const status of Object.keys(route.responses)) expect(op.responses[status]?.description, `${where} ${status}`).toBeTruthy();
      expect(
        Object.keys(op.responses).some((s) => s.startsWith('2')),
        where,
      ).toBe(true);
    }
  });

  it('documents query integers as integers (the input side of the coerced schemas)', () => {
    const limit = doc.paths['/samples']!.get!.parameters.find((p) => p.name === 'limit')!;
    expect(limit.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 500, default: 50 });
  });

  it('uses only portable regular expressions and resolvable references', () => {
    for (const pattern of collect(doc, 'pattern') as string[]) {
      expect(pattern).not.toMatch(/\\p\{/);
      expect(() => new RegExp(pattern)).not.toThrow();
    }
    for (const ref of collect(doc, '$ref') as string[]) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.split('/').at(-1)!]).toBeDefined();
    }
    expect(collect(doc, '$schema')).toEqual([]);
  });

  it('matches what the server enforces: a label with a control character is refused by both', async () => {
    const op = doc.paths['/labelling/{sampleId}/correct']!.post!;
    const labelSchema = (op.requestBody!.content['application/json']!.schema as { properties: { label: { pattern: string } } }).properties
      .label;
    const re = new RegExp(labelSchema.pattern);
    expect(re.test('cat')).toBe(true);
    expect(re.test('ca\u0007t')).toBe(false);
    expect(re.test('ca\u0085t')).toBe(false);
  });
});
