/** A dataset's tensors as the arrays {@link publishDataset} takes. */
import type { Tensor } from '@tensorflow/tfjs';

import { DatasetError } from './errors';
import type { DatasetArrays } from './layout';

/**
 * The values of `xs` and `ys` (first dimension: the samples) with their
 * per-sample shapes. Reads each tensor once (`dataSync`); float32 values are
 * not copied again, so the arrays may be the tensors' own memory on the cpu
 * backend: do not write to them. Other numeric dtypes are converted to
 * float32 (one copy).
 *
 * @throws DatasetError when the tensors are scalars, disagree on the number of samples, or hold strings or complex numbers.
 */
export function datasetArrays(data: { xs: Tensor; ys: Tensor }): DatasetArrays {
  const { xs, ys } = data;
  for (const [name, tensor] of [
    ['xs', xs],
    ['ys', ys],
  ] as const) {
    if (tensor.rank < 1) {
      throw new DatasetError(`${name} must have the samples as its first dimension; it is a scalar`);
    }
    if (tensor.dtype === 'string' || tensor.dtype === 'complex64') {
      throw new DatasetError(`${name} holds ${tensor.dtype} values; a dataset holds numbers (float32)`);
    }
  }
  if (xs.shape[0] !== ys.shape[0]) {
    throw new DatasetError(`xs has ${xs.shape[0]} samples and ys ${ys.shape[0]}: they must have as many`);
  }
  return {
    xs: float32Values(xs),
    ys: float32Values(ys),
    xShape: xs.shape.slice(1),
    yShape: ys.shape.slice(1),
    samples: xs.shape[0],
  };
}

function float32Values(tensor: Tensor): Float32Array {
  const values = tensor.dataSync();
  return values instanceof Float32Array ? values : Float32Array.from(values as Int32Array | Uint8Array);
}
