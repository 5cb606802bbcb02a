/**
 * A map bounded by the bytes its values hold, dropping the least recently
 * used first: the one policy behind the process-wide warm caches (model
 * artifacts, dataset chunks), so they evict alike.
 */

/** A string-keyed LRU map whose values together hold at most `maxBytes`. */
export class ByteBoundedLru<V> {
  private readonly entries = new Map<string, V>();
  private total = 0;

  /**
   * `maxBytes`: the most the values may hold together; a value larger than
   * that is not kept. `sizeOf`: the bytes a value holds. `what` names the
   * cache in the error a bad bound raises.
   */
  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (value: V) => number,
    what: string,
  ) {
    if (!(maxBytes >= 0)) {
      throw new RangeError(`the ${what} bound must be a number of bytes >= 0 (got ${maxBytes})`);
    }
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.total;
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** The value under `key`, marked most recently used (Map order is the LRU order). */
  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  /** Keeps `value` under `key` (replacing what was there), evicting the oldest as needed. */
  set(key: string, value: V): void {
    this.remove(key);
    const size = this.sizeOf(value);
    if (size > this.maxBytes) {
      return;
    }
    while (this.total + size > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) {
        break;
      }
      this.remove(oldest.value);
    }
    this.entries.set(key, value);
    this.total += size;
  }

  /** Forgets the value under `key`. */
  remove(key: string): void {
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.total -= this.sizeOf(value);
    }
  }

  /** The keys held now, least recently used first (a copy: callers may remove while iterating). */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
