/**
 * `datasets.mnist` on the real digits of the `mnist` package and real tfjs:
 * shapes, ranges, one-hot labels, determinism, disjoint and balanced sets,
 * errors, tensors not leaked; and the pieces it is made of (the digits
 * decoder against JSON.parse, the balanced split).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { DatasetError } from '../../kernel-magics/src/training/datasets/errors';
import { datasets, mnist } from '../../kernel-magics/src/training/datasets/mnist';
import type { LabeledTensors, TfTensorFactory } from '../../kernel-magics/src/training/datasets/mnist';
import { decodeDigitFile, mnistDigits } from '../../kernel-magics/src/training/datasets/mnist-digits';
import { balancedCounts, splitDigits } from '../../kernel-magics/src/training/datasets/mnist-split';
import { tf } from '../helpers/tf-models';

jest.setTimeout(120_000);

const DIGITS_DIR = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');

/** Each row of a [n, width] tensor, as a hash of its bytes. */
function rowHashes(tensor: tf.Tensor2D): string[] {
  const values = tensor.dataSync();
  const width = tensor.shape[1];
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return Array.from({ length: tensor.shape[0] }, (_, row) =>
    createHash('sha1')
      .update(bytes.subarray(row * width * 4, (row + 1) * width * 4))
      .digest('hex'),
  );
}

/** The digit of each one-hot row. */
function labelsOf(ys: tf.Tensor2D): number[] {
  const values = ys.dataSync();
  return Array.from({ length: ys.shape[0] }, (_, row) => values.subarray(row * 10, row * 10 + 10).indexOf(1));
}

function classCounts(ys: tf.Tensor2D): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const digit of labelsOf(ys)) {
    counts[digit] += 1;
  }
  return counts;
}

function dispose(...sets: LabeledTensors[]): void {
  for (const set of sets) {
    tf.dispose([set.xs, set.ys]);
  }
}

describe('datasets.mnist', () => {
  it('gives xs [n, 784] float32 in [0, 1] and ys [n, 10] one-hot float32, for both sets', async () => {
    const { train, test } = await datasets.mnist({ train: 8000, test: 2000, tf });
    try {
      expect(train.xs.shape).toEqual([8000, 784]);
      expect(train.ys.shape).toEqual([8000, 10]);
      expect(test.xs.shape).toEqual([2000, 784]);
      expect(test.ys.shape).toEqual([2000, 10]);
      for (const set of [train, test]) {
        expect(set.xs.dtype).toBe('float32');
        expect(set.ys.dtype).toBe('float32');
        const pixels = set.xs.dataSync();
        let min = Infinity;
        let max = -Infinity;
        for (let i = 0; i < pixels.length; i++) {
          min = pixels[i] < min ? pixels[i] : min;
          max = pixels[i] > max ? pixels[i] : max;
        }
        expect(min).toBe(0);
        expect(max).toBe(1);
        // Every row is exactly one 1 among zeros.
        const labels = set.ys.dataSync();
        const notOneHot = Array.from({ length: set.ys.shape[0] }, (_, row) =>
          [...labels.subarray(row * 10, row * 10 + 10)].sort().join(''),
        ).filter((row) => row !== '0000000001');
        expect(notOneHot).toEqual([]);
      }
    } finally {
      dispose(train, test);
    }
  });

  it('gives real digits with their labels: each image and label is one the package ships', async () => {
    const shipped = new Map<string, number>();
    const digits = mnistDigits();
    digits.pixels.forEach((pixels, digit) => {
      const bytes = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
      for (let i = 0; i < digits.counts[digit]; i++) {
        shipped.set(
          createHash('sha1')
            .update(bytes.subarray(i * 3136, (i + 1) * 3136))
            .digest('hex'),
          digit,
        );
      }
    });
    const { train, test } = await mnist({ train: 300, test: 100, tf });
    try {
      for (const set of [train, test]) {
        const labels = labelsOf(set.ys);
        rowHashes(set.xs).forEach((hash, row) => expect(shipped.get(hash)).toBe(labels[row]));
      }
    } finally {
      dispose(train, test);
    }
  });

  it('is deterministic: the same call gives the same digits in the same order; another seed another order', async () => {
    const first = await mnist({ train: 500, test: 200, tf });
    const again = await mnist({ train: 500, test: 200, tf });
    const seeded = await mnist({ train: 500, test: 200, seed: 7, tf });
    try {
      for (const name of ['train', 'test'] as const) {
        expect(rowHashes(again[name].xs)).toEqual(rowHashes(first[name].xs));
        expect(Buffer.from(again[name].ys.dataSync().buffer)).toEqual(
          Buffer.from(first[name].ys.dataSync().buffer),
        );
        expect(rowHashes(seeded[name].xs)).not.toEqual(rowHashes(first[name].xs));
        // Another seed draws other digits, in the same numbers per class.
        expect(classCounts(seeded[name].ys)).toEqual(classCounts(first[name].ys));
      }
    } finally {
      dispose(first.train, first.test, again.train, again.test, seeded.train, seeded.test);
    }
  });

  it('keeps train and test disjoint, and uses every digit once when asked for all 10,000', async () => {
    const { train, test } = await mnist({ train: 8000, test: 2000, tf });
    try {
      const trainRows = new Set(rowHashes(train.xs));
      const testRows = rowHashes(test.xs);
      // The package's 10,000 images are all distinct, so equal rows would be the same digit twice.
      expect(trainRows.size).toBe(8000);
      expect(new Set(testRows).size).toBe(2000);
      expect(testRows.filter((row) => trainRows.has(row))).toEqual([]);
    } finally {
      dispose(train, test);
    }
  });

  it('balances the classes: the smaller set exactly, the larger as far as the digits left allow', async () => {
    const sizes = mnistDigits().counts;
    const { train, test } = await mnist({ train: 8000, test: 2000, tf });
    try {
      const testCounts = classCounts(test.ys);
      const trainCounts = classCounts(train.ys);
      expect(testCounts).toEqual(new Array(10).fill(200));
      // A class below the largest count has no digit left: taking more of it was impossible.
      const most = Math.max(...trainCounts);
      trainCounts.forEach((count, digit) => {
        if (count < most) {
          expect(count + testCounts[digit]).toBe(sizes[digit]);
        }
      });
      expect(most - Math.min(...trainCounts)).toBeGreaterThan(0);
    } finally {
      dispose(train, test);
    }
    const small = await mnist({ train: 100, test: 25, tf });
    try {
      expect(classCounts(small.train.ys)).toEqual(new Array(10).fill(10));
      // 25 over 10 classes: 2 or 3 each.
      expect(classCounts(small.test.ys).every((count) => count === 2 || count === 3)).toBe(true);
    } finally {
      dispose(small.train, small.test);
    }
  });

  it('gives empty sets for 0 and uses the tf it is given', async () => {
    const calls: number[][] = [];
    const counting: TfTensorFactory = {
      tensor2d: (values, shape, dtype) => {
        calls.push(shape);
        return tf.tensor2d(values, shape, dtype);
      },
    };
    const { train, test } = await mnist({ train: 0, test: 3, tf: counting });
    try {
      expect(train.xs.shape).toEqual([0, 784]);
      expect(train.ys.shape).toEqual([0, 10]);
      expect(test.xs.shape).toEqual([3, 784]);
      expect(calls).toEqual([
        [0, 784],
        [0, 10],
        [3, 784],
        [3, 10],
      ]);
    } finally {
      dispose(train, test);
    }
  });

  it('creates exactly its four tensors, and none when it fails', async () => {
    const before = tf.memory().numTensors;
    const { train, test } = await mnist({ train: 50, test: 10, tf });
    expect(tf.memory().numTensors).toBe(before + 4);
    dispose(train, test);
    expect(tf.memory().numTensors).toBe(before);
    await expect(mnist({ train: 9000, test: 2000, tf })).rejects.toThrow(DatasetError);
    // A tf whose second tensor fails: the first is disposed.
    let made = 0;
    const failing: TfTensorFactory = {
      tensor2d: (values, shape, dtype) => {
        made += 1;
        if (made === 4) {
          throw new Error('out of memory');
        }
        return tf.tensor2d(values, shape, dtype);
      },
    };
    await expect(mnist({ train: 5, test: 5, tf: failing })).rejects.toThrow('out of memory');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects counts that are not whole numbers from 0, or more than the package has, saying the limit', async () => {
    await expect(mnist({ train: 8000, test: 2001, tf })).rejects.toThrow(
      /train \+ test is 10001, more than the 10000 digits the mnist package ships/,
    );
    for (const bad of [-1, 1.5, Number.NaN, Infinity, '10' as unknown as number]) {
      await expect(mnist({ train: bad, test: 10, tf })).rejects.toThrow(
        /train must be a whole number of digits from 0 .*up to the 10,000/,
      );
      await expect(mnist({ train: 10, test: bad, tf })).rejects.toThrow(DatasetError);
    }
    await expect(mnist({ train: 10, test: 10, seed: -1, tf })).rejects.toThrow(/seed must be a whole number/);
    await expect(mnist({ train: 10, test: 10, seed: 2 ** 32, tf })).rejects.toThrow(DatasetError);
    await expect(mnist(undefined as unknown as { train: number; test: number })).rejects.toThrow(
      /takes \{ train, test \}/,
    );
  });
});

describe('the digits decoder', () => {
  it('gives every pixel of every class file exactly as new Float32Array(JSON.parse(file).data)', () => {
    for (let digit = 0; digit < 10; digit++) {
      const file = path.join(DIGITS_DIR, `${digit}.json`);
      const bytes = readFileSync(file);
      const expected = new Float32Array((JSON.parse(bytes.toString('utf8')) as { data: number[] }).data);
      const decoded = decodeDigitFile(bytes, file);
      expect(decoded.length).toBe(expected.length);
      expect(Buffer.from(decoded.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    }
  });

  it('refuses what is not a digits file of mnist 1.1.0', () => {
    const zeros = Array.from({ length: 784 }, () => '0');
    const file = (data: string): Buffer => Buffer.from(`{ "data": [${data}]}`);
    expect(decodeDigitFile(file(zeros.join(', ')), 'ok').length).toBe(784);
    for (const data of [
      [...zeros.slice(1), '1.5'].join(','), // above 1
      [...zeros.slice(1), '1e-3'].join(','), // an exponent
      [...zeros.slice(1), '-0'].join(','), // a sign
      [...zeros.slice(1), '.5'].join(','), // no integer part
      [...zeros.slice(1), ''].join(','), // an empty element
      zeros.slice(1).join(','), // 783 pixels
    ]) {
      expect(() => decodeDigitFile(file(data), 'bad.json')).toThrow(
        /bad\.json is not a digits file of mnist 1\.1\.0/,
      );
    }
    expect(() => decodeDigitFile(Buffer.from(`{"data":[${zeros.join(',')}`), 'cut.json')).toThrow(
      /does not end/,
    );
    expect(() => decodeDigitFile(Buffer.from('{}'), 'empty.json')).toThrow(/no data array/);
  });
});

describe('the split', () => {
  it('fills classes evenly up to their sizes', () => {
    expect(balancedCounts(10, [5, 5])).toEqual([5, 5]);
    expect(balancedCounts(7, [5, 5])).toEqual([4, 3]);
    expect(balancedCounts(9, [1, 10, 10])).toEqual([1, 4, 4]);
    expect(balancedCounts(0, [3, 3])).toEqual([0, 0]);
    expect(() => balancedCounts(7, [3, 3])).toThrow(RangeError);
  });

  it('balances the smaller set first when test is the larger one', () => {
    const sizes = [3, 50, 50];
    const split = splitDigits(sizes, 6, 90, 0);
    const count = (classes: Uint8Array): number[] =>
      [0, 1, 2].map((digit) => classes.filter((c) => c === digit).length);
    expect(count(split.train.classes)).toEqual([2, 2, 2]);
    // 90 over what is left ([1, 48, 48]): 44 each where there is room, the one left over to the lowest class.
    expect(count(split.test.classes)).toEqual([1, 45, 44]);
    // No digit in both sets.
    const picked = (set: typeof split.train): string[] =>
      Array.from(set.classes, (digit, i) => `${digit}:${set.indexes[i]}`);
    const trainPicks = new Set(picked(split.train));
    expect(picked(split.test).filter((pick) => trainPicks.has(pick))).toEqual([]);
  });
});
