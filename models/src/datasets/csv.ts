/**
 * Imports a CSV of image URLs and labels (a header row naming `url` and `label` columns, in any
 * order and case). Downloads run a few at a time within {@link FetchLimits}; each bad row (no URL,
 * no label, a failed or non-image download, a corrupt image) is reported with its line number and
 * skipped, never fatal.
 */
import { createHash } from 'node:crypto';
import { ModelsError } from '../errors.js';
import { type DecodeLimits, defaultDecodeLimits, inspectImage } from '../preprocess/node.js';
import { parseCsv } from './csv-parse.js';
import { defaultFetchLimits, type FetchLimits, fetchImage } from './fetch-image.js';
import { dedupe, type ImportResult } from './folder.js';
import type { ImportProblem, LabelledImage, ProgressFn } from './types.js';

export interface CsvImportOptions {
  name?: string;
  fetchLimits?: FetchLimits;
  decodeLimits?: DecodeLimits;
  /** Downloads in flight at once (default 4). */
  concurrency?: number;
  onProgress?: ProgressFn;
  fetchImpl?: typeof fetch;
}

/** Imports the rows of `csvText`. */
export async function importCsv(csvText: string, options: CsvImportOptions = {}): Promise<ImportResult> {
  const rows = parseCsv(csvText);
  const header = (rows[0] ?? []).map((h) => h.trim().toLowerCase());
  const urlCol = header.indexOf('url');
  const labelCol = header.indexOf('label');
  if (urlCol < 0 || labelCol < 0) throw new ModelsError('BAD_CSV', 'the header row must name a "url" and a "label" column');
  const problems: ImportProblem[] = [];
  const items: (LabelledImage | undefined)[] = [];
  const jobs = rows.slice(1).map((row, i) => ({ row, line: i + 2 }));
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { row, line } = jobs[next++]!;
      const url = row[urlCol]?.trim() ?? '';
      const label = row[labelCol]?.trim() ?? '';
      const source = `line ${line}: ${url || '(no url)'}`;
      try {
        if (!url) throw new Error('no url');
        if (!label) throw new Error('no label');
        const bytes = await fetchImage(url, options.fetchLimits ?? defaultFetchLimits, options.fetchImpl);
        await inspectImage(bytes, options.decodeLimits ?? defaultDecodeLimits);
        items[line] = { id: createHash('sha256').update(bytes).digest('hex'), label, source: url, bytes };
      } catch (e) {
        problems.push({ source, reason: e instanceof Error ? e.message : String(e) });
      }
      options.onProgress?.(++done, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  const kept = dedupe(
    items.filter((i): i is LabelledImage => i !== undefined),
    problems,
  );
  problems.sort((a, b) => a.source.localeCompare(b.source, undefined, { numeric: true }));
  const labels = [...new Set(kept.map((i) => i.label))].sort();
  return { dataset: { name: options.name ?? 'csv', labels, items: kept }, problems };
}
