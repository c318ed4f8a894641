/** Helpers that walk and mutate JSON values, for the mutation property tests. */

export type Path = (string | number)[];

/** Every path from the root to a leaf (string, number or boolean) of a JSON value. */
export function leafPaths(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...prefix, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  }
  return [prefix];
}

/** Every path to an object key. */
export function keyPaths(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keyPaths(v, [...prefix, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...keyPaths(v, [...prefix, k])]);
  }
  return [];
}

/** A value of the wrong JSON type for a leaf. */
export function wrongType(leaf: unknown): unknown {
  return typeof leaf === 'string' ? 12345 : typeof leaf === 'number' ? 'not a number' : ['wrong'];
}

export function setPath(root: unknown, path: Path, mutate: (parent: Record<string | number, unknown>, key: string | number) => void) {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  mutate(node, path[path.length - 1] as string | number);
  return copy;
}
