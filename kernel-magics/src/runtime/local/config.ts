import * as os from 'node:os';

import { SDK_NODE_WARNING_OFF } from '../../aws-sdk-env';

import { embeddedStoreDir, STORE_ENV } from '../../exchange/store/embedded-dir';
import type { SandboxMode } from './sandbox';

/**
 * Limits and defaults of the embedded runtime, named so messages, docs and
 * tests quote the same numbers.
 */

/** Options of a LocalBackend; every field has a default in LOCAL_DEFAULTS. */
export interface LocalBackendOptions {
  /** Invocations running at once (the rest wait in a FIFO queue). */
  concurrency?: number;
  /** An idle environment is stopped after this long (Lambda keeps them ~5-15 min). */
  idleExpiryMs?: number;
  /** A new environment that is not ready within this long counts as crashed. */
  readyTimeoutMs?: number;
  /** First retry delay after a crash; doubles per retry, with jitter. */
  retryBaseMs?: number;
  /** Longest retry delay. */
  retryMaxMs?: number;
  /**
   * Environments starting at once. A cold start is CPU-bound: on a
   * small machine, starting 16 at once delays all of them, while a few at a
   * time let the first ones serve the queue warm as the others start.
   */
  maxColdStarts?: number;
  /**
   * Invocations handed to one environment at a time: the one it runs and
   * up to `pipelineDepth - 1` waiting behind it, in the worker, which starts
   * each as soon as the one before has sent its result. Only invocations of
   * the same run and program, queued while every concurrency slot is taken,
   * and only behind an environment whose last invocation of that program
   * ran under PIPELINE_SHORT_MS: for invocations that short, a kernel round
   * trip (waking the worker) costs more than the invocation. 1 turns it off.
   */
  pipelineDepth?: number;
  /** The worker entry point (WORKER_BUNDLE next to the compiled backend by default). */
  workerPath?: string;
  /**
   * `auto` (the default): each environment in a bubblewrap sandbox when
   * bubblewrap and namespaces work here (see sandbox.ts); `off`: plain
   * processes with a watchdog. `SERVERLESS_SANDBOX=off` also turns it off.
   */
  sandbox?: SandboxMode;
  /**
   * The embedded store's directory (default: embeddedStoreDir()): the one
   * directory of the notebook machine an environment may write to, bound
   * into the sandbox at the same path and named by `$SERVERLESS_STORE`.
   */
  storeDir?: string;
  /**
   * Non-empty: the environments have no embedded store, and opening it there
   * throws this reason (the Lambda runner's: a Lambda's files are its own).
   */
  embeddedStoreUnavailable?: string;
}

/**
 * The worker entry point the backend starts: worker.ts bundled into one file
 * by the build (kernel-magics/scripts/bundle-worker.mjs).
 */
export const WORKER_BUNDLE = 'worker.bundle.js';

/** Throws a RangeError unless `value` is a whole number >= `min`. */
export function checkWhole(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be a whole number >= ${min}, got ${value}`);
  }
}

/** The defaults. */
export const LOCAL_DEFAULTS = {
  concurrency: 8,
  maxColdStarts: Math.max(2, os.availableParallelism()),
  idleExpiryMs: 10 * 60_000,
  readyTimeoutMs: 15_000,
  retryBaseMs: 100,
  retryMaxMs: 2_000,
  pipelineDepth: 8,
  sandbox: 'auto',
} as const;

/**
 * `options` over the defaults (`defaultWorkerPath` unless given), checked:
 * a RangeError names the first option that is not a whole number in range.
 */
export function resolveLocalOptions(
  options: LocalBackendOptions,
  defaultWorkerPath: string,
): Required<LocalBackendOptions> {
  const resolved: Required<LocalBackendOptions> = {
    ...LOCAL_DEFAULTS,
    workerPath: defaultWorkerPath,
    storeDir: embeddedStoreDir(),
    embeddedStoreUnavailable: '',
    ...options,
  };
  const { concurrency, maxColdStarts, pipelineDepth, idleExpiryMs, readyTimeoutMs, retryBaseMs, retryMaxMs } =
    resolved;
  checkWhole('concurrency', concurrency, 1);
  checkWhole('maxColdStarts', maxColdStarts, 1);
  checkWhole('pipelineDepth', pipelineDepth, 1);
  for (const [name, value] of Object.entries({ idleExpiryMs, readyTimeoutMs, retryBaseMs, retryMaxMs })) {
    checkWhole(name, value, 0);
  }
  return resolved;
}

/** An environment's invocations are pipelined only while its last one (of the same program) ran under this (ms). */
export const PIPELINE_SHORT_MS = 5;

/**
 * Jobs waiting behind one that has run this long (ms) are asked back from
 * the worker and queued again: the invocation turned out long, and they could
 * run elsewhere.
 */
export const PIPELINE_STUCK_MS = 2 * PIPELINE_SHORT_MS;

/**
 * An environment is handed more (up to `pipelineDepth`) once at most this
 * many jobs are left in its line, the running one included: it is handed
 * several at a time, in one write.
 */
export const PIPELINE_REFILL_AT = 1;

/** How often a running environment's resident memory is checked against --memory. */
export const MEMORY_POLL_MS = 10;

/**
 * An environment using less than this share of its --memory is checked only
 * every MEMORY_RELAXED_POLLS polls (reaching the limit from there takes longer
 * than that).
 */
export const MEMORY_RELAXED_FRACTION = 0.5;

/** See MEMORY_RELAXED_FRACTION. */
export const MEMORY_RELAXED_POLLS = 4;

/**
 * How --memory is enforced. Like Lambda, on the environment's resident
 * memory (RSS, read from /proc every MEMORY_POLL_MS while it runs, less often
 * while far below the limit): over it,
 * the environment is killed and the invocation fails as out of memory. V8's
 * own heap limit is raised to --memory only when --memory is above V8's
 * default limit: any V8 heap flag makes Node reject its built-in code cache,
 * which makes every cold start markedly slower (bench/RESULTS.md).
 * Without /proc (not Linux) the heap flag is the limit.
 */
export function heapLimitFlags(memoryMb: number, defaultHeapLimitMb: number, canReadRss: boolean): string[] {
  return !canReadRss || memoryMb > defaultHeapLimitMb ? [`--max-old-space-size=${memoryMb}`] : [];
}

export { STDERR_TAIL_BYTES } from './end-report';

/**
 * How long after its exit an environment's stderr may still be arriving: V8
 * writes its out-of-memory report just before aborting, and the pipe can be
 * read after the exit event. A grandchild holding the pipe open cannot delay
 * the outcome longer than this.
 */
export const STDERR_DRAIN_MS = 200;

/**
 * How long a killed environment (SIGKILL, which cannot be caught) may take to
 * be reported gone before `dispose` stops waiting for it.
 */
export const KILL_GRACE_MS = 2_000;

/**
 * The data channel also closes just before a worker exits normally; a worker
 * still alive this long after its channel closed has lost it, and is killed
 * (its invocation ends `crashed`).
 */
export const CHANNEL_LOST_GRACE_MS = 500;

/** Programs an environment keeps compiled (least recently used dropped first). */
export const MAX_HELD_PROGRAMS = 32;

/** Capture sets an environment keeps (the current run's is always kept). */
export const MAX_HELD_CAPTURES = 4;

/**
 * Share of --memory that capture bytes kept for later runs may take: they
 * count against the environment's memory, so old ones go first.
 */
export const HELD_CAPTURES_MEMORY_FRACTION = 0.25;

/**
 * The environment of a worker: nothing of the kernel's (no tokens, no
 * credentials but those its store needs, as a Lambda's execution role gives
 * its function), only what a Lambda Node.js runtime offers that makes sense here.
 */
export function cleanEnvironment(
  memoryMb: number,
  home: string,
  storeDir?: string,
  storeVariables: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  return {
    ...storeVariables,
    ...(storeDir === undefined ? {} : { [STORE_ENV]: storeDir }),
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    HOME: home,
    NODE_ENV: 'production',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_EXECUTION_ENV: 'serverless-kernel-local',
    ...SDK_NODE_WARNING_OFF,
  };
}
