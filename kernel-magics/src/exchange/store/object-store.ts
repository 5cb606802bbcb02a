/**
 * The one interface every object store implements (embedded files, Redis,
 * S3), with the same semantics, so the exchange, the model store and the
 * kernel never ask which one they have:
 * - keys are `/`-separated paths of safe characters (see {@link checkKey});
 * - a put is atomic: a reader sees the whole new object or the old one
 *   (or none), never part of one;
 * - `list` returns every key under a prefix, sorted, with no limit;
 * - every call takes an AbortSignal and ends with the value or a typed
 *   {@link StoreError} (never hangs: each implementation bounds its waits).
 */

/** Which implementation a store is. */
export type StoreKind = 'embedded' | 'redis' | 's3';

/** Options every store call takes. */
export interface StoreCallOptions {
  /** Aborts the call: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Put, get, list and delete of binary objects under string keys. */
export interface ObjectStore {
  readonly kind: StoreKind;
  /** Where the store is, for messages and telemetry (never holds credentials). */
  readonly location: string;
  /** Writes `body` under `key`, replacing what was there, atomically. */
  put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void>;
  /**
   * Writes `body` under `key` only if nothing is there; resolves false (and
   * changes nothing) when the key existed. Atomic against concurrent callers.
   */
  putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean>;
  /** The object under `key`, or undefined when there is none. */
  get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined>;
  /**
   * `length` bytes (at least one) of the object under `key`, from byte
   * `offset`: one request, billed as a get, that moves only those bytes.
   * Undefined when there is no object; a {@link StoreError} when the object
   * ends before `offset + length`. The bytes are all of one version of the
   * object, as a get's are. Every store of this package has it; a store
   * without it still works everywhere (scatter-reduce then writes one
   * object per piece).
   */
  getRange?(
    key: string,
    offset: number,
    length: number,
    options?: StoreCallOptions,
  ): Promise<Uint8Array | undefined>;
  /** Every key that starts with `prefix`, sorted. */
  list(prefix: string, options?: StoreCallOptions): Promise<string[]>;
  /** Removes `key` (nothing happens when it is absent). */
  delete(key: string, options?: StoreCallOptions): Promise<void>;
  /** Removes every key under `prefix`; resolves to how many were removed. */
  deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number>;
  /** Releases connections; later calls reject. */
  close(): Promise<void>;
  /**
   * Calls `onChange` soon after a key directly under `prefix` (a prefix
   * ending in `/`) may have been written or removed, possibly more often
   * (best effort: a waiter still polls, and only wakes sooner). Returns what
   * stops the watch. Absent on stores that cannot tell.
   */
  watch?(prefix: string, onChange: () => void): () => void;
}

/** Counts of store requests by kind, as providers bill them. */
export interface StoreRequests {
  put: number;
  get: number;
  list: number;
  delete: number;
}

/** What a store's calls moved: requests and bytes (up: written, down: read). */
export interface StoreUsage {
  requests: StoreRequests;
  bytesUp: number;
  bytesDown: number;
}

/** A usage with nothing in it. */
export function emptyUsage(): StoreUsage {
  return { requests: { put: 0, get: 0, list: 0, delete: 0 }, bytesUp: 0, bytesDown: 0 };
}

/** The largest key, in characters (S3 allows 1,024 bytes; files and Redis more). */
export const MAX_KEY_LENGTH = 900;

const KEY_SEGMENT = /^[A-Za-z0-9._=-]+$/;

/**
 * Checks that `key` is a store key: non-empty segments of letters, digits,
 * `.`, `_`, `=` and `-`, joined by `/`, no `.` or `..` segment. Throws a
 * TypeError saying what is wrong.
 */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new TypeError(`store key must be 1-${MAX_KEY_LENGTH} characters: ${JSON.stringify(key)}`);
  }
  for (const segment of key.split('/')) {
    if (!KEY_SEGMENT.test(segment) || segment === '.' || segment === '..') {
      throw new TypeError(
        `store key ${JSON.stringify(key)}: each /-separated part must be letters, digits, '.', '_', '=' or '-'`,
      );
    }
  }
  return key;
}

/** Checks a range of {@link ObjectStore.getRange}: whole numbers, at least one byte. Throws a RangeError. */
export function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1) {
    throw new RangeError(
      `getRange: offset ${offset} and length ${length} must be whole numbers, length at least 1`,
    );
  }
}

/** Checks a list/delete prefix: empty, or a key, optionally ending in `/`. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') {
    return prefix;
  }
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/**
 * The directory a watch of `prefixOrKey` covers, and that a write of a key
 * changes: everything before its last `/` (`a/b/` and `a/b/c` are both in
 * `a/b`; a top-level key is in `''`).
 */
export function directoryOf(prefixOrKey: string): string {
  return prefixOrKey.replace(/\/?[^/]*$/, '');
}
