/**
 * Runs a backend's own kernels from inside a kernel this package adds.
 * Going through the engine (`tf.tidy`, `runKernel`) from inside a kernel
 * would track and tape tensors the engine must not see; calling the
 * backend's kernel functions directly is how tfjs's own backends compose
 * kernels. Every TensorInfo a kernel function returns owns one reference
 * to its data, so each intermediate is released once, here, and only the
 * result is handed to the engine.
 */
import type {
  DataType,
  KernelBackend,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs';

import { TrainingBackendError } from '../errors';
import type { Tf } from '../tf-types';

/** The intermediates of one kernel call, and the backend kernels that make them. */
export class BackendKernels {
  private readonly intermediates: TensorInfo[] = [];

  constructor(
    /** The tfjs module whose kernel registry and utilities are used. */
    readonly tf: Tf,
    /** The backend instance the kernel runs on. */
    readonly backend: KernelBackend,
    /** Its registered name (`wasm`, `cpu`, ...). */
    readonly backendName: string,
  ) {}

  /** Runs the backend's kernel `kernelName`; the result is an intermediate until {@link keep}. */
  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = this.tf.getKernel(kernelName, this.backendName) as ReturnType<Tf['getKernel']> | undefined;
    if (!kernel) {
      throw new TrainingBackendError(
        `the ${this.backendName} backend has no ${kernelName} kernel, which the training kernels build on: ` +
          `use the wasm or cpu backend (loadTrainingTf({ prefer: 'wasm' }))`,
      );
    }
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) {
      out.forEach((info) => this.intermediates.push(info));
      throw new TrainingBackendError(
        `the ${this.backendName} ${kernelName} kernel returned several tensors, one expected`,
      );
    }
    this.intermediates.push(out);
    return out;
  }

  /** A new tensor holding `values`; an intermediate until {@link keep}. */
  write(values: Float32Array | Int32Array, shape: number[], dtype: DataType): TensorInfo {
    const info: TensorInfo = { dataId: this.backend.write(values, shape, dtype), shape, dtype };
    this.intermediates.push(info);
    return info;
  }

  /** `x` with another shape (no copy on tfjs's backends). */
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** `x` with its axes permuted. */
  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** The sum of `x` over one axis, which is dropped. */
  sum(x: TensorInfo, axis: number): TensorInfo {
    return this.run('Sum', { x }, { axis: [axis], keepDims: false });
  }

  /** Hands `result` to the caller: it is no longer released by {@link dispose}. */
  keep(result: TensorInfo): TensorInfo {
    const index = this.intermediates.lastIndexOf(result);
    if (index >= 0) {
      this.intermediates.splice(index, 1);
    }
    return result;
  }

  /** Releases every intermediate not kept. */
  dispose(): void {
    for (const info of this.intermediates.splice(0)) {
      this.backend.disposeData(info.dataId);
    }
  }
}

/** How a composed kernel computes its result from its inputs and attributes. */
export type ComposedKernel = (
  kernels: BackendKernels,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap,
) => TensorInfo;

/**
 * A kernel function for `backendName` that runs `compute` with the
 * backend's kernels and releases every intermediate but the result, also
 * when it throws.
 */
export function composedKernelFunc(tf: Tf, backendName: string, compute: ComposedKernel): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const kernels = new BackendKernels(tf, backend as KernelBackend, backendName);
    try {
      return kernels.keep(compute(kernels, inputs, attrs ?? {}));
    } finally {
      kernels.dispose();
    }
  };
}

/** The input `name` of a kernel call (tfjs types every input as optional). */
export function requireInput(inputs: NamedTensorInfoMap, name: string, kernelName: string): TensorInfo {
  const input = inputs[name];
  if (!input) {
    throw new TrainingBackendError(`${kernelName} was called without its input ${name}`);
  }
  return input;
}
