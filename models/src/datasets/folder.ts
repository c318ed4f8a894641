/**
 * Imports a folder with one sub-folder per label (`root/cat/1.jpg`, `root/dog/2.png`). Every file
 * is checked by its magic bytes and header before it is accepted; a bad file is reported and
 * skipped. Identical images (same sha256) are kept once; the same image under two labels is a
 * conflict, reported, and kept under neither.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelsError } from '../errors.js';
import { type DecodeLimits, defaultDecodeLimits, inspectImage } from '../preprocess/node.js';
import type { Dataset, ImportProblem, LabelledImage, ProgressFn } from './types.js';

export interface ImportResult {
  dataset: Dataset;
  problems: ImportProblem[];
}

/** Keeps one item per id and drops ids seen under more than one label, reporting each drop. */
export function dedupe(items: LabelledImage[], problems: ImportProblem[]): LabelledImage[] {
  const byId = new Map<string, LabelledImage>();
  const conflicted = new Set<string>();
  for (const item of items) {
    const prior = byId.get(item.id);
    if (!prior) byId.set(item.id, item);
    else if (prior.label !== item.label) {
      conflicted.add(item.id);
      problems.push({ source: item.source, reason: `same image as ${prior.source} but labelled "${item.label}", not "${prior.label}"` });
    } else problems.push({ source: item.source, reason: `duplicate of ${prior.source}` });
  }
  return [...byId.values()].filter((i) => !conflicted.has(i.id));
}

/** Imports `root`; hidden entries are ignored. Needs at least two labels with images. */
export async function importFolder(
  root: string,
  options: { limits?: DecodeLimits; onProgress?: ProgressFn; name?: string } = {},
): Promise<ImportResult> {
  const limits = options.limits ?? defaultDecodeLimits;
  const entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  const files: { label: string; path: string }[] = [];
  for (const dir of entries) {
    for (const f of await readdir(join(root, dir.name), { withFileTypes: true })) {
      if (f.isFile() && !f.name.startsWith('.')) files.push({ label: dir.name, path: join(root, dir.name, f.name) });
    }
  }
  // readdir order depends on the filesystem; sorting makes which duplicate is kept repeatable.
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const problems: ImportProblem[] = [];
  const items: LabelledImage[] = [];
  let done = 0;
  for (const file of files) {
    try {
      const bytes = new Uint8Array(await readFile(file.path));
      await inspectImage(bytes, limits);
      items.push({ id: createHash('sha256').update(bytes).digest('hex'), label: file.label, source: file.path, bytes });
    } catch (e) {
      problems.push({ source: file.path, reason: e instanceof Error ? e.message : String(e) });
    }
    options.onProgress?.(++done, files.length);
  }
  const kept = dedupe(items, problems);
  const labels = [...new Set(kept.map((i) => i.label))].sort();
  if (labels.length < 2)
    throw new ModelsError('BAD_DATASET', `${root} needs at least two label folders with valid images (found ${labels.length})`);
  return { dataset: { name: options.name ?? root.split('/').filter(Boolean).pop() ?? 'dataset', labels, items: kept }, problems };
}
