/**
 * What `train()` needs from the kernel it runs in: running a segment's
 * invocations (one per rank) as a cell run, the running cell's interrupt,
 * the session's `%%serverless` defaults and the telemetry of epochs. The
 * kernel installs it (see run/training-runs.ts) on a global symbol, so the
 * notebook's copy of this package and the kernel's share it.
 */
import type { ServerlessCellOptions } from '../magics/options';
import type { InvocationEvent } from '../output/sink';
import { MagicUsageError } from '../magics/usage';
import { TrainingConfigError, TrainingHostError } from './errors';
import type { ResolvedTrainOptions } from './options';
import type { SegmentOutcome, SegmentSpec, TrainingEpochReport } from './spec';

/** A segment to run: one invocation per rank, all at once. */
export interface SegmentRun {
  /** Shown in the panel's runs and in errors. */
  label: string;
  spec: SegmentSpec;
  /** The run's `%%serverless` options (backend, memory, timeout, retries, store). */
  options: ServerlessCellOptions;
  /** Events the workers send, by rank, with the run's id. */
  onEvent(rank: number, event: InvocationEvent, runId: string): void;
  signal: AbortSignal;
}

/** One rank's end. */
export type RankResult =
  { rank: number; ok: true; outcome: SegmentOutcome } | { rank: number; ok: false; error: Error };

/** How a segment run ended. */
export interface SegmentRunResult {
  runId: string;
  ranks: RankResult[];
  interrupted: boolean;
  /** What the run was billed, USD (compute, requests, storage). */
  costUsd: number;
  /**
   * How long the segment's workers ran, ms, on the clock they are billed by
   * (Lambda's, or the host's under `--cpu host`): the longest rank's attempts.
   */
  workerMs: number;
  /** Invocations the run made (every attempt). */
  invocations: number;
  /** The highest peak memory a worker reported, MB, when known. */
  peakMemoryMb?: number;
  /** The longest cold start's INIT, ms (0 when every environment was warm). */
  initMs: number;
}

/** The kernel's side of training. */
export interface TrainingHost {
  /** The `%%serverless` options of the session (defaults from `%serverless config`) with `args` on top. */
  options(args: string[]): ServerlessCellOptions;
  runSegment(run: SegmentRun): Promise<SegmentRunResult>;
  /** What the running cell's interrupt aborts. */
  cellSignal(): AbortSignal | undefined;
  /**
   * What a run's store use has been billed so far, USD (billed as the
   * workers report it; its attempts are billed only when they end).
   */
  storageCost(runId: string): number;
  /** Sends an epoch's figures to the panel (`training-epoch` telemetry). */
  reportEpoch(report: TrainingEpochReport): void;
  /** Directory invocations resolve modules from (the notebook's). */
  readonly cwd: string;
}

const HOST_KEY = Symbol.for('serverless-kernel.training-host');

type HostHolder = { [HOST_KEY]?: TrainingHost };

/** Installs the kernel's training host (the kernel does, once). */
export function setTrainingHost(host: TrainingHost | undefined): void {
  (globalThis as HostHolder)[HOST_KEY] = host;
}

/**
 * The kernel's training host.
 * @throws TrainingHostError outside a serverless-ts kernel.
 */
export function trainingHost(): TrainingHost {
  const host = (globalThis as HostHolder)[HOST_KEY];
  if (!host) {
    throw new TrainingHostError(
      'train() runs in a notebook on the serverless-ts kernel ("TypeScript (serverless)"), which starts its ' +
        'workers; here there is no kernel to start them. Inside a %%serverless body, use exchange.open() instead.',
    );
  }
  return host;
}

/**
 * The session's `%%serverless` options with `train()`'s on top, as the magic parses them.
 * @throws TrainingConfigError when the magic refuses them.
 */
export function cellOptionsOf(host: TrainingHost, resolved: ResolvedTrainOptions): ServerlessCellOptions {
  try {
    return host.options(resolved.cellArgs);
  } catch (error) {
    if (error instanceof MagicUsageError) {
      throw new TrainingConfigError(`train(): ${error.message.replace(/^%%serverless:?\s*/, '')}`);
    }
    throw error;
  }
}
