/**
 * `publishDataset`: puts a dataset in a store once per content, so that
 * every worker of a training run reads only its shard from there (see
 * ./layout for the keys). A publish writes the chunks, then the manifest;
 * a publish that finds the manifest writes nothing, or only the chunks that
 * went missing since.
 */
import type { ObjectStore } from '../../exchange/store/object-store';
import { encodeChunk } from './chunk';
import { eachLimited } from './each-limited';
import {
  checkArrays,
  checkChunkSamples,
  chunkKey,
  chunksCovering,
  type DatasetArrays,
  datasetHash,
  datasetPrefix,
  type DatasetRef,
  decodeManifest,
  defaultChunkSamples,
  encodeManifest,
  manifestKey,
  sameData,
} from './layout';

/** What {@link publishDataset} takes besides the store and the data. */
export interface PublishOptions {
  /** Aborts the publish (it rejects with the signal's reason; what was written stays, and is reused). */
  signal?: AbortSignal;
  /**
   * Samples per chunk object; by default as many as fit in 1 MiB. A dataset
   * already published keeps the chunk size it was published with.
   */
  chunkSamples?: number;
}

/** How many chunks a publish writes at once. */
const PUT_CONCURRENCY = 4;

/**
 * Writes `{ xs, ys }` (float32, `samples` first) to `store` under
 * `datasets/<hash>/` in chunks, unless a complete copy is there (its
 * manifest, written last, exists; chunks missing from it are written
 * again). `hash` is the SHA-256 over the shapes and the values, so
 * concurrent publishes of the same data are harmless. Resolves to the
 * reference workers read it by ({@link readSamples}).
 *
 * @throws DatasetError when the arrays do not fit their shapes; store errors as the store throws them.
 */
export async function publishDataset(
  store: ObjectStore,
  data: DatasetArrays,
  options: PublishOptions = {},
): Promise<DatasetRef> {
  const { signal } = options;
  checkArrays(data);
  const chunkSamples =
    options.chunkSamples === undefined ? defaultChunkSamples(data) : checkChunkSamples(options.chunkSamples);
  const { samples } = data;
  const ref: DatasetRef = {
    hash: datasetHash(data),
    samples,
    xShape: [...data.xShape],
    yShape: [...data.yShape],
    chunkSamples,
  };
  signal?.throwIfAborted();
  const published = await publishedRef(store, ref, signal);
  if (published) {
    await restoreMissingChunks(store, data, published, signal);
    return published;
  }
  await writeChunks(store, data, ref, chunksCovering(ref, 0, samples), signal);
  const body = encodeManifest(ref);
  if (await store.putIfAbsent(manifestKey(ref.hash), body, { signal })) {
    return ref;
  }
  // Another publish of the same data finished first: its chunks were all written before its manifest.
  const first = await publishedRef(store, ref, signal);
  if (first) {
    return first;
  }
  // What is there is not a manifest of this data (a foreign or damaged object): ours replaces it.
  await store.put(manifestKey(ref.hash), body, { signal });
  return ref;
}

/** The reference the store's manifest for `ref`'s data records, if there is one. */
async function publishedRef(
  store: ObjectStore,
  ref: DatasetRef,
  signal: AbortSignal | undefined,
): Promise<DatasetRef | undefined> {
  const body = await store.get(manifestKey(ref.hash), { signal });
  const published = body && decodeManifest(body);
  return published && sameData(published, ref) ? published : undefined;
}

/** Writes the chunks of a published dataset that are no longer in the store (one listing when none is missing). */
async function restoreMissingChunks(
  store: ObjectStore,
  data: DatasetArrays,
  ref: DatasetRef,
  signal: AbortSignal | undefined,
): Promise<void> {
  const present = new Set(await store.list(datasetPrefix(ref.hash), { signal }));
  const missing = chunksCovering(ref, 0, ref.samples).filter(
    (range) => !present.has(chunkKey(ref.hash, range.start, range.end)),
  );
  await writeChunks(store, data, ref, missing, signal);
}

async function writeChunks(
  store: ObjectStore,
  data: DatasetArrays,
  ref: DatasetRef,
  ranges: ReturnType<typeof chunksCovering>,
  signal: AbortSignal | undefined,
): Promise<void> {
  // Each chunk is encoded just before its put: at most PUT_CONCURRENCY chunk copies exist at once.
  await eachLimited(ranges, PUT_CONCURRENCY, (range) =>
    store.put(chunkKey(ref.hash, range.start, range.end), encodeChunk(data, ref.hash, range), { signal }),
  );
}
