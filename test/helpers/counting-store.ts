/**
 * An ObjectStore wrapper for tests: forwards every call to a real store and
 * counts them by method and key, and can fail chosen writes (a process that
 * dies between two writes, as far as the store can tell).
 */
import type { ObjectStore, StoreCallOptions } from '../../kernel-magics/src/exchange/store/object-store';

/** The methods counted. */
export type StoreMethod = 'put' | 'putIfAbsent' | 'get' | 'getRange' | 'list' | 'delete' | 'deletePrefix';

/** A real store, with its calls counted. */
export class CountingStore implements ObjectStore {
  readonly calls: Array<{ method: StoreMethod; key: string }> = [];
  /** Writes whose key matches this fail (before reaching the store). */
  failWrites: RegExp | undefined;

  /** The real store's ranged get, counted; absent with `ranges: false` (a store of someone else's making). */
  readonly getRange?: ObjectStore['getRange'];

  constructor(
    private readonly inner: ObjectStore,
    options: { ranges?: boolean } = {},
  ) {
    const ranged = options.ranges === false ? undefined : inner.getRange?.bind(inner);
    this.getRange =
      ranged &&
      ((key, offset, length, callOptions) => {
        this.record('getRange', key);
        return ranged(key, offset, length, callOptions);
      });
  }

  get kind() {
    return this.inner.kind;
  }

  get location() {
    return this.inner.location;
  }

  /** How many calls of `method` (whose key matches `key`, when given) were made. */
  count(method: StoreMethod, key?: RegExp): number {
    return this.calls.filter((call) => call.method === method && (!key || key.test(call.key))).length;
  }

  /** Forgets the calls counted so far. */
  reset(): void {
    this.calls.length = 0;
  }

  put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void> {
    this.record('put', key);
    this.maybeFail(key);
    return this.inner.put(key, body, options);
  }

  putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    this.record('putIfAbsent', key);
    this.maybeFail(key);
    return this.inner.putIfAbsent(key, body, options);
  }

  get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    this.record('get', key);
    return this.inner.get(key, options);
  }

  list(prefix: string, options?: StoreCallOptions): Promise<string[]> {
    this.record('list', prefix);
    return this.inner.list(prefix, options);
  }

  delete(key: string, options?: StoreCallOptions): Promise<void> {
    this.record('delete', key);
    return this.inner.delete(key, options);
  }

  deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number> {
    this.record('deletePrefix', prefix);
    return this.inner.deletePrefix(prefix, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private record(method: StoreMethod, key: string): void {
    this.calls.push({ method, key });
  }

  private maybeFail(key: string): void {
    if (this.failWrites?.test(key)) {
      throw new Error(`injected failure writing ${key}`);
    }
  }
}
