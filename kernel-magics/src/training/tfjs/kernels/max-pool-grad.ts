/**
 * `MaxPoolGrad` (the gradient of MaxPooling2D) for backends whose own kernel
 * is wrong: the wasm backend's sends the gradient of a window whose maximum
 * is not positive to the tensor's first element, and picks the last of tied
 * maxima, so a max pool that does not follow a ReLU trains wrong there.
 *
 * As tfjs's cpu kernel (and TensorFlow) define it, each output's gradient
 * goes to the first maximum of its window in row-major order. No
 * whole-tensor kernel computes a window's argmax and puts dy back there
 * cheaply (strided slices and rank-6 transposes are loops in JS on wasm,
 * several per tap), so this is one pass in JS over the input, window by
 * window.
 */
import type { MaxPoolGradAttrs, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

import { requireInput, type BackendKernels } from './backend-kernels';

/** The tfjs kernel name. */
export const MAX_POOL_GRAD = 'MaxPoolGrad';

/** Pooling geometry, as tfjs's computePool2DInfo gives it. */
interface PoolGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  effectiveFilterHeight: number;
  effectiveFilterWidth: number;
  padInfo: { top: number; left: number };
}

/** Computes the kernel from the input and dy, read from the backend once each. */
export function maxPoolGrad(
  kernels: BackendKernels,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
): TensorInfo {
  const dy = requireInput(inputs, 'dy', MAX_POOL_GRAD);
  const input = requireInput(inputs, 'input', MAX_POOL_GRAD);
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as MaxPoolGradAttrs;
  const info = kernels.tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = gradientOfMax(
    kernels.backend.readSync(input.dataId) as Float32Array,
    kernels.backend.readSync(dy.dataId) as Float32Array,
    info,
  );
  return kernels.write(dx, input.shape, 'float32');
}

/** dx: each output's dy added at the first maximum of its window. */
function gradientOfMax(x: Float32Array, dy: Float32Array, info: PoolGeometry): Float32Array {
  const { inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const dx = new Float32Array(x.length);
  let outOffset = 0;
  for (let b = 0; b < info.batchSize; b++) {
    const imageOffset = b * inHeight * inWidth * channels;
    for (let oh = 0; oh < outHeight; oh++) {
      const rowStart = oh * info.strideHeight - info.padInfo.top;
      const rowFrom = Math.max(0, rowStart);
      const rowTo = Math.min(inHeight, rowStart + info.effectiveFilterHeight);
      for (let ow = 0; ow < outWidth; ow++) {
        const colStart = ow * info.strideWidth - info.padInfo.left;
        const colFrom = Math.max(0, colStart);
        const colTo = Math.min(inWidth, colStart + info.effectiveFilterWidth);
        for (let c = 0; c < channels; c++) {
          let best = -Infinity;
          let at = -1;
          for (let row = rowFrom; row < rowTo; row++) {
            let pixel = imageOffset + (row * inWidth + colFrom) * channels + c;
            for (let col = colFrom; col < colTo; col++) {
              // Strictly greater: the first of tied maxima keeps the gradient.
              if (x[pixel] > best) {
                best = x[pixel];
                at = pixel;
              }
              pixel += channels;
            }
          }
          if (at >= 0) {
            dx[at] += dy[outOffset + c];
          }
        }
        outOffset += channels;
      }
    }
  }
  return dx;
}
