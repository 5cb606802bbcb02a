/** Gathering a step's samples out of a worker's shard. */
import type * as Tf from '@tensorflow/tfjs';

/** A worker's shard of a dataset, as flat float32 rows. */
export interface ShardData {
  xs: Float32Array;
  ys: Float32Array;
  /** Shape of one sample's x and y. */
  xShape: number[];
  yShape: number[];
  samples: number;
}

const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** The tensors of the shard's samples at `indices` (the caller disposes them). */
export function gatherBatch(
  tf: typeof Tf,
  shard: ShardData,
  indices: ArrayLike<number>,
): { xs: Tf.Tensor; ys: Tf.Tensor } {
  const xWidth = product(shard.xShape);
  const yWidth = product(shard.yShape);
  const xs = new Float32Array(indices.length * xWidth);
  const ys = new Float32Array(indices.length * yWidth);
  for (let i = 0; i < indices.length; i += 1) {
    const row = indices[i];
    xs.set(shard.xs.subarray(row * xWidth, (row + 1) * xWidth), i * xWidth);
    ys.set(shard.ys.subarray(row * yWidth, (row + 1) * yWidth), i * yWidth);
  }
  return {
    xs: tf.tensor(xs, [indices.length, ...shard.xShape], 'float32'),
    ys: tf.tensor(ys, [indices.length, ...shard.yShape], 'float32'),
  };
}

/** The tensors of samples [start, end) of the shard, in order (the caller disposes them). */
export function sliceBatch(
  tf: typeof Tf,
  shard: ShardData,
  start: number,
  end: number,
): { xs: Tf.Tensor; ys: Tf.Tensor } {
  const xWidth = product(shard.xShape);
  const yWidth = product(shard.yShape);
  return {
    xs: tf.tensor(shard.xs.subarray(start * xWidth, end * xWidth), [end - start, ...shard.xShape], 'float32'),
    ys: tf.tensor(shard.ys.subarray(start * yWidth, end * yWidth), [end - start, ...shard.yShape], 'float32'),
  };
}
