/**
 * Where the hub keeps bytes: sample images, dataset manifests, model artifacts. Implementations sit
 * beside this file (`fs.ts`, `s3.ts`) and are chosen by URL scheme in `open-object-store.ts`; every
 * implementation runs the contract suite in `object-store.contract.ts`.
 *
 * Keys are relative, `/`-separated, without `..` segments (see `assertValidKey`). A `put` is atomic
 * and durable when it resolves: a reader sees either nothing or all the bytes, and a crash after it
 * resolved loses nothing.
 */
export interface PutItem {
  key: string;
  bytes: Uint8Array;
  contentType?: string;
}

export interface ObjectStore {
  /** Stores `bytes` under `key`, replacing any previous object. */
  put(key: string, bytes: Uint8Array, options?: { contentType?: string }): Promise<void>;
  /**
   * Optional, for stores where a batch costs less than as many puts: stores each item as `put`
   * would (atomic, and durable once the promise resolves). Resolves with one entry per item,
   * `undefined` when it is stored or the error it met; one item's failure does not stop the others.
   */
  putMany?(items: readonly PutItem[]): Promise<Array<Error | undefined>>;
  /** The object's bytes, or `undefined` when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Size of the object, or `undefined` when there is none. `tag` names its current bytes: a
   * replaced object with other bytes has another tag (an ETag, or the file's identity and mtime),
   * so a reader can keep a copy and revalidate it with this call alone.
   */
  head(key: string): Promise<{ size: number; tag?: string } | undefined>;
  /** Removes the object; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Keys under `prefix`, in lexicographic order. */
  list(prefix: string): AsyncIterable<string>;
  /** A human-readable description for logs (never includes credentials). */
  readonly description: string;
  close(): Promise<void>;
}

/**
 * Stores a batch: with the store's `putMany` when it has one, otherwise with up to `concurrency`
 * puts in flight. Resolves with one entry per item, `undefined` when it is stored or the error it
 * met. Without `putMany`, no new put starts after the first failure (a failing store is not asked
 * again and again); the items never tried get that failure.
 */
export async function putBatch(store: ObjectStore, items: readonly PutItem[], concurrency: number): Promise<Array<Error | undefined>> {
  if (store.putMany) return store.putMany(items);
  const results: Array<Error | undefined> = items.map(() => undefined);
  let next = 0;
  let failure: Error | undefined;
  const lane = async () => {
    while (next < items.length && failure === undefined) {
      const i = next++;
      const { key, bytes, contentType } = items[i]!;
      try {
        await store.put(key, bytes, { contentType });
      } catch (error) {
        failure ??= error as Error;
        results[i] = error as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  for (let i = next; i < items.length; i++) results[i] = failure;
  return results;
}
