/**
 * Kernels that training needs and a tfjs backend may lack. The wasm
 * backend has no filter gradient for Conv2D, no depthwise gradients and no
 * UnsortedSegmentSum (tfjs issues #8474, #8082), so Conv2D, DepthwiseConv2D,
 * SeparableConv2D and Embedding layers cannot train on it. Each one here is
 * composed from kernels the backend does have, and registered only where
 * the backend has none of its own.
 */
import { composedKernelFunc, type ComposedKernel } from './backend-kernels';
import { CONV2D_BACKPROP_FILTER, conv2DBackpropFilter } from './conv2d-backprop-filter';
import { DEPTHWISE_BACKPROP_FILTER, depthwiseConv2dNativeBackpropFilter } from './depthwise-backprop-filter';
import { DEPTHWISE_BACKPROP_INPUT, depthwiseConv2dNativeBackpropInput } from './depthwise-backprop-input';
import { UNSORTED_SEGMENT_SUM, unsortedSegmentSum } from './unsorted-segment-sum';
import type { Tf } from '../tf-types';

/** The kernels this module can add, by tfjs kernel name. */
export const TRAINING_KERNELS: Readonly<Record<string, ComposedKernel>> = {
  [CONV2D_BACKPROP_FILTER]: conv2DBackpropFilter,
  [DEPTHWISE_BACKPROP_FILTER]: depthwiseConv2dNativeBackpropFilter,
  [DEPTHWISE_BACKPROP_INPUT]: depthwiseConv2dNativeBackpropInput,
  [UNSORTED_SEGMENT_SUM]: unsortedSegmentSum,
};

/**
 * Registers, for `backendName`, each of {@link TRAINING_KERNELS} the
 * backend does not have. Returns the names registered (none the second
 * time, nor for a backend that has them all, such as cpu).
 */
export function registerMissingTrainingKernels(tf: Tf, backendName: string): string[] {
  const missing = Object.keys(TRAINING_KERNELS).filter(
    (kernelName) => !hasKernel(tf, kernelName, backendName),
  );
  for (const kernelName of missing) {
    tf.registerKernel({
      kernelName,
      backendName,
      kernelFunc: composedKernelFunc(tf, backendName, TRAINING_KERNELS[kernelName]),
    });
  }
  return missing;
}

function hasKernel(tf: Tf, kernelName: string, backendName: string): boolean {
  // tfjs types getKernel as always returning a config; it returns undefined for a missing kernel.
  return (tf.getKernel(kernelName, backendName) as ReturnType<Tf['getKernel']> | undefined) !== undefined;
}

export { BackendKernels, composedKernelFunc, type ComposedKernel } from './backend-kernels';
