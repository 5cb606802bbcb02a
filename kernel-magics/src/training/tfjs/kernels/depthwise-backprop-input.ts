/**
 * `DepthwiseConv2dNativeBackpropInput` as a transposed depthwise
 * convolution built from forward kernels:
 *
 *   dx[b, ih, iw, c] = sum over kh, kw, m of dy[b, oh, ow, c*M + m] * w[kh, kw, c, m]
 *                      where ih = oh*sh + kh*dh - top, iw = ow*sw + kw*dw - left
 *
 * dy is spread by the stride (zeros between its rows and columns), then
 * convolved, channel by channel (c*M + m), with the filter turned by 180
 * degrees and dilated as in the forward pass; the M results of each input
 * channel are then summed.
 */
import type {
  DepthwiseConv2dNativeBackpropInputAttrs,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs';

import { requireInput, type BackendKernels } from './backend-kernels';
import { fitSpatial, spreadByStride } from './spatial-fit';

/** The tfjs kernel name. */
export const DEPTHWISE_BACKPROP_INPUT = 'DepthwiseConv2dNativeBackpropInput';

/** Computes the kernel with the backend's Reshape, PadV2, Reverse, Slice, DepthwiseConv2dNative and Sum. */
export function depthwiseConv2dNativeBackpropInput(
  kernels: BackendKernels,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const dy = requireInput(inputs, 'dy', DEPTHWISE_BACKPROP_INPUT);
  const filter = requireInput(inputs, 'filter', DEPTHWISE_BACKPROP_INPUT);
  const { strides, dilations, pad, dimRoundingMode, inputShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const info = kernels.tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outChannels, filterHeight, filterWidth } = info;
  const multiplier = outChannels / inChannels;

  const spread = spreadByStride(kernels, dy, info.strideHeight, info.strideWidth);
  const turned = kernels.reshape(kernels.run('Reverse', { x: filter }, { dims: [0, 1] }), [
    filterHeight,
    filterWidth,
    outChannels,
    1,
  ]);
  const fitted = fitSpatial(
    kernels,
    spread,
    {
      length: spread.shape[1],
      taps: filterHeight,
      dilation: info.dilationHeight,
      stride: 1,
      outLength: inHeight,
      before: (filterHeight - 1) * info.dilationHeight - info.padInfo.top,
    },
    {
      length: spread.shape[2],
      taps: filterWidth,
      dilation: info.dilationWidth,
      stride: 1,
      outLength: inWidth,
      before: (filterWidth - 1) * info.dilationWidth - info.padInfo.left,
    },
  );
  const perOutputChannel = kernels.run(
    'DepthwiseConv2dNative',
    { x: fitted.x, filter: turned },
    {
      strides: [1, 1],
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: fitted.pad,
      dataFormat: 'NHWC',
    },
  );
  if (multiplier === 1) {
    return perOutputChannel;
  }
  const byInputChannel = kernels.reshape(perOutputChannel, [
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    multiplier,
  ]);
  return kernels.sum(byInputChannel, 4);
}
