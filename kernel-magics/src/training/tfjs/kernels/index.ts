/**
 * Kernels that training needs and a tfjs backend lacks or runs slowly.
 *
 * Missing: the wasm backend has no filter gradient for Conv2D, no depthwise
 * gradients and no UnsortedSegmentSum (tfjs issues #8474, #8082), so
 * Conv2D, DepthwiseConv2D, SeparableConv2D and Embedding layers cannot
 * train on it. These are registered for any backend that has none of its
 * own (the cpu backend has them all).
 *
 * Replaced on wasm: its own Conv2DBackpropInput (the input gradient of
 * every Conv2D but the first) is several times slower than its Conv2D
 * (bench/training-kernels), and its MaxPoolGrad loses the gradient of
 * windows whose maximum is negative.
 *
 * Each is composed from kernels the backend does have and matches the cpu
 * backend's (test/unit/training-kernels.test.ts).
 */
import type { KernelFunc } from '@tensorflow/tfjs';

import { composedKernelFunc, type ComposedKernel } from './backend-kernels';
import { CONV2D_BACKPROP_FILTER, conv2DBackpropFilter } from './conv2d-backprop-filter';
import { CONV2D_BACKPROP_INPUT, conv2DBackpropInput } from './conv2d-backprop-input';
import { DEPTHWISE_BACKPROP_FILTER, depthwiseConv2dNativeBackpropFilter } from './depthwise-backprop-filter';
import { DEPTHWISE_BACKPROP_INPUT, depthwiseConv2dNativeBackpropInput } from './depthwise-backprop-input';
import { MAX_POOL_GRAD, maxPoolGrad } from './max-pool-grad';
import { UNSORTED_SEGMENT_SUM, unsortedSegmentSum } from './unsorted-segment-sum';
import type { Tf } from '../tf-types';

/** Kernels registered where a backend has none, by tfjs kernel name. */
export const MISSING_KERNELS: Readonly<Record<string, ComposedKernel>> = {
  [CONV2D_BACKPROP_FILTER]: conv2DBackpropFilter,
  [DEPTHWISE_BACKPROP_FILTER]: depthwiseConv2dNativeBackpropFilter,
  [DEPTHWISE_BACKPROP_INPUT]: depthwiseConv2dNativeBackpropInput,
  [UNSORTED_SEGMENT_SUM]: unsortedSegmentSum,
};

/** Kernels registered over a backend's own, by backend name, then tfjs kernel name. */
export const REPLACED_KERNELS: Readonly<Record<string, Readonly<Record<string, ComposedKernel>>>> = {
  wasm: { [CONV2D_BACKPROP_INPUT]: conv2DBackpropInput, [MAX_POOL_GRAD]: maxPoolGrad },
};

/** The kernel functions registered here, so that a second call replaces nothing. */
const registered = new WeakSet<KernelFunc>();

/**
 * Registers, for `backendName`, each of {@link MISSING_KERNELS} it does not
 * have and each of its {@link REPLACED_KERNELS}. Returns the names
 * registered by this call: none the second time, none for the cpu backend.
 */
export function registerTrainingKernels(tf: Tf, backendName: string): string[] {
  const missing = Object.keys(MISSING_KERNELS).filter((name) => !registeredKernel(tf, name, backendName));
  const replaced = Object.keys(REPLACED_KERNELS[backendName] ?? {}).filter((name) => {
    const own = registeredKernel(tf, name, backendName);
    return !own || !registered.has(own);
  });
  for (const name of missing) {
    register(tf, name, backendName, MISSING_KERNELS[name]);
  }
  for (const name of replaced) {
    if (registeredKernel(tf, name, backendName)) {
      tf.unregisterKernel(name, backendName);
    }
    register(tf, name, backendName, REPLACED_KERNELS[backendName][name]);
  }
  return [...missing, ...replaced];
}

function register(tf: Tf, kernelName: string, backendName: string, compute: ComposedKernel): void {
  const kernelFunc = composedKernelFunc(tf, backendName, compute);
  registered.add(kernelFunc);
  tf.registerKernel({ kernelName, backendName, kernelFunc });
}

function registeredKernel(tf: Tf, kernelName: string, backendName: string): KernelFunc | undefined {
  // tfjs types getKernel as always returning a config; it returns undefined for a missing kernel.
  return (tf.getKernel(kernelName, backendName) as ReturnType<Tf['getKernel']> | undefined)?.kernelFunc;
}

export { BackendKernels, composedKernelFunc, type ComposedKernel } from './backend-kernels';
