/**
 * The gradients here are forward convolutions whose output size is fixed
 * (the filter's, or the input's): the input is padded, or cropped where the
 * forward pass never read it, so that the convolution yields exactly that
 * size. Padding goes to the convolution as explicit padding (no copy);
 * cropping is a slice. A strided forward pass is undone on dy spread by the
 * stride.
 */
import type { TensorInfo } from '@tensorflow/tfjs';

import type { BackendKernels } from './backend-kernels';

/** One spatial axis of a forward convolution. */
export interface AxisConv {
  /** The input's length along the axis. */
  length: number;
  /** The filter's taps along the axis. */
  taps: number;
  /** The spacing of the taps. */
  dilation: number;
  /** The step between outputs. */
  stride: number;
  /** The output length wanted. */
  outLength: number;
  /** Padding before the input (negative: crop that much). */
  before: number;
}

/** Padding (positive) or cropping (negative) at each end of an axis. */
interface AxisFit {
  before: number;
  after: number;
}

function fitAxis(axis: AxisConv): AxisFit {
  const effectiveTaps = (axis.taps - 1) * axis.dilation + 1;
  // The padded length the last output's window just reaches.
  const paddedLength = (axis.outLength - 1) * axis.stride + effectiveTaps;
  return { before: axis.before, after: paddedLength - axis.length - axis.before };
}

/** The explicit padding a tfjs convolution takes, NHWC. */
export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Fits an NHWC input to the convolution described by `rows` and `cols`:
 * returns the input (cropped when needed) and the explicit padding that
 * gives exactly the wanted output size.
 */
export function fitSpatial(
  kernels: BackendKernels,
  x: TensorInfo,
  rows: AxisConv,
  cols: AxisConv,
): { x: TensorInfo; pad: ExplicitPadding } {
  const [height, width] = [fitAxis(rows), fitAxis(cols)];
  const crop = [height, width].map((fit) => [Math.max(0, -fit.before), Math.max(0, -fit.after)]);
  const cropped = crop.some(([before, after]) => before > 0 || after > 0)
    ? kernels.run(
        'Slice',
        { x },
        {
          begin: [0, crop[0][0], crop[1][0], 0],
          size: [
            x.shape[0],
            rows.length - crop[0][0] - crop[0][1],
            cols.length - crop[1][0] - crop[1][1],
            x.shape[3],
          ],
        },
      )
    : x;
  const pad: ExplicitPadding = [
    [0, 0],
    [Math.max(0, height.before), Math.max(0, height.after)],
    [Math.max(0, width.before), Math.max(0, width.after)],
    [0, 0],
  ];
  return { x: cropped, pad };
}

/**
 * dy [B, OH, OW, C] with stride - 1 zeros after each row and column:
 * [B, OH*sh, OW*sw, C] (the trailing zeros are cropped or padded away by
 * the fit like any other end).
 */
export function spreadByStride(
  kernels: BackendKernels,
  dy: TensorInfo,
  strideHeight: number,
  strideWidth: number,
): TensorInfo {
  if (strideHeight === 1 && strideWidth === 1) {
    return dy;
  }
  const [batch, height, width, channels] = dy.shape;
  const cells = kernels.reshape(dy, [batch, height, 1, width, 1, channels]);
  const padded = kernels.run(
    'PadV2',
    { x: cells },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, strideHeight - 1],
        [0, 0],
        [0, strideWidth - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return kernels.reshape(padded, [batch, height * strideHeight, width * strideWidth, channels]);
}
