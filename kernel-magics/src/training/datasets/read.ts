/**
 * `readSamples`: a range of a published dataset, from the chunks that hold
 * it only, each checked (size, range, checksum) and kept in the process's
 * warm cache (./chunk-cache), so a worker reads its shard from the store
 * once per execution environment.
 */
import type { ObjectStore } from '../../exchange/store/object-store';
import { decodeChunk } from './chunk';
import { type DatasetChunkCache, sharedChunkCache } from './chunk-cache';
import { eachLimited } from './each-limited';
import { DatasetChunkError, DatasetError } from './errors';
import { checkRef, chunkKey, chunksCovering, type DatasetRef, type SampleRange, sizeOf } from './layout';

/** What {@link readSamples} takes besides the store, the reference and the range. */
export interface ReadOptions {
  /** Aborts the read (it rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Where chunks read are kept (default: the process's cache); `false` reads every chunk from the store. */
  cache?: DatasetChunkCache | false;
}

/** Samples of a dataset: inputs and labels, one sample after the other. */
export interface SampleArrays {
  xs: Float32Array;
  ys: Float32Array;
}

/** How many chunks a read gets at once. */
const GET_CONCURRENCY = 4;
const FLOAT_BYTES = 4;

/**
 * Samples [start, end) of a published dataset, as new arrays (the caller
 * may keep and change them). Reads only the chunks that hold them, from the
 * warm cache when this process read them before.
 *
 * @throws DatasetError when the range is not within the dataset;
 *   DatasetChunkError when a chunk is missing or not what was published
 *   (publish the dataset again); store errors as the store throws them.
 */
export async function readSamples(
  store: ObjectStore,
  ref: DatasetRef,
  start: number,
  end: number,
  options: ReadOptions = {},
): Promise<SampleArrays> {
  checkRef(ref);
  checkRange(ref, start, end);
  const { signal } = options;
  signal?.throwIfAborted();
  const cache = options.cache === undefined ? sharedChunkCache : options.cache || undefined;
  const xValues = sizeOf(ref.xShape);
  const yValues = sizeOf(ref.yShape);
  const xs = new Float32Array((end - start) * xValues);
  const ys = new Float32Array((end - start) * yValues);
  const xBytes = new Uint8Array(xs.buffer);
  const yBytes = new Uint8Array(ys.buffer);
  await eachLimited(chunksCovering(ref, start, end), GET_CONCURRENCY, async (chunk) => {
    const payload = await chunkPayload(store, ref, chunk, cache, signal);
    // The part of this chunk in [start, end), as offsets in samples.
    const from = Math.max(start, chunk.start);
    const to = Math.min(end, chunk.end);
    const chunkCount = chunk.end - chunk.start;
    const xSample = xValues * FLOAT_BYTES;
    const ySample = yValues * FLOAT_BYTES;
    const labelsAt = chunkCount * xSample;
    xBytes.set(
      payload.subarray((from - chunk.start) * xSample, (to - chunk.start) * xSample),
      (from - start) * xSample,
    );
    yBytes.set(
      payload.subarray(labelsAt + (from - chunk.start) * ySample, labelsAt + (to - chunk.start) * ySample),
      (from - start) * ySample,
    );
  });
  return { xs, ys };
}

/** A chunk's checked payload, from the cache or the store. */
async function chunkPayload(
  store: ObjectStore,
  ref: DatasetRef,
  chunk: SampleRange,
  cache: DatasetChunkCache | undefined,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const key = chunkKey(ref.hash, chunk.start, chunk.end);
  const cacheKey = `${store.kind}:${store.location}\n${key}`;
  const cached = cache?.get(cacheKey);
  if (cached) {
    return cached;
  }
  const body = await store.get(key, { signal });
  const fail = (problem: string): never => {
    throw new DatasetChunkError({ hash: ref.hash, key, location: store.location, problem });
  };
  if (!body) {
    return fail('is missing');
  }
  const payloadBytes = (chunk.end - chunk.start) * (sizeOf(ref.xShape) + sizeOf(ref.yShape)) * FLOAT_BYTES;
  const decoded = decodeChunk(body, ref.hash, chunk, payloadBytes);
  if ('problem' in decoded) {
    return fail(decoded.problem);
  }
  cache?.set(cacheKey, decoded.payload);
  return decoded.payload;
}

function checkRange(ref: DatasetRef, start: number, end: number): void {
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end < start ||
    end > ref.samples
  ) {
    throw new DatasetError(
      `readSamples: [${String(start)}, ${String(end)}) is not a range of whole numbers within the dataset's ` +
        `${ref.samples} samples (0 <= start <= end <= ${ref.samples})`,
    );
  }
}
