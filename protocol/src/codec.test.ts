import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as arb from '../test/arbitraries.js';
import { keyPaths, leafPaths, type Path, setPath, wrongType } from '../test/json-paths.js';
import { decodeJson, encodeJson, type JsonKind } from './codec.js';
import { MAX_JSON_MESSAGE_BYTES } from './limits.js';

const isPrefix = (prefix: readonly unknown[], path: readonly unknown[]) => prefix.every((p, i) => p === path[i]);

const kinds: { kind: JsonKind; arb: fc.Arbitrary<unknown>; required: (path: Path) => boolean }[] = [
  { kind: 'ack', arb: arb.sampleAck, required: () => true },
  // A class entry is a record entry: removing one with count 0 leaves a valid window.
  { kind: 'telemetry', arb: arb.telemetryWindow, required: (p) => !(p[0] === 'classes' && p.length === 2) },
  { kind: 'status', arb: arb.status, required: (p) => !['model', 'outbox', 'uptimeS'].includes(String(p[0])) },
  { kind: 'announcement', arb: arb.announcement, required: (p) => !['repository', 'cohort'].includes(String(p[0])) },
  // classOverrides is optional (defaults to {}); record entries are never required.
  {
    kind: 'config',
    arb: arb.deviceConfig,
    required: (p) => p[1] !== 'classOverrides' && !(p[0] === 'sampling' && p[p.length - 1] === 'floor') && p[1] !== 'auditRate',
  },
  { kind: 'manifest', arb: arb.manifest, required: () => true },
];

describe.each(kinds)('$kind messages', ({ kind, arb: messages, required }) => {
  it('round-trip through encode and decode to an equal value', () => {
    fc.assert(
      fc.property(messages, (m) => {
        const r = decodeJson(kind, encodeJson(kind, m as never));
        expect(r.ok && r.value).toEqual(m);
      }),
    );
  });

  it('reject a leaf of the wrong type with the path of that leaf', () => {
    fc.assert(
      fc.property(messages, fc.nat(), (m, pick) => {
        const paths = leafPaths(m);
        const path = paths[pick % paths.length] as Path;
        const bad = setPath(m, path, (parent, key) => {
          parent[key] = wrongType(parent[key]);
        });
        const r = decodeJson(kind, new TextEncoder().encode(JSON.stringify(bad)));
        expect(r.ok).toBe(false);
        if (!r.ok) {
          expect(r.error.code).toBe('SCHEMA');
          expect(isPrefix(r.error.issues[0]?.path ?? [], path)).toBe(true);
          expect(r.error.message).toMatch(/^invalid /);
        }
      }),
    );
  });

  it('reject a missing required field, naming where', () => {
    fc.assert(
      fc.property(messages, fc.nat(), (m, pick) => {
        const paths = keyPaths(m).filter(required);
        fc.pre(paths.length > 0);
        const path = paths[pick % paths.length] as Path;
        const bad = setPath(m, path, (parent, key) => {
          if (Array.isArray(parent)) parent.splice(Number(key), 1, null);
          else delete parent[key];
        });
        const r = decodeJson(kind, new TextEncoder().encode(JSON.stringify(bad)));
        expect(r.ok, `removing ${path.join('.')} was accepted`).toBe(false);
        if (!r.ok) {
          expect(r.error.code).toBe('SCHEMA');
          expect(isPrefix(r.error.issues[0]?.path ?? [], path)).toBe(true);
        }
      }),
    );
  });

  it('never throw on corrupted bytes', () => {
    fc.assert(
      fc.property(messages, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat(), (m, flips, cut) => {
        const bytes = encodeJson(kind, m as never).slice();
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        const truncated = bytes.subarray(0, cut % (bytes.length + 1));
        for (const input of [bytes, truncated]) {
          const r = decodeJson(kind, input);
          if (!r.ok) expect(['BAD_JSON', 'SCHEMA']).toContain(r.error.code);
        }
      }),
    );
  });
});

describe('decodeJson limits and garbage', () => {
  it('rejects an oversized message before parsing it', () => {
    const r = decodeJson('ack', new Uint8Array(MAX_JSON_MESSAGE_BYTES + 1));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('TOO_LARGE');
  });

  it('rejects invalid UTF-8 and invalid JSON with BAD_JSON', () => {
    for (const input of [Uint8Array.of(0xff, 0xfe), new TextEncoder().encode('{"v":1,')]) {
      const r = decodeJson('status', input);
      expect(!r.ok && r.error.code).toBe('BAD_JSON');
    }
  });

  it('names the field in the message of a schema error', () => {
    const r = decodeJson(
      'announcement',
      new TextEncoder().encode('{"v":1,"model":"a/b","version":1,"timestampVersion":1,"publishedAt":"2026-11-22T00:00:00.000Z"}'),
    );
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.path).toBe('model');
      expect(r.error.message).toContain('at model');
    }
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encodeJson('status', { v: 1, deviceId: '#', state: 'online', at: 'now' } as never)).toThrow(
      /invalid status message at deviceId/,
    );
  });
});
