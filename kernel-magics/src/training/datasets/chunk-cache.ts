/**
 * The warm cache of dataset chunks: a process that read a chunk (a worker's
 * shard, in the first epoch) keeps it, so later reads in the same
 * execution environment (the next epochs, the next invocations on it) get
 * nothing from the store. Bounded in bytes, least recently used dropped
 * first. It holds checked payloads that nobody writes to: readers copy out
 * of them.
 */

/** The default bound, in bytes, of the process-wide cache. */
export const DEFAULT_CHUNK_CACHE_BYTES = 128 * 1024 * 1024;

/** A byte-bounded LRU map of chunk payloads. */
export class DatasetChunkCache {
  private readonly entries = new Map<string, Uint8Array>();
  private total = 0;

  /** `maxBytes`: the most the entries may hold together; a chunk larger than that is not kept. */
  constructor(readonly maxBytes: number = DEFAULT_CHUNK_CACHE_BYTES) {
    if (!(maxBytes >= 0)) {
      throw new RangeError(`the dataset cache bound must be a number of bytes >= 0 (got ${maxBytes})`);
    }
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.total;
  }

  /** Chunks held now. */
  get size(): number {
    return this.entries.size;
  }

  /** The payload under `key`, marked most recently used. */
  get(key: string): Uint8Array | undefined {
    const payload = this.entries.get(key);
    if (payload) {
      this.entries.delete(key);
      this.entries.set(key, payload);
    }
    return payload;
  }

  /** Keeps a payload (the caller gives it up: nothing may write to it), evicting the oldest as needed. */
  set(key: string, payload: Uint8Array): void {
    this.remove(key);
    if (payload.byteLength > this.maxBytes) {
      return;
    }
    while (this.total + payload.byteLength > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) {
        break;
      }
      this.remove(oldest.value);
    }
    this.entries.set(key, payload);
    this.total += payload.byteLength;
  }

  /** Forgets the chunk under `key`. */
  remove(key: string): void {
    const payload = this.entries.get(key);
    if (payload) {
      this.entries.delete(key);
      this.total -= payload.byteLength;
    }
  }

  /** Forgets every chunk. */
  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}

/** The process-wide cache (an execution environment is one process). */
export const sharedChunkCache = new DatasetChunkCache();
