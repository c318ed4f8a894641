/**
 * Reading one metadata file: the size cap first, then UTF-8, JSON and the TUF form (§4). The raw
 * `signed` object is kept beside the checked view: signatures cover its canonical JSON as sent,
 * unknown fields included.
 */
import { utf8Decoder } from '../bytes.js';
import { formatPath, TufError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { EnvelopeSchema, type RoleName, SIGNED_SCHEMAS, type SignedOf } from './schema.js';

/** A metadata file that parsed and fits its role's form; its signatures are not checked yet. */
export interface Metadata<R extends RoleName = RoleName> {
  role: R;
  bytes: Uint8Array;
  /** The `signed` object as parsed: what the signatures cover. */
  rawSigned: Record<string, unknown>;
  /** canonicalJson(rawSigned): the bytes the signatures are over (§4.1). */
  canonical: Uint8Array;
  signed: SignedOf<R>;
  signatures: { keyid: string; sig: string }[];
}

/** Refuses a file over `maxBytes` before looking inside it (TUF §5.2.1, §5.4.1, §5.5.1, §5.6.1). */
export function checkSize(what: string, bytes: Uint8Array, maxBytes: number): void {
  if (bytes.byteLength > maxBytes) throw new TufError('TUF_TOO_LARGE', `${what} is ${bytes.byteLength} bytes, over the cap of ${maxBytes}`);
}

/** Parses `bytes` as metadata of `role`: size cap, then form (§4); throws `TUF_BAD_METADATA`. */
export function parseMetadata<R extends RoleName>(role: R, bytes: Uint8Array, maxBytes: number, what = `${role} metadata`): Metadata<R> {
  checkSize(what, bytes, maxBytes);
  let json: unknown;
  try {
    json = JSON.parse(utf8Decoder.decode(bytes));
  } catch (cause) {
    throw new TufError('TUF_BAD_METADATA', `${what} is not UTF-8 JSON`, { cause });
  }
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) throw badForm(what, envelope.error.issues);
  const signed = SIGNED_SCHEMAS[role].safeParse(envelope.data.signed);
  if (!signed.success) throw badForm(what, signed.error.issues, ['signed']);
  let canonical: Uint8Array;
  try {
    canonical = canonicalJson(envelope.data.signed);
  } catch (cause) {
    // OLPC canonical JSON has no floats: such a `signed` has no form a signature could cover.
    throw new TufError('TUF_BAD_METADATA', `${what} has no canonical JSON form`, { cause });
  }
  return {
    role,
    bytes,
    rawSigned: envelope.data.signed,
    canonical,
    signed: signed.data as SignedOf<R>,
    signatures: envelope.data.signatures,
  };
}

function badForm(what: string, issues: readonly { path: PropertyKey[]; message: string }[], prefix: string[] = []): TufError {
  const first = issues[0];
  const where = first ? formatPath([...prefix, ...first.path]) : '';
  return new TufError('TUF_BAD_METADATA', `${what} does not fit the TUF format at ${where || '(root)'}: ${first?.message ?? 'invalid'}`, {
    cause: issues,
  });
}
