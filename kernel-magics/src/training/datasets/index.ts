/**
 * Datasets for training: `datasets.mnist` for cells, and how training data
 * reaches workers through the object store (published once per content,
 * read by each worker shard by shard).
 */
export { datasetArrays } from './arrays';
export { DatasetChunkCache, DEFAULT_CHUNK_CACHE_BYTES, sharedChunkCache } from './chunk-cache';
export { DatasetChunkError, DatasetError } from './errors';
export {
  DATASETS_PREFIX,
  type DatasetArrays,
  type DatasetRef,
  DEFAULT_CHUNK_BYTES,
  datasetPrefix,
  MAX_SAMPLES,
} from './layout';
export {
  datasets,
  type DatasetsApi,
  DEFAULT_MNIST_SEED,
  type LabeledTensors,
  mnist,
  type MnistOptions,
  type MnistSplits,
  type TfTensorFactory,
} from './mnist';
export { publishDataset, type PublishOptions } from './publish';
export { readSamples, type ReadOptions, type SampleArrays } from './read';
export { shardRange } from './shard';
