/**
 * How a published dataset lies in a store:
 *
 *     datasets/<hash>/samples-<start>-<end>.bin   samples [start, end): a header,
 *                                                 then their xs, then their ys
 *     datasets/<hash>/manifest.json               written last: the dataset is
 *                                                 complete iff this exists
 *
 * `<hash>` is the SHA-256 of the format, the shapes and every value (see
 * {@link datasetHash}), so a key's content never changes: two publishes of
 * the same data write the same bytes under the same keys, whatever their
 * chunk sizes, and can run at once. A chunk's header repeats its range and
 * holds the SHA-256 of the rest, so a reader checks it without the manifest.
 * Values are float32 in the platform's byte order (little-endian on every
 * platform Node and Lambda run on).
 */
import { createHash } from 'node:crypto';

import { DatasetError } from './errors';

/** A published dataset: small and plain (it is captured into invocations). */
export interface DatasetRef {
  /** SHA-256 (hex) of the format, the shapes and the values. */
  hash: string;
  /** How many samples. */
  samples: number;
  /** One sample's input shape (e.g. `[784]`). */
  xShape: number[];
  /** One sample's label shape (e.g. `[10]`). */
  yShape: number[];
  /** Samples per chunk (the last chunk may have fewer). */
  chunkSamples: number;
}

/** The values of a dataset, as {@link DatasetRef} describes them. */
export interface DatasetArrays {
  /** Every sample's input, one after the other: `samples x product(xShape)` values. */
  xs: Float32Array;
  /** Every sample's label: `samples x product(yShape)` values. */
  ys: Float32Array;
  xShape: number[];
  yShape: number[];
  samples: number;
}

/** The prefix of every dataset's objects. */
export const DATASETS_PREFIX = 'datasets/';

/** What a chunk object holds at most by default, before its header. */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

/** The most samples a dataset may have (the chunk header stores ranges as 32-bit numbers). */
export const MAX_SAMPLES = 2 ** 32 - 1;

const FORMAT = 'serverless-kernel/dataset';
const FORMAT_VERSION = 1;
const HASH = /^[0-9a-f]{64}$/;
const FLOAT_BYTES = 4;

/** The prefix of one dataset's objects. */
export function datasetPrefix(hash: string): string {
  return `${DATASETS_PREFIX}${hash}/`;
}

/** The key of a dataset's manifest. */
export function manifestKey(hash: string): string {
  return `${datasetPrefix(hash)}manifest.json`;
}

/** The key of the chunk holding samples [start, end). */
export function chunkKey(hash: string, start: number, end: number): string {
  return `${datasetPrefix(hash)}samples-${start}-${end}.bin`;
}

/** A range of samples, [start, end). */
export interface SampleRange {
  start: number;
  end: number;
}

/** The chunks of `ref` that hold samples [start, end), in order. */
export function chunksCovering(ref: DatasetRef, start: number, end: number): SampleRange[] {
  const chunks: SampleRange[] = [];
  if (end <= start) {
    return chunks;
  }
  const first = Math.floor(start / ref.chunkSamples);
  const last = Math.floor((end - 1) / ref.chunkSamples);
  for (let index = first; index <= last; index++) {
    const from = index * ref.chunkSamples;
    chunks.push({ start: from, end: Math.min(ref.samples, from + ref.chunkSamples) });
  }
  return chunks;
}

/** Values per sample of a shape (1 for `[]`). */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((size, dimension) => size * dimension, 1);
}

/** Bytes per sample, inputs and labels. */
export function sampleBytes(ref: Pick<DatasetRef, 'xShape' | 'yShape'>): number {
  return (sizeOf(ref.xShape) + sizeOf(ref.yShape)) * FLOAT_BYTES;
}

/** The chunk size when a publish names none: whole samples in {@link DEFAULT_CHUNK_BYTES}, at least one. */
export function defaultChunkSamples(ref: Pick<DatasetRef, 'xShape' | 'yShape'>): number {
  return Math.max(1, Math.floor(DEFAULT_CHUNK_BYTES / sampleBytes(ref)));
}

/** The content hash of a dataset (its arrays already checked against its shapes). */
export function datasetHash(data: DatasetArrays): string {
  const hash = createHash('sha256');
  const { samples, xShape, yShape } = data;
  hash.update(`${FORMAT} v${FORMAT_VERSION} ${JSON.stringify({ samples, xShape, yShape })}\n`);
  hash.update(bytesOf(data.xs));
  hash.update(bytesOf(data.ys));
  return hash.digest('hex');
}

/** A typed array's bytes, without a copy. */
export function bytesOf(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/**
 * Checks that `value` is a {@link DatasetRef} (it may have crossed into an
 * invocation); throws {@link DatasetError} saying what is wrong.
 */
export function checkRef(value: unknown): DatasetRef {
  const ref = value as Partial<DatasetRef> | null;
  const problem =
    typeof ref !== 'object' || ref === null
      ? 'not an object'
      : typeof ref.hash !== 'string' || !HASH.test(ref.hash)
        ? 'its hash is not 64 hex digits'
        : !isCount(ref.samples, 0)
          ? 'its samples is not a whole number from 0'
          : !isShape(ref.xShape) || !isShape(ref.yShape)
            ? 'its shapes are not lists of whole numbers from 1'
            : !isCount(ref.chunkSamples, 1)
              ? 'its chunkSamples is not a whole number from 1'
              : undefined;
  if (problem) {
    throw new DatasetError(
      `not a dataset reference from publishDataset (${problem}): publish the dataset and use what it returns`,
    );
  }
  return ref as DatasetRef;
}

/** Checks arrays against their shapes; throws {@link DatasetError} saying what does not fit. */
export function checkArrays(data: DatasetArrays): DatasetArrays {
  if (!isCount(data.samples, 0) || data.samples > MAX_SAMPLES) {
    throw new DatasetError(
      `a dataset's samples must be a whole number from 0 to ${MAX_SAMPLES} (got ${String(data.samples)})`,
    );
  }
  for (const [name, shape, values] of [
    ['xs', data.xShape, data.xs],
    ['ys', data.yShape, data.ys],
  ] as const) {
    if (!isShape(shape)) {
      throw new DatasetError(
        `${name}'s per-sample shape must be a list of whole numbers from 1 (got ${JSON.stringify(shape)})`,
      );
    }
    if (!(values instanceof Float32Array)) {
      throw new DatasetError(`${name} must be a Float32Array (datasetArrays(tensors) gives one)`);
    }
    const expected = data.samples * sizeOf(shape);
    if (values.length !== expected) {
      throw new DatasetError(
        `${name} has ${values.length} values; ${data.samples} samples of shape [${shape.join(', ')}] need ${expected}`,
      );
    }
  }
  return data;
}

/** Checks a chunk size asked for. */
export function checkChunkSamples(value: unknown): number {
  if (!isCount(value, 1)) {
    throw new DatasetError(`chunkSamples must be a whole number of samples from 1 (got ${String(value)})`);
  }
  return value;
}

/** What a manifest records: the reference, and when it was published. */
export interface DatasetManifest extends DatasetRef {
  format: typeof FORMAT;
  formatVersion: typeof FORMAT_VERSION;
  /** How many chunk objects. */
  chunks: number;
  /** When the dataset became complete (ISO 8601). */
  publishedAt: string;
}

/** The manifest of a dataset about to be complete. */
export function encodeManifest(ref: DatasetRef): Uint8Array {
  const manifest: DatasetManifest = {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    ...refOf(ref),
    chunks: Math.ceil(ref.samples / ref.chunkSamples),
    publishedAt: new Date().toISOString(),
  };
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/** The reference a manifest records, or undefined when it is not a manifest of this format. */
export function decodeManifest(body: Uint8Array): DatasetRef | undefined {
  let value: Partial<DatasetManifest> | null;
  try {
    value = JSON.parse(new TextDecoder().decode(body)) as Partial<DatasetManifest> | null;
  } catch {
    return undefined;
  }
  if (!value || value.format !== FORMAT || value.formatVersion !== FORMAT_VERSION) {
    return undefined;
  }
  try {
    return refOf(checkRef(value));
  } catch {
    return undefined;
  }
}

/** Just the reference's fields (a manifest has more). */
export function refOf(ref: DatasetRef): DatasetRef {
  return {
    hash: ref.hash,
    samples: ref.samples,
    xShape: [...ref.xShape],
    yShape: [...ref.yShape],
    chunkSamples: ref.chunkSamples,
  };
}

/** Whether two references describe the same data (their chunk sizes may differ). */
export function sameData(a: DatasetRef, b: DatasetRef): boolean {
  return (
    a.hash === b.hash &&
    a.samples === b.samples &&
    a.xShape.join(',') === b.xShape.join(',') &&
    a.yShape.join(',') === b.yShape.join(',')
  );
}

function isCount(value: unknown, from: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= from;
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((dimension) => isCount(dimension, 1));
}
