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
