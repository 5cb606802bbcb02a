/** Small synthetic data sets that a model can learn in a few epochs, for training tests. */
import type * as tfjs from '@tensorflow/tfjs';

/** A deterministic uniform [0, 1) generator (an LCG), so runs are repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

/** `count` floats uniform in [-0.5, 0.5), from `seed`. */
export function seededValues(count: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  return Float32Array.from({ length: count }, () => next() - 0.5);
}

/**
 * Noisy `size` x `size` grey images, one quadrant of each brighter than the
 * rest; the class (one-hot of 4) is which quadrant.
 */
export function brightQuadrants(
  tf: typeof tfjs,
  count: number,
  size: number,
  seed: number,
): { xs: tfjs.Tensor4D; ys: tfjs.Tensor2D } {
  const next = seededRandom(seed);
  const half = size / 2;
  const pixels = new Float32Array(count * size * size);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const quadrant = i % 4;
    labels[i] = quadrant;
    const [top, left] = [quadrant < 2 ? 0 : half, quadrant % 2 === 0 ? 0 : half];
    for (let row = 0; row < size; row++) {
      for (let col = 0; col < size; col++) {
        const bright = row >= top && row < top + half && col >= left && col < left + half;
        pixels[(i * size + row) * size + col] = (bright ? 0.6 : 0) + 0.4 * next();
      }
    }
  }
  return tf.tidy(() => ({
    xs: tf.tensor4d(pixels, [count, size, size, 1]),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 4) as tfjs.Tensor2D,
  }));
}

/**
 * Token sequences of `length` from a vocabulary of 20: a sequence of class
 * k (one-hot of 4) draws most of its tokens from 5k..5k+4, the rest from
 * anywhere.
 */
export function topicSequences(
  tf: typeof tfjs,
  count: number,
  length: number,
  seed: number,
): { xs: tfjs.Tensor2D; ys: tfjs.Tensor2D } {
  const next = seededRandom(seed);
  const tokens = new Int32Array(count * length);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const topic = i % 4;
    labels[i] = topic;
    for (let t = 0; t < length; t++) {
      tokens[i * length + t] = next() < 0.6 ? topic * 5 + Math.floor(next() * 5) : Math.floor(next() * 20);
    }
  }
  return tf.tidy(() => ({
    xs: tf.tensor2d(tokens, [count, length], 'int32'),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 4) as tfjs.Tensor2D,
  }));
}
