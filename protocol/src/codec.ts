import type { z } from 'zod';
import { utf8Decoder, utf8Encoder } from './bytes.js';
import { type DecodeResult, fail, formatPath, ProtocolError, type ProtocolIssue } from './errors.js';
import { MAX_JSON_MESSAGE_BYTES } from './limits.js';
import { AnnouncementSchema } from './schemas/announcement.js';
import { DeviceConfigSchema } from './schemas/device-config.js';
import { ModelManifestSchema } from './schemas/manifest.js';
import { SampleAckSchema } from './schemas/sample-ack.js';
import { StatusSchema } from './schemas/status.js';
import { TelemetryWindowSchema } from './schemas/telemetry.js';

/**
 * The JSON message kinds and their schemas. JSON is UTF-8, at most {@link MAX_JSON_MESSAGE_BYTES}.
 * Samples are not here: they travel as binary frames (see `frame.ts`).
 */
export const JSON_SCHEMAS = {
  ack: SampleAckSchema,
  telemetry: TelemetryWindowSchema,
  status: StatusSchema,
  config: DeviceConfigSchema,
  announcement: AnnouncementSchema,
  manifest: ModelManifestSchema,
} as const;

export type JsonKind = keyof typeof JSON_SCHEMAS;
export type JsonMessage<K extends JsonKind> = z.infer<(typeof JSON_SCHEMAS)[K]>;

/** Converts zod issues to protocol issues (paths without symbols). */
export function toIssues(error: z.ZodError): ProtocolIssue[] {
  return error.issues.map((i) => ({
    path: i.path.filter((p): p is string | number => typeof p !== 'symbol'),
    message: i.message,
  }));
}

/** Validates an already-parsed value against a schema, returning a result, never throwing. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what: string): DecodeResult<z.infer<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = toIssues(parsed.error);
  const first = issues[0];
  const where = first && first.path.length > 0 ? ` at ${formatPath(first.path)}` : '';
  return fail('SCHEMA', `invalid ${what}${where}: ${first?.message ?? 'unknown'}`, issues);
}

/** Parses JSON text that is already known to be within limits. */
export function parseJsonText(text: string): DecodeResult<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (cause) {
    return fail('BAD_JSON', 'message is not valid JSON', [], cause);
  }
}

/** Decodes untrusted bytes into a message of the given kind: size cap, UTF-8, JSON, then schema. */
export function decodeJson<K extends JsonKind>(kind: K, bytes: Uint8Array): DecodeResult<JsonMessage<K>> {
  if (bytes.byteLength > MAX_JSON_MESSAGE_BYTES) {
    return fail('TOO_LARGE', `${kind} message is ${bytes.byteLength} bytes, over the ${MAX_JSON_MESSAGE_BYTES}-byte limit`);
  }
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch (cause) {
    return fail('BAD_JSON', `${kind} message is not valid UTF-8`, [], cause);
  }
  const json = parseJsonText(text);
  if (!json.ok) return json;
  return validate(JSON_SCHEMAS[kind], json.value, `${kind} message`) as DecodeResult<JsonMessage<K>>;
}

/**
 * Encodes a message after validating it, so a sender can never put an invalid message on the
 * wire. Throws the {@link ProtocolError} on an invalid or oversized message: that is a bug in the caller.
 */
export function encodeJson<K extends JsonKind>(kind: K, message: z.input<(typeof JSON_SCHEMAS)[K]>): Uint8Array {
  const checked = validate(JSON_SCHEMAS[kind], message, `${kind} message`);
  if (!checked.ok) throw checked.error;
  const bytes = utf8Encoder.encode(JSON.stringify(checked.value));
  if (bytes.byteLength > MAX_JSON_MESSAGE_BYTES) {
    throw new ProtocolError('TOO_LARGE', `${kind} message would be ${bytes.byteLength} bytes, over the limit`);
  }
  return bytes;
}
