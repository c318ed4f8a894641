/**
 * Device credentials. A secret is a hub-generated random token; only its hash is stored, in
 * Mosquitto's own password-file format (`mosquitto_passwd`'s default since 2.0, PBKDF2-SHA512):
 *
 *   `$7$<iterations>$<base64 salt (12 bytes)>$<base64 PBKDF2-SHA512 (64 bytes)>`
 *
 * so that one stored hash serves both the embedded broker and an external Mosquitto password file
 * (`broker/mosquitto-config.ts`).
 */
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

/** Mosquitto's salt and digest sizes for `$7$` (`SALT_LEN` 12, SHA-512 output 64). */
const SALT_BYTES = 12;
const HASH_BYTES = 64;
/**
 * PBKDF2 rounds. Mosquitto's own default is 101; device secrets are 256-bit random tokens, for
 * which stretching adds nothing, so this only needs to be high enough for a human-chosen hub
 * password while keeping a CONNECT cheap (about 1 ms on the libuv thread pool).
 */
export const DEFAULT_ITERATIONS = 1000;
/** Refuse absurd costs in a stored hash: a tampered file must not turn each CONNECT into seconds of CPU. */
const MAX_ITERATIONS = 1_000_000;

const HASH_FORMAT = /^\$7\$([1-9][0-9]{0,6})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** A new device secret: 32 random bytes, base64url (43 characters, safe in URLs and MQTT passwords). */
export function issueSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Hashes a secret in Mosquitto's `$7$` PBKDF2-SHA512 format, with a fresh random salt. */
export async function hashSecret(secret: string | Uint8Array, iterations = DEFAULT_ITERATIONS): Promise<string> {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be an integer in 1..${MAX_ITERATIONS}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const hash = await pbkdf2Async(toBytes(secret), salt, iterations, HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * Whether `secret` matches a `$7$` hash. The comparison is constant-time; a malformed hash, or one
 * of another Mosquitto scheme (`$6$`, plain SHA-512), never matches.
 */
export async function verifySecret(secret: string | Uint8Array, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const actual = await pbkdf2Async(toBytes(secret), parsed.salt, parsed.iterations, parsed.hash.length, 'sha512');
  return timingSafeEqual(actual, parsed.hash);
}

/** Constant-time equality of two secrets of any lengths (compares their SHA-256 digests). */
export function secretsEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return timingSafeEqual(sha256(toBytes(a)), sha256(toBytes(b)));
}

/** SHA-256 of a secret, for caching a verified result without keeping the secret itself. */
export function secretDigest(secret: string | Uint8Array): Buffer {
  return sha256(toBytes(secret));
}

function parseHash(stored: string): { iterations: number; salt: Buffer; hash: Buffer } | undefined {
  const match = HASH_FORMAT.exec(stored);
  if (!match) return undefined;
  const iterations = Number(match[1]);
  const salt = Buffer.from(match[2]!, 'base64');
  const hash = Buffer.from(match[3]!, 'base64');
  if (iterations > MAX_ITERATIONS || salt.length === 0 || hash.length !== HASH_BYTES) return undefined;
  return { iterations, salt, hash };
}

function toBytes(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}
