import { sha256Hex, utf8Decoder, utf8Encoder } from './bytes.js';
import { parseJsonText, validate } from './codec.js';
import { type DecodeResult, fail, ProtocolError } from './errors.js';
import { MAX_SAMPLE_FRAME_BYTES, MAX_SAMPLE_HEADER_BYTES } from './limits.js';
import { type SampleEnvelope, type SampleHeader, SampleHeaderSchema } from './schemas/sample-envelope.js';

/**
 * A sample travels as one binary frame, so the image needs no base64 (+33%) and the header stays
 * readable JSON:
 *
 * | bytes      | content                                              |
 * |------------|------------------------------------------------------|
 * | 0..2       | ASCII `ELS` (edgeloop sample)                        |
 * | 3          | frame version, `1`                                   |
 * | 4..7       | header length H, unsigned 32-bit big-endian          |
 * | 8..8+H     | the header: UTF-8 JSON, a {@link SampleHeader}       |
 * | 8+H..end   | the image bytes, exactly `header.image.byteLength`   |
 */
export const FRAME_MAGIC = Uint8Array.of(0x45, 0x4c, 0x53);
export const FRAME_VERSION = 1;
const PREAMBLE = 8;

/** Encodes a sample. Throws {@link ProtocolError} if the envelope is invalid: a sender's bug. */
export function encodeSampleFrame(envelope: SampleEnvelope): Uint8Array {
  const { bytes, ...meta } = envelope.image;
  const header = { ...envelope, image: { ...meta, byteLength: bytes.byteLength } };
  const checked = validate(SampleHeaderSchema, header, 'sample header');
  if (!checked.ok) throw checked.error;
  const json = utf8Encoder.encode(JSON.stringify(checked.value));
  if (json.byteLength > MAX_SAMPLE_HEADER_BYTES) throw new ProtocolError('TOO_LARGE', 'sample header is over its limit');
  const out = new Uint8Array(PREAMBLE + json.byteLength + bytes.byteLength);
  out.set(FRAME_MAGIC, 0);
  out[3] = FRAME_VERSION;
  new DataView(out.buffer).setUint32(4, json.byteLength, false);
  out.set(json, PREAMBLE);
  out.set(bytes, PREAMBLE + json.byteLength);
  return out;
}

/**
 * Decodes an untrusted frame: size cap, preamble, header length, UTF-8 JSON, schema, then the
 * image length. Never throws. The image bytes are a view into `frame`. The sample id is checked by
 * {@link verifySampleId}, which is asynchronous (WebCrypto).
 */
export function decodeSampleFrame(frame: Uint8Array): DecodeResult<SampleEnvelope> {
  if (frame.byteLength > MAX_SAMPLE_FRAME_BYTES) {
    return fail('TOO_LARGE', `sample frame is ${frame.byteLength} bytes, over the ${MAX_SAMPLE_FRAME_BYTES}-byte limit`);
  }
  if (frame.byteLength < PREAMBLE) return fail('BAD_FRAME', 'sample frame is shorter than its 8-byte preamble');
  if (frame[0] !== FRAME_MAGIC[0] || frame[1] !== FRAME_MAGIC[1] || frame[2] !== FRAME_MAGIC[2]) {
    return fail('BAD_FRAME', 'sample frame does not start with "ELS"');
  }
  if (frame[3] !== FRAME_VERSION) return fail('BAD_FRAME', `unsupported sample frame version ${frame[3]}`);
  const headerLength = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4, false);
  if (headerLength > MAX_SAMPLE_HEADER_BYTES) return fail('TOO_LARGE', `sample header length ${headerLength} is over its limit`);
  if (PREAMBLE + headerLength > frame.byteLength) return fail('BAD_FRAME', 'sample header runs past the end of the frame');
  let text: string;
  try {
    text = utf8Decoder.decode(frame.subarray(PREAMBLE, PREAMBLE + headerLength));
  } catch (cause) {
    return fail('BAD_JSON', 'sample header is not valid UTF-8', [], cause);
  }
  const json = parseJsonText(text);
  if (!json.ok) return json;
  const header = validate(SampleHeaderSchema, json.value, 'sample header');
  if (!header.ok) return header;
  const bytes = frame.subarray(PREAMBLE + headerLength);
  if (bytes.byteLength !== header.value.image.byteLength) {
    return fail('BAD_FRAME', `image is ${bytes.byteLength} bytes but the header says ${header.value.image.byteLength}`, [
      { path: ['image', 'byteLength'], message: 'does not match the bytes that follow the header' },
    ]);
  }
  return { ok: true, value: { ...header.value, image: { ...header.value.image, bytes } } };
}

/** The sample id of some image bytes: their hex sha256. */
export function sampleIdOf(imageBytes: Uint8Array): Promise<string> {
  return sha256Hex(imageBytes);
}

/** Checks that `sampleId` is the sha256 of the image bytes, so ids cannot collide or be forged. */
export async function verifySampleId(envelope: SampleEnvelope): Promise<DecodeResult<SampleEnvelope>> {
  const actual = await sampleIdOf(envelope.image.bytes);
  if (actual === envelope.sampleId) return { ok: true, value: envelope };
  return fail('ID_MISMATCH', `sampleId ${envelope.sampleId} is not the sha256 of the image (${actual})`, [
    { path: ['sampleId'], message: 'is not the sha256 of the image bytes' },
  ]);
}

export type { SampleHeader };
