/**
 * `DepthwiseConv2dNativeBackpropFilter` as one forward depthwise
 * convolution and a sum over the batch:
 *
 *   dW[kh, kw, c, m] = sum over b, oh, ow of
 *                      x[b, oh*sh + kh*dh - top, ow*sw + kw*dw - left, c] * dy[b, oh, ow, c*M + m]
 *
 * Seen as one image [1, H, W, b*C] whose every (b, c) is a channel, and dy
 * as a depthwise filter [OH, OW, b*C, M] dilated by the forward stride and
 * stepped by the forward dilation, the depthwise convolution gives each
 * (b, c, m) term over oh, ow: [1, KH, KW, b*C*M], then summed over b.
 */
import type {
  DepthwiseConv2dNativeBackpropFilterAttrs,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs';

import { requireInput, type BackendKernels } from './backend-kernels';
import { fitSpatial } from './spatial-fit';

/** The tfjs kernel name. */
export const DEPTHWISE_BACKPROP_FILTER = 'DepthwiseConv2dNativeBackpropFilter';

/** Computes the kernel with the backend's Transpose, Slice, DepthwiseConv2dNative and Sum. */
export function depthwiseConv2dNativeBackpropFilter(
  kernels: BackendKernels,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const x = requireInput(inputs, 'x', DEPTHWISE_BACKPROP_FILTER);
  const dy = requireInput(inputs, 'dy', DEPTHWISE_BACKPROP_FILTER);
  const { strides, dilations, pad, dimRoundingMode, filterShape } =
    attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = kernels.tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const multiplier = filterShape[3];
  const channels = batchSize * inChannels;

  const image = kernels.reshape(kernels.transpose(x, [1, 2, 0, 3]), [1, inHeight, inWidth, channels]);
  const dyByChannel = kernels.reshape(dy, [batchSize, outHeight, outWidth, inChannels, multiplier]);
  const filter = kernels.reshape(kernels.transpose(dyByChannel, [1, 2, 0, 3, 4]), [
    outHeight,
    outWidth,
    channels,
    multiplier,
  ]);
  const fitted = fitSpatial(
    kernels,
    image,
    {
      length: inHeight,
      taps: outHeight,
      dilation: info.strideHeight,
      stride: info.dilationHeight,
      outLength: filterHeight,
      before: info.padInfo.top,
    },
    {
      length: inWidth,
      taps: outWidth,
      dilation: info.strideWidth,
      stride: info.dilationWidth,
      outLength: filterWidth,
      before: info.padInfo.left,
    },
  );
  const perImage = kernels.run(
    'DepthwiseConv2dNative',
    { x: fitted.x, filter },
    {
      strides: [info.dilationHeight, info.dilationWidth],
      dilations: [info.strideHeight, info.strideWidth],
      pad: fitted.pad,
      dataFormat: 'NHWC',
    },
  );
  const byImage = kernels.reshape(perImage, [filterHeight, filterWidth, batchSize, inChannels * multiplier]);
  const summed = batchSize === 1 ? byImage : kernels.sum(byImage, 2);
  return kernels.reshape(summed, [filterHeight, filterWidth, inChannels, multiplier]);
}
