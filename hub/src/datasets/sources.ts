/**
 * Reads an import source with the importers of `@edgeloop/models/data` (folder, CSV of URLs,
 * bundled MNIST) into encoded images with labels. The importers already check every image's magic
 * bytes and header and drop in-source duplicates, reporting each; errors about the source as a
 * whole (no such folder, a CSV without the right header) become `HubError('BAD_REQUEST')`.
 */
import {
  type DecodeLimits,
  type FetchLimits,
  type ImportProblem,
  type ImportResult,
  importCsv,
  importFolder,
  type LabelledImage,
  loadMnist,
  ModelsError,
} from '@edgeloop/models/data';
import sharp from 'sharp';
import { HubError } from '../errors.js';

export type ImportSource = { kind: 'folder'; path: string } | { kind: 'csv'; csv: string } | { kind: 'mnist'; perClass?: number };

/** An image ready to store: encoded bytes, whatever the source. */
export interface SourceImage {
  label: string;
  /** Where it came from: a path, a URL or `mnist:<digit>/<index>`. */
  origin: string;
  bytes: Uint8Array;
}

export interface SourceRead {
  images: SourceImage[];
  problems: ImportProblem[];
  /** Inputs dropped as exact copies of another input of the same source. */
  duplicates: number;
}

export interface SourceOptions {
  limits?: DecodeLimits;
  fetchLimits?: FetchLimits;
  onProgress?: (done: number, total: number) => void;
}

/** The MNIST digits ship as raw pixels; the bundle has about 1,000 per class. */
const MAX_MNIST_PER_CLASS = 10_000;

/**
 * Encodes 8-bit gray pixels as PNG. Fixed settings and no metadata make it deterministic for a
 * given sharp/libpng, so importing MNIST twice gives the same bytes, hence the same sample ids.
 */
export async function grayToPng(gray: NonNullable<LabelledImage['gray']>): Promise<Uint8Array> {
  // Without `b-w`, sharp writes one gray channel as three equal RGB ones (twice the bytes).
  const png = await sharp(gray.data, { raw: { width: gray.width, height: gray.height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** `dedupe` in the models importers reports an exact copy as "duplicate of <first source>". */
const isDuplicate = (p: ImportProblem) => p.reason.startsWith('duplicate of ');

async function run(source: ImportSource, opts: SourceOptions): Promise<ImportResult> {
  switch (source.kind) {
    case 'folder':
      return importFolder(source.path, { limits: opts.limits, onProgress: opts.onProgress });
    case 'csv':
      return importCsv(source.csv, { decodeLimits: opts.limits, fetchLimits: opts.fetchLimits, onProgress: opts.onProgress });
    case 'mnist': {
      const perClass = source.perClass;
      if (perClass !== undefined && (!Number.isInteger(perClass) || perClass < 1 || perClass > MAX_MNIST_PER_CLASS)) {
        throw new HubError('BAD_REQUEST', `perClass must be an integer in 1..${MAX_MNIST_PER_CLASS}`);
      }
      const dataset = loadMnist({ perClass });
      opts.onProgress?.(dataset.items.length, dataset.items.length);
      return { dataset, problems: [] };
    }
    default:
      throw new HubError('BAD_REQUEST', `unknown import source kind ${JSON.stringify((source as { kind?: unknown }).kind)}`);
  }
}

/** Reads `source`; per-input problems are returned, never thrown. */
export async function readSource(source: ImportSource, opts: SourceOptions = {}): Promise<SourceRead> {
  let result: ImportResult;
  try {
    result = await run(source, opts);
  } catch (cause) {
    if (cause instanceof HubError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    if (cause instanceof ModelsError || code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES') {
      throw new HubError('BAD_REQUEST', `cannot import: ${(cause as Error).message}`, { cause });
    }
    throw cause;
  }
  const images: SourceImage[] = [];
  for (const item of result.dataset.items) {
    const bytes = item.bytes ?? (item.gray ? await grayToPng(item.gray) : undefined);
    if (bytes) images.push({ label: item.label, origin: item.source, bytes });
    else result.problems.push({ source: item.source, reason: 'no image bytes' });
  }
  return { images, problems: result.problems, duplicates: result.problems.filter(isDuplicate).length };
}
