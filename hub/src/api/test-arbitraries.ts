/**
 * fast-check arbitraries from the JSON Schemas of the OpenAPI document (test support, not used by
 * the hub). Covers what zod's converter emits for the API: objects, strings (length, pattern,
 * date-time, uuid), integers and numbers with bounds, booleans, null, arrays, enum, const, oneOf
 * and anyOf. Strings can also be drawn from a pool of known values (ids that exist), so that
 * valid requests reach the handlers' success paths and not only their 404s.
 */
import fc from 'fast-check';

export type JsonSchema = Record<string, unknown>;

/**
 * Values that exist on the server for a property or parameter `name` (undefined at the top level),
 * offered where the string schema accepts them; re-read on every draw, so it may grow during a run.
 */
export type KnownPool = (name: string | undefined) => readonly string[];

const DATE_MIN = new Date('2025-06-01T00:00:00Z');
const DATE_MAX = new Date('2027-06-01T00:00:00Z');

/** An ISO 8601 date-time with a `Z` or an hour offset. */
const dateTime = fc
  .tuple(fc.date({ min: DATE_MIN, max: DATE_MAX, noInvalidDate: true }), fc.integer({ min: -12, max: 14 }), fc.boolean())
  .map(([date, hours, zulu]) => {
    if (zulu) return date.toISOString();
    const shifted = new Date(date.getTime() + hours * 3_600_000).toISOString().slice(0, -1);
    const sign = hours < 0 ? '-' : '+';
    return `${shifted}${sign}${String(Math.abs(hours)).padStart(2, '0')}:00`;
  });

function fitsString(schema: JsonSchema, value: string): boolean {
  if (typeof schema.minLength === 'number' && value.length < schema.minLength) return false;
  if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) return false;
  if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) return false;
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return false;
  return true;
}

function stringArbitrary(schema: JsonSchema, known: KnownPool, name: string | undefined): fc.Arbitrary<string> {
  let generated: fc.Arbitrary<string>;
  if (schema.format === 'date-time') generated = dateTime;
  else if (schema.format === 'uuid') generated = fc.uuid({ version: 4 });
  else if (typeof schema.pattern === 'string') {
    generated = fc.stringMatching(new RegExp(schema.pattern));
  } else {
    const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const maxLength = Math.min(typeof schema.maxLength === 'number' ? schema.maxLength : 200, 200);
    generated = fc.oneof(fc.string({ minLength, maxLength }), fc.string({ unit: 'grapheme', minLength, maxLength }));
  }
  generated = generated.filter((s) => fitsString(schema, s));
  // Known values are re-read on every draw: ids created during the run become reachable.
  const fromPool = fc.nat().chain((i) => {
    const fitting = known(name).filter((k) => fitsString(schema, k));
    return fitting.length > 0 ? fc.constant(fitting[i % fitting.length]!) : generated;
  });
  return fc.oneof({ weight: 2, arbitrary: fromPool }, { weight: 1, arbitrary: generated });
}

function numberArbitrary(schema: JsonSchema, integer: boolean): fc.Arbitrary<number> {
  const min = typeof schema.minimum === 'number' ? schema.minimum : -1e9;
  const max = typeof schema.maximum === 'number' ? schema.maximum : 1e9;
  if (integer) return fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) });
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

function objectArbitrary(schema: JsonSchema, known: KnownPool): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) model[name] = arbitraryOf(property, known, name);
  return fc.record(model, { requiredKeys: [...required].filter((k) => k in model) });
}

/** Values that `schema` accepts (checked again by the server's zod schemas in the tests). */
export function arbitraryOf(schema: JsonSchema, known: KnownPool = () => [], name?: string): fc.Arbitrary<unknown> {
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(schema[key])) return fc.oneof(...(schema[key] as JsonSchema[]).map((s) => arbitraryOf(s, known, name)));
  }
  const type = schema.type;
  if (Array.isArray(type)) return fc.oneof(...type.map((t) => arbitraryOf({ ...schema, type: t }, known, name)));
  switch (type) {
    case 'string':
      return stringArbitrary(schema, known, name);
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const items = (schema.items ?? {}) as JsonSchema;
      const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const maxLength = Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 8, 8);
      return fc.array(arbitraryOf(items, known, name), { minLength, maxLength });
    }
    case 'object':
      return objectArbitrary(schema, known);
    default:
      return fc.jsonValue();
  }
}
