/**
 * The composition root: what the kernel process runs. It hands the protocol
 * layer (kernel/) the comm registry, the stdin hook and the factory of the
 * code engine; kernel/ imports nothing above it. The engine (tslab's
 * compiler, the `%%serverless` machinery) is loaded only when the kernel
 * builds it, after its sockets are up, so Jupyter sees the kernel at once.
 */
import { SDK_NODE_WARNING_OFF } from './aws-sdk-env';
import { comms } from './comms';
import { setInputBroker } from './input';
import { RunningKernel, startKernel } from './kernel/kernel';
import { Logger } from './kernel/log';
import type * as KernelEngine from './kernel-engine';
import type * as Tslab from './tslab';

/** Runs the serverless-ts kernel for a connection file. */
export function runKernel(connectionFile: string, log: Logger): Promise<RunningKernel> {
  Object.assign(process.env, SDK_NODE_WARNING_OFF);
  return startKernel(connectionFile, log, {
    comms,
    createEngine: ({ cellState, cwd }) => {
      // Deliberately lazy: loading the compiler is most of a kernel's start (bench/kernel).
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load
      const { TslabEngine } = require('./tslab') as typeof Tslab;
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, with the engine
      const { createKernelEngine } = require('./kernel-engine') as typeof KernelEngine;
      return createKernelEngine({ inner: new TslabEngine(cwd, cellState), comms, cwd }).engine;
    },
    onStdin: setInputBroker,
  });
}
