/**
 * The warm cache of dataset chunks: a process that read a chunk (a worker's
 * shard, in the first epoch) keeps it, so later reads in the same
 * execution environment (the next epochs, the next invocations on it) get
 * nothing from the store. Bounded in bytes, least recently used dropped
 * first. It holds checked payloads that nobody writes to: readers copy out
 * of them.
 */
import { ByteBoundedLru } from '../../byte-bounded-lru';

/** The default bound, in bytes, of the process-wide cache. */
export const DEFAULT_CHUNK_CACHE_BYTES = 128 * 1024 * 1024;

/**
 * A byte-bounded LRU map of chunk payloads. `set` keeps the payload itself:
 * the caller gives it up, and nothing may write to it afterwards.
 */
export class DatasetChunkCache extends ByteBoundedLru<Uint8Array> {
  /** `maxBytes`: the most the entries may hold together; a chunk larger than that is not kept. */
  constructor(maxBytes: number = DEFAULT_CHUNK_CACHE_BYTES) {
    super(maxBytes, (payload) => payload.byteLength, 'dataset cache');
  }
}

/** The process-wide cache (an execution environment is one process). */
export const sharedChunkCache = new DatasetChunkCache();
