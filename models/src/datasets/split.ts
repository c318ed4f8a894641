/**
 * Splits by hashing the sample id, so a sample's split never changes as the dataset grows: the
 * first 32 bits of sha256(salt + id), as a fraction u in [0, 1), pick the split. Ids are
 * already sha256 hex, but hashing again with a salt lets a user draw another split on purpose.
 */
import { createHash } from 'node:crypto';

export type Split = 'train' | 'validation' | 'test';

export interface SplitFractions {
  test: number;
  validation: number;
  /** Changes every assignment at once; the default ('') is the split everyone shares. */
  salt?: string;
}

export const defaultSplit: SplitFractions = { test: 0.2, validation: 0.1 };

/** u in [0, 1) for an id. */
export function splitPoint(id: string, salt = ''): number {
  const digest = createHash('sha256').update(`${salt}${id}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/** The split of one id: test below `test`, then validation, then train. */
export function splitOf(id: string, f: SplitFractions = defaultSplit): Split {
  const u = splitPoint(id, f.salt);
  if (u < f.test) return 'test';
  if (u < f.test + f.validation) return 'validation';
  return 'train';
}

/** Partitions items by their split. */
export function splitItems<T extends { id: string }>(items: readonly T[], f: SplitFractions = defaultSplit): Record<Split, T[]> {
  const out: Record<Split, T[]> = { train: [], validation: [], test: [] };
  for (const item of items) out[splitOf(item.id, f)].push(item);
  return out;
}
