/**
 * Signature thresholds (TUF §5.3.4, §5.4.2, §5.5.3, §5.6.3): a role's metadata is trusted when at
 * least `threshold` distinct keys the delegating root authorises for that role made a valid
 * Ed25519 signature over the canonical JSON of `signed`. Verified with WebCrypto.
 */
import { fromHex, sha256Hex } from '../bytes.js';
import { TufError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import type { Metadata } from './metadata.js';
import type { RoleName, RootSigned } from './schema.js';

/** Imported WebCrypto keys by public key hex, so one refresh imports each key once. */
export class KeyCache {
  private readonly keys = new Map<string, Promise<CryptoKey | undefined>>();

  /** The verify key for a 32-byte public key; undefined when WebCrypto refuses it (not a curve point). */
  get(publicHex: string): Promise<CryptoKey | undefined> {
    let key = this.keys.get(publicHex);
    if (!key) {
      key = crypto.subtle
        .importKey('raw', fromHex(publicHex) as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify'])
        .catch(() => undefined);
      this.keys.set(publicHex, key);
    }
    return key;
  }
}

/**
 * §4.2: a key id is the hex sha256 of the canonical JSON of the key object. `@tufjs/models` and
 * python-tuf take key ids as given; the hub's keys (`hub/src/releases/keys.ts`) are made this way,
 * so this client holds every root to it and a root listing a key under another id is malformed.
 */
export async function checkKeyIds(root: RootSigned, rawRoot: Record<string, unknown>, what: string): Promise<void> {
  const rawKeys = rawRoot.keys as Record<string, unknown>;
  for (const keyid of Object.keys(root.keys)) {
    if ((await sha256Hex(canonicalJson(rawKeys[keyid]))) !== keyid)
      throw new TufError('TUF_BAD_METADATA', `${what} lists a key under ${keyid}, which is not the sha256 of its canonical JSON`);
  }
}

/** How many distinct authorised keys of `role` in `root` signed `md` validly. */
export async function countValidSignatures(root: RootSigned, role: RoleName, md: Metadata, cache: KeyCache): Promise<number> {
  const authorised = new Set(root.roles[role].keyids);
  const data = md.canonical as Uint8Array<ArrayBuffer>;
  const valid = new Set<string>();
  for (const { keyid, sig } of md.signatures) {
    // Each key counts once, however many signatures carry its id (duplicates cannot make a threshold).
    if (valid.has(keyid) || !authorised.has(keyid)) continue;
    const publicHex = root.keys[keyid]?.keyval.public;
    if (!publicHex) continue; // an id the role lists without a key in `keys` cannot sign (as python-tuf)
    const key = await cache.get(publicHex);
    if (key && (await verify(key, fromHex(sig), data))) valid.add(keyid);
  }
  return valid.size;
}

async function verify(key: CryptoKey, sig: Uint8Array, data: Uint8Array<ArrayBuffer>): Promise<boolean> {
  try {
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, sig as Uint8Array<ArrayBuffer>, data);
  } catch {
    return false; // a signature of the wrong length: not a valid one
  }
}

/** Throws `TUF_BAD_SIGNATURE` unless a threshold of `root`'s `role` keys signed `md`. */
export async function verifyThreshold(root: RootSigned, role: RoleName, md: Metadata, cache: KeyCache, what: string): Promise<void> {
  const { threshold } = root.roles[role];
  const count = await countValidSignatures(root, role, md, cache);
  if (count < threshold)
    throw new TufError(
      'TUF_BAD_SIGNATURE',
      `${what} is signed by ${count} of the ${threshold} ${role} keys root v${root.version} requires`,
    );
}
