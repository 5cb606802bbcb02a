/**
 * `UnsortedSegmentSum` (the gradient of Gather, so of Embedding layers) as
 * one ScatterNd, which adds the rows that share an index:
 *
 *   out[s, ...] = sum over i with segmentIds[i] = s of x[i, ...],  0 <= s < numSegments
 *
 * Ids outside [0, numSegments) are dropped, as tfjs's cpu kernel and
 * TensorFlow do: one pass over the ids (not the data) sends them to an
 * extra segment that is sliced off.
 */
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo, UnsortedSegmentSumAttrs } from '@tensorflow/tfjs';

import { requireInput, type BackendKernels } from './backend-kernels';

/** The tfjs kernel name. */
export const UNSORTED_SEGMENT_SUM = 'UnsortedSegmentSum';

/** Computes the kernel with the backend's Reshape, ScatterNd and Slice. */
export function unsortedSegmentSum(
  kernels: BackendKernels,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const x = requireInput(inputs, 'x', UNSORTED_SEGMENT_SUM);
  const segmentIds = requireInput(inputs, 'segmentIds', UNSORTED_SEGMENT_SUM);
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const count = segmentIds.shape.reduce((product, length) => product * length, 1);
  const rowShape = x.shape.slice(segmentIds.shape.length);

  const { indices, dropped } = keptIndices(kernels.backend.readSync(segmentIds.dataId), numSegments);
  const segments = dropped ? numSegments + 1 : numSegments;
  const rows = kernels.reshape(x, [count, ...rowShape]);
  const scattered = kernels.run(
    'ScatterNd',
    { indices: kernels.write(indices, [count, 1], 'int32'), updates: rows },
    { shape: [segments, ...rowShape] },
  );
  if (!dropped) {
    return scattered;
  }
  return kernels.run(
    'Slice',
    { x: scattered },
    { begin: scattered.shape.map(() => 0), size: [numSegments, ...rowShape] },
  );
}

/** The ids as ScatterNd indices, out-of-range ones sent to segment `numSegments`. */
function keptIndices(
  ids: ArrayLike<unknown>,
  numSegments: number,
): { indices: Int32Array; dropped: boolean } {
  const indices = new Int32Array(ids.length);
  let dropped = false;
  for (let i = 0; i < ids.length; i++) {
    const id = Number(ids[i]);
    const kept = id >= 0 && id < numSegments;
    indices[i] = kept ? id : numSegments;
    dropped ||= !kept;
  }
  return { indices, dropped };
}
