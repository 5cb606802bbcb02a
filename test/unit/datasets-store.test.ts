/**
 * Datasets in the object store, on every store (the embedded store, a real
 * redis-server, a real s3rver): published once per content, read back
 * exactly, shard by shard from only the chunks that hold the shard, kept
 * warm; missing, torn and damaged chunks are typed errors that a second
 * publish repairs. Also the tensors-to-arrays step and the shard split.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';

import { MeteredStore, openStore } from '../../kernel-magics/src/exchange/store';
import {
  type DatasetArrays,
  DatasetChunkCache,
  DatasetChunkError,
  DatasetError,
  type DatasetRef,
  datasetArrays,
  publishDataset,
  readSamples,
  shardRange,
} from '../../kernel-magics/src/training/datasets';
import { CountingStore } from '../helpers/counting-store';
import { RedisServer, S3rverServer, S3RVER_ENV, startRedis, startS3rver } from '../helpers/stores';
import { tf } from '../helpers/tf-models';

jest.setTimeout(120_000);

const run = randomBytes(4).toString('hex');
let tmp: string;
let redis: RedisServer;
let s3rver: S3rverServer;
const opened: MeteredStore[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'datasets-store-'));
  [redis, s3rver] = await Promise.all([startRedis(), startS3rver()]);
});

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await Promise.all([redis?.stop(), s3rver?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

let namespaces = 0;

const targets: Array<{ name: string; open: () => MeteredStore }> = [
  { name: 'embedded', open: () => track(openStore(`embedded:${path.join(tmp, `ns-${(namespaces += 1)}`)}`)) },
  { name: 'redis', open: () => track(openStore(redis.url(`datasets-${run}-${(namespaces += 1)}:`))) },
  {
    name: 's3 (s3rver)',
    open: () => track(openStore(s3rver.url(`datasets-${run}-${(namespaces += 1)}`), { env: S3RVER_ENV })),
  },
];

function track(store: MeteredStore): MeteredStore {
  opened.push(store);
  return store;
}

/** A dataset of `samples` samples with inputs of `xShape` and labels of `yShape`, values from a seed. */
function dataset(samples: number, xShape: number[], yShape: number[], seed = 1): DatasetArrays {
  const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
  const fill = (length: number, offset: number): Float32Array => {
    const values = new Float32Array(length);
    let state = seed * 7919 + offset;
    for (let i = 0; i < length; i++) {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      values[i] = state / 2 ** 31 - 0.5;
    }
    return values;
  };
  return {
    xs: fill(samples * size(xShape), 1),
    ys: fill(samples * size(yShape), 2),
    xShape,
    yShape,
    samples,
  };
}

function bytes(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** Samples [start, end) of `data`, as readSamples should give them. */
function slice(data: DatasetArrays, start: number, end: number): { xs: Buffer; ys: Buffer } {
  const xSize = data.xShape.reduce((a, b) => a * b, 1);
  const ySize = data.yShape.reduce((a, b) => a * b, 1);
  return {
    xs: bytes(data.xs.subarray(start * xSize, end * xSize)),
    ys: bytes(data.ys.subarray(start * ySize, end * ySize)),
  };
}

describe.each(targets)('datasets on $name', (target) => {
  let store: MeteredStore;
  beforeEach(() => {
    store = target.open();
  });

  it('round-trips exactly: the whole dataset, any range, across chunk edges', async () => {
    const data = dataset(1000, [3, 4], [2]);
    const ref = await publishDataset(store, data, { chunkSamples: 64 });
    expect(ref).toEqual({
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      samples: 1000,
      xShape: [3, 4],
      yShape: [2],
      chunkSamples: 64,
    });
    const cache = new DatasetChunkCache();
    for (const [start, end] of [
      [0, 1000],
      [0, 1],
      [63, 65],
      [128, 192],
      [990, 1000],
      [500, 500],
    ]) {
      const read = await readSamples(store, ref, start, end, { cache });
      const expected = slice(data, start, end);
      expect(bytes(read.xs).equals(expected.xs)).toBe(true);
      expect(bytes(read.ys).equals(expected.ys)).toBe(true);
    }
  });

  it('writes nothing when the same data is published again (one get, one listing)', async () => {
    const data = dataset(300, [5], [1], 2);
    store.reset();
    const ref = await publishDataset(store, data, { chunkSamples: 100 });
    expect(store.usage().requests.put).toBe(4); // three chunks, then the manifest
    store.reset();
    const again = await publishDataset(store, { ...data, xs: data.xs.slice(), ys: data.ys.slice() });
    expect(again).toEqual(ref);
    const usage = store.usage();
    expect(usage.requests.put).toBe(0);
    expect(usage.bytesUp).toBe(0);
    expect(usage.requests.get).toBe(1);
    expect(usage.requests.list).toBe(1);
  });

  it('reads a shard from only the chunks that hold it, and from the warm cache the next time', async () => {
    const data = dataset(1000, [8], [2], 3);
    const ref = await publishDataset(store, data, { chunkSamples: 100 });
    const cache = new DatasetChunkCache();
    store.reset();
    const [start, end] = shardRange(1000, 4, 1); // [250, 500): chunks 200-300, 300-400, 400-500
    const shard = await readSamples(store, ref, start, end, { cache });
    expect(store.usage().requests.get).toBe(3);
    expect(store.usage().bytesDown).toBeLessThan(4 * 100 * 10 * 4);
    expect(bytes(shard.xs).equals(slice(data, start, end).xs)).toBe(true);
    store.reset();
    const warm = await readSamples(store, ref, start, end, { cache });
    expect(store.usage().requests.get).toBe(0);
    expect(bytes(warm.ys).equals(bytes(shard.ys))).toBe(true);
    // The arrays are the caller's: changing them changes nothing cached.
    warm.xs.fill(0);
    const third = await readSamples(store, ref, start, end, { cache });
    expect(bytes(third.xs).equals(slice(data, start, end).xs)).toBe(true);
  });

  it('says to publish again when a chunk is missing, and a second publish writes just that chunk', async () => {
    const data = dataset(200, [4], [1], 4);
    const ref = await publishDataset(store, data, { chunkSamples: 50 });
    const doomed = `datasets/${ref.hash}/samples-50-100.bin`;
    expect(await store.list(`datasets/${ref.hash}/`)).toEqual(
      expect.arrayContaining([doomed, `datasets/${ref.hash}/manifest.json`]),
    );
    await store.delete(doomed);
    const failure = readSamples(store, ref, 40, 60, { cache: false });
    await expect(failure).rejects.toThrow(DatasetChunkError);
    await expect(failure).rejects.toThrow(/samples-50-100\.bin .* is missing; publish the dataset again/);
    store.reset();
    expect(await publishDataset(store, data)).toEqual(ref);
    expect(store.usage().requests.put).toBe(1);
    const read = await readSamples(store, ref, 40, 60, { cache: false });
    expect(bytes(read.xs).equals(slice(data, 40, 60).xs)).toBe(true);
  });
});

describe('datasets on the embedded store', () => {
  let store: MeteredStore;
  beforeEach(() => {
    store = targets[0].open();
  });

  it('lays a dataset out as chunks of at most 1 MiB by default and the manifest', async () => {
    // MNIST's shapes: 784 inputs and 10 labels per sample, 3,176 bytes.
    const data = dataset(700, [784], [10], 5);
    const ref = await publishDataset(store, data);
    expect(ref.chunkSamples).toBe(Math.floor((1024 * 1024) / 3176));
    const keys = await store.list(`datasets/${ref.hash}/`);
    expect(keys).toEqual(
      [
        'manifest.json',
        `samples-0-${ref.chunkSamples}.bin`,
        `samples-${ref.chunkSamples}-${2 * ref.chunkSamples}.bin`,
        `samples-${2 * ref.chunkSamples}-700.bin`,
      ]
        .map((name) => `datasets/${ref.hash}/${name}`)
        .sort(),
    );
    for (const key of keys.filter((name) => name.endsWith('.bin'))) {
      expect((await store.get(key))!.byteLength).toBeLessThanOrEqual(1024 * 1024 + 48);
    }
  });

  it('gives a reference that is small and survives v8 serialization (it is captured into invocations)', async () => {
    const ref = await publishDataset(store, dataset(10, [2, 2], [3], 6));
    const copy = v8.deserialize(v8.serialize(ref)) as DatasetRef;
    expect(copy).toEqual(ref);
    expect(v8.serialize(ref).byteLength).toBeLessThan(256);
    const read = await readSamples(store, copy, 0, 10, { cache: false });
    expect(read.xs.length).toBe(40);
  });

  it('hashes the content: other values or other shapes are another dataset', async () => {
    const data = dataset(12, [6], [1], 7);
    const ref = await publishDataset(store, data);
    const changed = { ...data, xs: data.xs.slice() };
    changed.xs[71] += 1;
    expect((await publishDataset(store, changed)).hash).not.toBe(ref.hash);
    expect((await publishDataset(store, { ...data, xShape: [2, 3] })).hash).not.toBe(ref.hash);
  });

  it('refuses a torn, damaged or misplaced chunk with a typed error', async () => {
    const data = dataset(100, [4], [2], 8);
    const ref = await publishDataset(store, data, { chunkSamples: 25 });
    const key = (start: number, end: number): string => `datasets/${ref.hash}/samples-${start}-${end}.bin`;
    const good = (await store.get(key(0, 25)))!;
    const check = async (start: number, message: RegExp): Promise<void> => {
      const read = readSamples(store, ref, start, start + 1, { cache: false });
      await expect(read).rejects.toThrow(DatasetChunkError);
      await expect(read).rejects.toThrow(message);
    };
    await store.put(key(0, 25), good.subarray(0, good.byteLength - 10));
    await check(0, /has \d+ bytes, not the \d+ published; publish the dataset again/);
    const damaged = good.slice();
    damaged[200] ^= 0xff;
    await store.put(key(0, 25), damaged);
    await check(0, /does not match its checksum/);
    // Another range's chunk of the same size under this key.
    await store.put(key(25, 50), good);
    await check(30, /holds samples \[0, 25\), not \[25, 50\)/);
    await store.put(key(50, 75), new Uint8Array(good.byteLength));
    await check(60, /is not a dataset chunk of this format/);
    // The same range of another dataset of the same shapes.
    const other = await publishDataset(store, dataset(100, [4], [2], 99), { chunkSamples: 25 });
    await store.put(key(75, 100), (await store.get(`datasets/${other.hash}/samples-75-100.bin`))!);
    await check(80, /does not match its checksum \(damaged, or written for another dataset\)/);
    // Publishing again does not repair chunks that are there (it trusts what a put wrote whole)...
    await store.put(key(0, 25), good);
    await store.delete(key(25, 50));
    await store.delete(key(50, 75));
    await store.delete(key(75, 100));
    // ...and rewrites the missing ones.
    await publishDataset(store, data);
    const all = await readSamples(store, ref, 0, 100, { cache: false });
    expect(bytes(all.xs).equals(bytes(data.xs))).toBe(true);
  });

  it('finishes a publish that died before its manifest (the dataset is complete only with it)', async () => {
    const counting = new CountingStore(store);
    const data = dataset(90, [3], [1], 9);
    counting.failWrites = /manifest\.json$/;
    await expect(publishDataset(counting, data, { chunkSamples: 30 })).rejects.toThrow(/injected failure/);
    counting.failWrites = undefined;
    counting.reset();
    const ref = await publishDataset(counting, data, { chunkSamples: 30 });
    // No manifest: a publish writes every chunk again (same bytes, same keys), then the manifest.
    expect(counting.count('put', /\.bin$/)).toBe(3);
    expect(counting.count('putIfAbsent', /manifest\.json$/)).toBe(1);
    const read = await readSamples(counting, ref, 0, 90, { cache: false });
    expect(bytes(read.ys).equals(bytes(data.ys))).toBe(true);
  });

  it('lets concurrent publishes of the same data agree on one reference, whatever chunk sizes they asked for', async () => {
    const data = dataset(240, [5], [2], 10);
    const refs = await Promise.all([
      publishDataset(store, data, { chunkSamples: 40 }),
      publishDataset(store, data, { chunkSamples: 40 }),
      publishDataset(store, data, { chunkSamples: 60 }),
    ]);
    // A later publish, whatever it asks for, gets the layout of the manifest that was written first.
    const later = await publishDataset(store, data, { chunkSamples: 7 });
    expect([40, 60]).toContain(later.chunkSamples);
    expect(refs).toEqual([later, later, later]);
    const read = await readSamples(store, later, 0, 240, { cache: false });
    expect(bytes(read.xs).equals(bytes(data.xs))).toBe(true);
  });

  it('keeps its warm cache within its bound, dropping the least recently used chunk', async () => {
    const data = dataset(40, [25], [], 11);
    const ref = await publishDataset(store, data, { chunkSamples: 10 });
    // Each chunk holds 10 x 26 floats = 1,040 bytes; the cache holds two.
    const cache = new DatasetChunkCache(2100);
    await readSamples(store, ref, 0, 20, { cache });
    expect(cache.size).toBe(2);
    await readSamples(store, ref, 0, 10, { cache }); // chunk 0 is now the most recent
    await readSamples(store, ref, 20, 30, { cache }); // evicts chunk 1
    expect(cache.bytes).toBeLessThanOrEqual(2100);
    store.reset();
    await readSamples(store, ref, 0, 10, { cache });
    expect(store.usage().requests.get).toBe(0);
    await readSamples(store, ref, 10, 20, { cache });
    expect(store.usage().requests.get).toBe(1);
  });

  it('checks its arguments and says what fits', async () => {
    const data = dataset(10, [2], [1], 12);
    await expect(publishDataset(store, { ...data, xs: data.xs.subarray(1) })).rejects.toThrow(
      /xs has 19 values; 10 samples of shape \[2\] need 20/,
    );
    await expect(publishDataset(store, { ...data, xShape: [0] })).rejects.toThrow(DatasetError);
    await expect(publishDataset(store, { ...data, samples: -1 })).rejects.toThrow(
      /samples must be a whole number/,
    );
    await expect(publishDataset(store, data, { chunkSamples: 0 })).rejects.toThrow(/chunkSamples must be/);
    const ref = await publishDataset(store, data);
    await expect(readSamples(store, ref, 5, 11)).rejects.toThrow(/0 <= start <= end <= 10/);
    await expect(readSamples(store, ref, 6, 5)).rejects.toThrow(DatasetError);
    await expect(readSamples(store, ref, 0.5, 5)).rejects.toThrow(DatasetError);
    await expect(readSamples(store, { ...ref, hash: 'abc' }, 0, 5)).rejects.toThrow(
      /not a dataset reference/,
    );
    const ghost = { ...ref, hash: 'f'.repeat(64) };
    await expect(readSamples(store, ghost, 0, 5, { cache: false })).rejects.toThrow(
      /is missing; publish the dataset again/,
    );
  });

  it('stops at an aborted signal with its reason', async () => {
    const data = dataset(100, [2], [1], 13);
    const controller = new AbortController();
    controller.abort(new Error('stopped by the test'));
    await expect(publishDataset(store, data, { signal: controller.signal })).rejects.toThrow(
      'stopped by the test',
    );
    const ref = await publishDataset(store, data);
    await expect(readSamples(store, ref, 0, 10, { signal: controller.signal, cache: false })).rejects.toThrow(
      'stopped by the test',
    );
  });

  it('uses no chunk for an empty range and an empty dataset', async () => {
    const counting = new CountingStore(store);
    const ref = await publishDataset(counting, dataset(0, [3], [1]));
    expect(ref.samples).toBe(0);
    counting.reset();
    const read = await readSamples(counting, ref, 0, 0);
    expect(read.xs.length).toBe(0);
    expect(counting.calls).toEqual([]);
  });
});

describe('datasetArrays', () => {
  it("gives the tensors' values and per-sample shapes, creating no tensor", () => {
    const xs = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 2, 2]);
    const ys = tf.tensor1d([0, 1, 2], 'int32');
    const before = tf.memory().numTensors;
    const arrays = datasetArrays({ xs, ys });
    expect(tf.memory().numTensors).toBe(before);
    expect(arrays.samples).toBe(3);
    expect(arrays.xShape).toEqual([2, 2]);
    expect(arrays.yShape).toEqual([]);
    expect(arrays.xs).toBeInstanceOf(Float32Array);
    expect([...arrays.xs]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // int32 labels become float32.
    expect(arrays.ys).toBeInstanceOf(Float32Array);
    expect([...arrays.ys]).toEqual([0, 1, 2]);
    tf.dispose([xs, ys]);
  });

  it('publishes tensors as they are: read back, they make the same tensors', async () => {
    const store = targets[0].open();
    const xs = tf.randomUniform([50, 7], 0, 1, 'float32', 3);
    const ys = tf.oneHot(
      tf.tensor1d(
        [...Array(50).keys()].map((i) => i % 4),
        'int32',
      ),
      4,
    );
    const ref = await publishDataset(store, datasetArrays({ xs, ys }), { chunkSamples: 16 });
    const back = await readSamples(store, ref, 10, 40, { cache: false });
    expect(bytes(back.xs).equals(bytes(xs.slice([10, 0], [30, 7]).dataSync() as Float32Array))).toBe(true);
    expect([...back.ys]).toEqual([...(ys.slice([10, 0], [30, 4]).dataSync() as Float32Array)]);
    tf.dispose([xs, ys]);
  });

  it('refuses scalars, strings and tensors that disagree on the samples', () => {
    const scalar = tf.scalar(1);
    const a = tf.zeros([3, 2]);
    const b = tf.zeros([4, 1]);
    const strings = tf.tensor1d(['a', 'b', 'c']);
    expect(() => datasetArrays({ xs: scalar, ys: a })).toThrow(
      /xs must have the samples as its first dimension/,
    );
    expect(() => datasetArrays({ xs: a, ys: b })).toThrow(/xs has 3 samples and ys 4/);
    expect(() => datasetArrays({ xs: a, ys: strings })).toThrow(/ys holds string values/);
    tf.dispose([scalar, a, b, strings]);
  });
});

describe('shardRange', () => {
  it('splits samples into contiguous parts in rank order whose sizes differ by at most one', () => {
    for (const samples of [0, 1, 7, 10, 1000, 1001]) {
      for (const workers of [1, 2, 3, 4, 7, 16]) {
        const parts = Array.from({ length: workers }, (_, rank) => shardRange(samples, workers, rank));
        expect(parts[0][0]).toBe(0);
        expect(parts[workers - 1][1]).toBe(samples);
        parts.slice(1).forEach(([start], rank) => expect(start).toBe(parts[rank][1]));
        const sizes = parts.map(([start, end]) => end - start);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      }
    }
    expect(shardRange(10, 4, 0)).toEqual([0, 3]);
    expect(shardRange(10, 4, 3)).toEqual([8, 10]);
  });

  it('refuses ranks outside [0, workers) and numbers that are not whole', () => {
    expect(() => shardRange(10, 4, 4)).toThrow(/rank must be a whole number from 0 to 3/);
    expect(() => shardRange(10, 0, 0)).toThrow(/workers must be a whole number from 1/);
    expect(() => shardRange(-1, 2, 0)).toThrow(DatasetError);
    expect(() => shardRange(10, 2, 0.5)).toThrow(DatasetError);
  });
});
