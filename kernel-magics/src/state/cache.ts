/**
 * The warm cache: inside an execution environment, the artifacts of the
 * versions it loaded stay in memory, so loading one again (the next
 * invocation on a warm environment) reads no weights from the store. It is
 * bounded in bytes and drops the least recently used first. It holds only
 * immutable copies: every load builds its model from fresh copies, so
 * models never share weight buffers with the cache or with each other.
 */

/** One cached version. */
export interface CachedVersion {
  /** The save that wrote it: a version number reused after a delete is a different entry. */
  saveId: string;
  /** `model.json`, as stored. */
  topology: Uint8Array;
  /** `weights.bin`, as stored. */
  weights: Uint8Array;
}

/** The default bound, in bytes, of the process-wide cache. */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/** A byte-bounded LRU map of version artifacts. */
export class ArtifactCache {
  private readonly entries = new Map<string, CachedVersion>();
  private total = 0;

  /** `maxBytes`: the most the entries may hold together; a version larger than that is not kept. */
  constructor(readonly maxBytes: number = DEFAULT_CACHE_BYTES) {
    if (!(maxBytes >= 0)) {
      throw new RangeError(`the model cache bound must be a number of bytes >= 0 (got ${maxBytes})`);
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

  /** The version under `key` when it is the save `saveId`; marks it most recently used. */
  get(key: string, saveId: string): CachedVersion | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      return undefined;
    }
    if (entry.saveId !== saveId) {
      this.remove(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Keeps a version (copies of the given bytes, so callers may reuse theirs), evicting the oldest as needed. */
  set(key: string, version: CachedVersion): void {
    this.remove(key);
    const size = sizeOf(version);
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
    this.entries.set(key, {
      saveId: version.saveId,
      topology: version.topology.slice(),
      weights: version.weights.slice(),
    });
    this.total += size;
  }

  /** Forgets the version under `key`. */
  remove(key: string): void {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.total -= sizeOf(entry);
    }
  }

  /** Forgets every entry whose key starts with `prefix` (all of them with no prefix). */
  clear(prefix = ''): void {
    for (const key of [...this.entries.keys()]) {
      if (key.startsWith(prefix)) {
        this.remove(key);
      }
    }
  }
}

function sizeOf(version: CachedVersion): number {
  return version.topology.byteLength + version.weights.byteLength;
}
