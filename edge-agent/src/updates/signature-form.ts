/**
 * A signature has one accepted encoding: lowercase hex, like its key id (TUF §4.2). Node decodes
 * `AB` and `ab` alike, so without this check a file with a signature's letters flipped to upper
 * case (a one-bit change) would still verify: a modified file must never be accepted.
 */
import { AgentError } from '../errors.js';

const HEX = /^[0-9a-f]+$/;

/** The problem with `bytes` (a metadata file), or undefined. Malformed JSON is left to tuf-js to report. */
export function nonCanonicalSignature(url: string, bytes: Buffer): AgentError | undefined {
  let doc: { signatures?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  const sigs = Array.isArray(doc?.signatures) ? (doc.signatures as { keyid?: unknown; sig?: unknown }[]) : [];
  for (const s of sigs) {
    if (typeof s?.sig !== 'string' || typeof s.keyid !== 'string' || !HEX.test(s.sig) || !HEX.test(s.keyid)) {
      return new AgentError('UPDATE_BAD_METADATA', `${url}: a signature is not in canonical (lowercase hex) form`);
    }
  }
  return undefined;
}
