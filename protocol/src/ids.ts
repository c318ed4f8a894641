import { z } from 'zod';

/**
 * Identifiers that end up inside MQTT topics. They may never contain the wildcards `+` and `#`,
 * the level separator `/`, nor start with `$` (MQTT 3.1.1 §4.7: `$` topics are the broker's), so a
 * device can never name, or subscribe to, another device's topic through its own id.
 */
const TOPIC_SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A device id: 1–64 of `[A-Za-z0-9._-]`, starting with a letter or digit. */
export const DeviceIdSchema = z.string().regex(TOPIC_SAFE_ID, 'device id must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit');

/** A model name, with the same rules as a device id. */
export const ModelNameSchema = z
  .string()
  .regex(TOPIC_SAFE_ID, 'model name must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit');

/** A model version: a positive integer that only ever goes up for a given model name. */
export const ModelVersionSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** A sample id: the lower-case hex sha256 of the image bytes. */
export const SampleIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits (sha256)');

/**
 * A class label: printable, 1–128 characters. `__proto__` is refused: labels are object keys in
 * telemetry, and that key would set an object's prototype instead of a property.
 */
export const LabelSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\p{Cc}]+$/u, 'label must not contain control characters')
  .refine((l) => l !== '__proto__', 'label "__proto__" is reserved');

/** A UTC timestamp in ISO 8601 form, e.g. `2026-11-22T15:40:38.000Z`. */
export const TimestampSchema = z.iso.datetime({ offset: false, precision: 3 });

/** Whether a string is a valid device id. */
export function isDeviceId(id: string): boolean {
  return TOPIC_SAFE_ID.test(id);
}

/** Whether a string is a valid model name. */
export function isModelName(name: string): boolean {
  return TOPIC_SAFE_ID.test(name);
}
