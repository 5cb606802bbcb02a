/**
 * Choosing the k largest magnitudes of a vector in linear average time
 * (quickselect), with ties broken by index, so the choice is a function of
 * the vector alone: two workers (or a retried one) that encode the same
 * vector send the same bytes.
 */

/** |x|, with NaN counted as the largest magnitude (a NaN is sent at once, never hidden in a residual). */
export function magnitude(x: number): number {
  // No Math.abs: a global lookup per element is slow where code runs in a vm context (jest, notebooks).
  const m = x < 0 ? -x : x;
  return m === m ? m : Infinity;
}

/**
 * The k-th largest value of `values` (1 <= k <= length), in expected linear
 * time: quickselect with random pivots and a three-way partition, so runs of
 * equal values (zeros in a sparse gradient) cost no more than distinct ones.
 * Reorders `values`.
 */
export function kthLargest(values: Float32Array, k: number): number {
  if (!(k >= 1 && k <= values.length)) {
    throw new RangeError(`kthLargest: k must be in [1, ${values.length}], got ${k}`);
  }
  const target = values.length - k;
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[lo + Math.floor(Math.random() * (hi - lo + 1))];
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const x = values[i];
      if (x < pivot) {
        values[i] = values[lt];
        values[lt] = x;
        lt += 1;
        i += 1;
      } else if (x > pivot) {
        values[i] = values[gt];
        values[gt] = x;
        gt -= 1;
      } else {
        i += 1;
      }
    }
    if (target < lt) {
      hi = lt - 1;
    } else if (target > gt) {
      lo = gt + 1;
    } else {
      return pivot;
    }
  }
  return values[target];
}

/**
 * The indices, ascending, of the `k` entries of `u` with the largest
 * magnitudes; among equal magnitudes at the threshold, the lowest indices.
 */
export function topKIndices(u: Float32Array, k: number): Uint32Array {
  const n = u.length;
  const picked = new Uint32Array(Math.min(k, n));
  if (picked.length === 0) {
    return picked;
  }
  if (picked.length === n) {
    for (let i = 0; i < n; i += 1) {
      picked[i] = i;
    }
    return picked;
  }
  const magnitudes = new Float32Array(n);
  for (let i = 0; i < n; i += 1) {
    magnitudes[i] = magnitude(u[i]);
  }
  // kthLargest reorders its input: keep a copy in index order for the passes below.
  const inOrder = magnitudes.slice();
  const threshold = kthLargest(magnitudes, picked.length);
  let above = 0;
  for (let i = 0; i < n; i += 1) {
    if (inOrder[i] > threshold) {
      above += 1;
    }
  }
  let atThreshold = picked.length - above;
  let count = 0;
  for (let i = 0; i < n && count < picked.length; i += 1) {
    const m = inOrder[i];
    if (m > threshold || (m === threshold && atThreshold > 0)) {
      if (m === threshold) {
        atThreshold -= 1;
      }
      picked[count] = i;
      count += 1;
    }
  }
  return picked;
}
