/**
 * `datasets.mnist`: real handwritten digits as tfjs tensors, from the
 * `mnist` package's 10,000 digits (nothing is downloaded). The digits and
 * tfjs load at the first call: the package index, which every invocation
 * loads, reaches this module only through ../../lazy-cell-api.
 */
import type { Tensor2D } from '@tensorflow/tfjs';

import { resolveTfjs } from '../../state/tfjs';
import { DatasetError } from './errors';
import { MNIST_CLASSES, MNIST_PIXELS, mnistDigits, type MnistDigits } from './mnist-digits';
import { type DigitSelection, splitDigits } from './mnist-split';

/** The part of `@tensorflow/tfjs` the datasets use (the module fits it). */
export interface TfTensorFactory {
  tensor2d(values: Float32Array, shape: [number, number], dtype: 'float32'): Tensor2D;
}

/** What {@link mnist} takes. */
export interface MnistOptions {
  /** How many training digits: a whole number from 0; `train + test` at most the 10,000 the package ships. */
  train: number;
  /** How many test digits (never any of the training ones): a whole number from 0. */
  test: number;
  /** Which digits and in what order: a whole number in [0, 2^32); the same seed gives the same sets. Default 0. */
  seed?: number;
  /** The tfjs to build the tensors with (default: the notebook's `@tensorflow/tfjs`, as `models.load` finds it). */
  tf?: TfTensorFactory;
}

/** Images and their labels. */
export interface LabeledTensors {
  /** `[n, 784]` float32, each pixel in [0, 1] (28 x 28, row-major). */
  xs: Tensor2D;
  /** `[n, 10]` float32, one-hot: `ys[i][d]` is 1 when sample `i` is the digit `d`. */
  ys: Tensor2D;
}

/** The two sets of a {@link mnist} call; dispose their tensors when done. */
export interface MnistSplits {
  train: LabeledTensors;
  test: LabeledTensors;
}

/** The datasets cells use, as the package index exports them. */
export interface DatasetsApi {
  /**
   * MNIST digits as tensors: `train` and `test` sets, disjoint, each with
   * the classes as balanced as the digits allow, in a seeded order.
   *
   * ```ts
   * const { train, test } = await datasets.mnist({ train: 8000, test: 2000 });
   * // train.xs: Tensor2D [8000, 784] in [0, 1]; train.ys: Tensor2D [8000, 10] one-hot
   * ```
   *
   * Rejects with {@link DatasetError} when the counts are not whole numbers
   * from 0 or ask for more digits than the package has.
   */
  mnist(options: MnistOptions): Promise<MnistSplits>;
}

/** The seed when none is given. */
export const DEFAULT_MNIST_SEED = 0;

const SEED_LIMIT = 2 ** 32;

const TFJS_CALLER = {
  call: 'datasets.mnist',
  purpose: 'to build the tensors',
  example: 'datasets.mnist({ train, test, tf })',
};

/** See {@link DatasetsApi.mnist}. */
export async function mnist(options: MnistOptions): Promise<MnistSplits> {
  const { train, test, seed } = checkOptions(options);
  const digits = mnistDigits();
  if (train + test > digits.total) {
    throw new DatasetError(
      `datasets.mnist: train + test is ${train + test}, more than the ${digits.total} digits the mnist package ships; ` +
        `ask for at most ${digits.total} in all, e.g. { train: 8000, test: 2000 }`,
    );
  }
  const tf = options.tf ?? tfjs();
  const split = splitDigits(digits.counts, train, test, seed);
  const trainSet = tensorsOf(split.train, digits, tf);
  try {
    return { train: trainSet, test: tensorsOf(split.test, digits, tf) };
  } catch (error) {
    disposeAll(trainSet);
    throw error;
  }
}

/** The cells' `datasets`. */
export const datasets: DatasetsApi = { mnist };

function checkOptions(options: MnistOptions): { train: number; test: number; seed: number } {
  if (typeof options !== 'object' || options === null) {
    throw new DatasetError(
      'datasets.mnist takes { train, test }, e.g. datasets.mnist({ train: 8000, test: 2000 })',
    );
  }
  const count = (name: 'train' | 'test'): number => {
    const value: unknown = options[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new DatasetError(
        `datasets.mnist: ${name} must be a whole number of digits from 0 (got ${describe(value)}); ` +
          'train + test may be up to the 10,000 the mnist package ships',
      );
    }
    return value;
  };
  const seed: unknown = options.seed ?? DEFAULT_MNIST_SEED;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0 || seed >= SEED_LIMIT) {
    throw new DatasetError(
      `datasets.mnist: seed must be a whole number from 0 to 4294967295 (got ${describe(seed)})`,
    );
  }
  return { train: count('train'), test: count('test'), seed };
}

function tfjs(): TfTensorFactory {
  const tf = resolveTfjs(process.cwd(), TFJS_CALLER) as Partial<TfTensorFactory>;
  if (typeof tf.tensor2d !== 'function') {
    throw new DatasetError(
      'the @tensorflow/tfjs found has no tensor2d: pass yours as datasets.mnist({ train, test, tf })',
    );
  }
  return tf as TfTensorFactory;
}

/** The selected digits as fresh arrays (tfjs may keep them), then tensors. */
function tensorsOf(selection: DigitSelection, digits: MnistDigits, tf: TfTensorFactory): LabeledTensors {
  const { classes, indexes } = selection;
  const samples = classes.length;
  const pixels = new Float32Array(samples * MNIST_PIXELS);
  const labels = new Float32Array(samples * MNIST_CLASSES);
  for (let i = 0; i < samples; i++) {
    const digit = classes[i];
    const from = indexes[i] * MNIST_PIXELS;
    pixels.set(digits.pixels[digit].subarray(from, from + MNIST_PIXELS), i * MNIST_PIXELS);
    labels[i * MNIST_CLASSES + digit] = 1;
  }
  const xs = tf.tensor2d(pixels, [samples, MNIST_PIXELS], 'float32');
  try {
    return { xs, ys: tf.tensor2d(labels, [samples, MNIST_CLASSES], 'float32') };
  } catch (error) {
    xs.dispose();
    throw error;
  }
}

function disposeAll(set: LabeledTensors): void {
  set.xs.dispose();
  set.ys.dispose();
}

function describe(value: unknown): string {
  return typeof value === 'number'
    ? String(value)
    : typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value;
}
