/**
 * `Conv2DBackpropFilter` (the filter gradient of Conv2D) as one forward
 * convolution, so a backend that has a fast Conv2D trains Conv2D layers at
 * that speed:
 *
 *   dW[kh, kw, ci, co] = sum over b, oh, ow of
 *                        x[b, oh*sh + kh - top, ow*sw + kw - left, ci] * dy[b, oh, ow, co]
 *
 * is a convolution of x seen as [ci, H, W, b] (ci as the batch, b as the
 * channels) with dy seen as a filter [OH, OW, b, co], dilated by the forward
 * stride: its output is [ci, KH, KW, co].
 */
import type {
  Conv2DBackpropFilterAttrs,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs';

import { requireInput, type BackendKernels } from './backend-kernels';
import { forwardConv2DGeometry } from './conv2d-geometry';
import { fitSpatial } from './spatial-fit';

/** The tfjs kernel name. */
export const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';

/** Computes the kernel with the backend's Transpose, Slice and Conv2D. */
export function conv2DBackpropFilter(
  kernels: BackendKernels,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const x = requireInput(inputs, 'x', CONV2D_BACKPROP_FILTER);
  const dy = requireInput(inputs, 'dy', CONV2D_BACKPROP_FILTER);
  const forward = attrs as unknown as Conv2DBackpropFilterAttrs;
  const info = forwardConv2DGeometry(
    kernels.tf,
    x.shape as [number, number, number, number],
    forward.filterShape,
    forward,
  );
  const channelsLast = info.dataFormat === 'channelsLast';
  const images = kernels.transpose(x, channelsLast ? [3, 1, 2, 0] : [1, 2, 3, 0]);
  const filter = kernels.transpose(dy, channelsLast ? [1, 2, 0, 3] : [2, 3, 0, 1]);
  const fitted = fitSpatial(
    kernels,
    images,
    {
      length: info.inHeight,
      taps: info.outHeight,
      dilation: info.strideHeight,
      stride: 1,
      outLength: info.filterHeight,
      before: info.padInfo.top,
    },
    {
      length: info.inWidth,
      taps: info.outWidth,
      dilation: info.strideWidth,
      stride: 1,
      outLength: info.filterWidth,
      before: info.padInfo.left,
    },
  );
  const gradient = kernels.run(
    'Conv2D',
    { x: fitted.x, filter },
    {
      strides: [1, 1],
      dilations: [info.strideHeight, info.strideWidth],
      pad: fitted.pad,
      dataFormat: 'NHWC',
    },
  );
  return kernels.transpose(gradient, [1, 2, 0, 3]);
}
