/**
 * `Conv2DBackpropInput` (the input gradient of Conv2D, and the forward pass
 * of Conv2DTranspose) as one forward convolution, for backends whose own
 * kernel is much slower than their Conv2D (wasm's):
 *
 *   dx[b, ih, iw, ci] = sum over kh, kw, co of dy[b, oh, ow, co] * w[kh, kw, ci, co]
 *                       where ih = oh*sh + kh - top, iw = ow*sw + kw - left
 *
 * dy is spread by the stride (zeros between its rows and columns) and
 * convolved with the filter turned by 180 degrees, its in and out channels
 * swapped ([KH, KW, co, ci]).
 */
import type {
  Conv2DBackpropInputAttrs,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs';

import { requireInput, type BackendKernels } from './backend-kernels';
import { forwardConv2DGeometry } from './conv2d-geometry';
import { fitSpatial, spreadByStride } from './spatial-fit';

/** The tfjs kernel name. */
export const CONV2D_BACKPROP_INPUT = 'Conv2DBackpropInput';

/** Computes the kernel with the backend's Transpose, Reshape, PadV2, Reverse, Slice and Conv2D. */
export function conv2DBackpropInput(
  kernels: BackendKernels,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const dy = requireInput(inputs, 'dy', CONV2D_BACKPROP_INPUT);
  const filter = requireInput(inputs, 'filter', CONV2D_BACKPROP_INPUT);
  const forward = attrs as unknown as Conv2DBackpropInputAttrs;
  const info = forwardConv2DGeometry(
    kernels.tf,
    forward.inputShape,
    filter.shape as [number, number, number, number],
    forward,
  );
  const channelsLast = info.dataFormat === 'channelsLast';
  const dyLast = channelsLast ? dy : kernels.transpose(dy, [0, 2, 3, 1]);
  const spread = spreadByStride(kernels, dyLast, info.strideHeight, info.strideWidth);
  const turned = kernels.transpose(kernels.run('Reverse', { x: filter }, { dims: [0, 1] }), [0, 1, 3, 2]);
  const fitted = fitSpatial(
    kernels,
    spread,
    {
      length: spread.shape[1],
      taps: info.filterHeight,
      dilation: 1,
      stride: 1,
      outLength: info.inHeight,
      before: info.filterHeight - 1 - info.padInfo.top,
    },
    {
      length: spread.shape[2],
      taps: info.filterWidth,
      dilation: 1,
      stride: 1,
      outLength: info.inWidth,
      before: info.filterWidth - 1 - info.padInfo.left,
    },
  );
  const dx = kernels.run(
    'Conv2D',
    { x: fitted.x, filter: turned },
    { strides: [1, 1], dilations: [1, 1], pad: fitted.pad, dataFormat: 'NHWC' },
  );
  return channelsLast ? dx : kernels.transpose(dx, [0, 3, 1, 2]);
}
