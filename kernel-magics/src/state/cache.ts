/**
 * The warm cache: inside an execution environment, the artifacts of the
 * versions it loaded stay in memory, so loading one again (the next
 * invocation on a warm environment) reads no weights from the store. It is
 * bounded in bytes and drops the least recently used first. It holds only
 * immutable copies: every load builds its model from fresh copies, so
 * models never share weight buffers with the cache or with each other.
 */
import { ByteBoundedLru } from '../byte-bounded-lru';

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
  private readonly entries: ByteBoundedLru<CachedVersion>;

  /** `maxBytes`: the most the entries may hold together; a version larger than that is not kept. */
  constructor(maxBytes: number = DEFAULT_CACHE_BYTES) {
    this.entries = new ByteBoundedLru(maxBytes, sizeOf, 'model cache');
  }

  /** The most the entries may hold together, in bytes. */
  get maxBytes(): number {
    return this.entries.maxBytes;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.entries.bytes;
  }

  /** Entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** The version under `key` when it is the save `saveId`; marks it most recently used. */
  get(key: string, saveId: string): CachedVersion | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.saveId !== saveId) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  /** Keeps a version (copies of the given bytes, so callers may reuse theirs), evicting the oldest as needed. */
  set(key: string, version: CachedVersion): void {
    // A version too large to keep is not copied either.
    if (sizeOf(version) > this.maxBytes) {
      this.remove(key);
      return;
    }
    this.entries.set(key, {
      saveId: version.saveId,
      topology: version.topology.slice(),
      weights: version.weights.slice(),
    });
  }

  /** Forgets the version under `key`. */
  remove(key: string): void {
    this.entries.remove(key);
  }

  /** Forgets every entry whose key starts with `prefix` (all of them with no prefix). */
  clear(prefix = ''): void {
    for (const key of this.entries.keys()) {
      if (key.startsWith(prefix)) {
        this.remove(key);
      }
    }
  }
}

function sizeOf(version: CachedVersion): number {
  return version.topology.byteLength + version.weights.byteLength;
}
