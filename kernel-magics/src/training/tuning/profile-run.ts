/**
 * A profiling run of train-time tuning: the training's workers at one
 * worker count run a few steps from the starting model (nothing saved under
 * the training's name), each timing its setup, its steps, an evaluation and
 * (rank 0) a checkpoint; the kernel folds their measures into one profile
 * of that worker count.
 */
import type { CountProfile } from '../../cost/training-model';
import { embeddedClock, type ServerlessCellOptions } from '../../magics/options';
import type { DatasetRef } from '../datasets/layout';
import { TrainingConfigError, TrainingInterruptedError, TrainingWorkerError } from '../errors';
import type { TrainingHost } from '../host';
import type { ResolvedTrainOptions } from '../options';
import type { ProfileSpec, SegmentSpec, WorkerProfile } from '../spec';
import type { AccuracyKind } from '../worker/trainable';

/** Steps each profiling worker runs before it measures. */
const WARMUP_STEPS = 24;
/** Steps each profiling worker measures. */
const MEASURED_STEPS = 24;
/** Validation samples each profiling worker evaluates. */
const EVALUATED_SAMPLES = 256;

/** What every profiling run of one `train()` call shares. */
export interface ProfileContext {
  host: TrainingHost;
  /** The call's options resolved (batch, strategy, codec, seed...). */
  resolved: ResolvedTrainOptions;
  trainId: string;
  /** The training's name (for labels). */
  name: string;
  /** Where the starting model is: the ModelStore name and version the workers load (rank 0 saves its timed checkpoint there too). */
  start: { name: string; version: number };
  store: string;
  data: DatasetRef;
  validation?: DatasetRef;
  accuracy?: AccuracyKind;
  tfBackend?: SegmentSpec['tfBackend'];
  signal: AbortSignal;
}

/** One profiling run's result. */
export interface ProfiledRun {
  profile: CountProfile;
  costUsd: number;
  invocations: number;
}

/**
 * Profiles the training on `workers` workers with the cell options `options` (their memory).
 * @throws TrainingConfigError when a worker ran out of memory; TrainingWorkerError when one failed
 *   otherwise; TrainingInterruptedError on an interrupt.
 */
export async function profileRun(
  context: ProfileContext,
  workers: number,
  options: ServerlessCellOptions,
): Promise<ProfiledRun> {
  const spec = profileSpec(context, workers, options);
  const result = await context.host.runSegment({
    label: `train('${context.name}') tuning: ${workers} workers at ${options.memoryMb} MB`,
    spec,
    options: { ...options, concurrency: workers },
    onEvent: () => undefined,
    signal: context.signal,
  });
  if (result.interrupted) {
    throw new TrainingInterruptedError(
      `train('${context.name}') was interrupted while it profiled the training; nothing was trained yet.`,
    );
  }
  const measured: WorkerProfile[] = [];
  for (const rank of result.ranks) {
    if (!rank.ok) {
      if (rank.error.name === 'OutOfMemory') {
        throw new TrainingConfigError(
          `train(): profiling ran out of memory at ${options.memoryMb} MB with ${workers} workers ` +
            `(${rank.error.message}). Give bigger sizes in tune.memory, or more workers (a smaller shard each).`,
        );
      }
      throw new TrainingWorkerError(
        `train('${context.name}'): worker ${rank.rank} failed while it profiled the training ` +
          `(${rank.error.name}: ${rank.error.message}); nothing was trained yet.`,
        [rank.rank],
        { cause: rank.error },
      );
    }
    if (!rank.outcome.profile) {
      throw new TrainingWorkerError(
        `train('${context.name}'): worker ${rank.rank} returned no profile (the kernel and its workers run ` +
          'different versions of serverless-kernel?).',
        [rank.rank],
      );
    }
    measured.push(rank.outcome.profile);
  }
  return {
    profile: foldProfiles(workers, measured, {
      peakMemoryMb: result.peakMemoryMb,
      initMs: result.initMs,
    }),
    costUsd: result.costUsd,
    invocations: result.invocations,
  };
}

function profileSpec(context: ProfileContext, workers: number, options: ServerlessCellOptions): SegmentSpec {
  const { resolved } = context;
  const profile: ProfileSpec = {
    warmupSteps: WARMUP_STEPS,
    steps: MEASURED_STEPS,
    evaluateSamples: context.validation ? EVALUATED_SAMPLES : 0,
    checkpointName: context.start.name,
  };
  return {
    trainId: `${context.trainId}-profile-${workers}`,
    name: context.start.name,
    version: context.start.version,
    start: { epoch: 0, step: 0 },
    untilEpoch: 1,
    epochs: 1,
    data: context.data,
    ...(context.validation ? { validation: context.validation } : {}),
    workers,
    batchSize: resolved.batchSize,
    strategy: resolved.strategy,
    staleness: resolved.staleness,
    codec: resolved.codec,
    store: context.store,
    seed: resolved.seed,
    shuffle: resolved.shuffle,
    timeLimitMs: options.timeoutS * 1000,
    ...(embeddedClock(options) === 'lambda' ? { cpuMemoryMb: options.memoryMb } : {}),
    controlEvery: MEASURED_STEPS + WARMUP_STEPS,
    ...(context.tfBackend ? { tfBackend: context.tfBackend } : {}),
    ...(context.accuracy ? { accuracy: context.accuracy } : {}),
    history: [],
    workerUsdPerSecond: 0,
    profile,
  };
}

/**
 * One worker count's profile from its workers' measures. Workers step in
 * lockstep, so a step's active time is the workers' mean, and what Lambda's
 * share stretches is the CPU of the busiest (the others wait for it). Setup
 * is the slowest worker's; evaluation the workers' mean; the checkpoint
 * rank 0's.
 */
export function foldProfiles(
  workers: number,
  measured: readonly WorkerProfile[],
  run: { peakMemoryMb?: number; initMs: number },
): CountProfile {
  const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const stepCpu = Math.max(...measured.map((m) => m.step.cpuMs));
  const stepActive = mean(measured.map((m) => m.step.activeMs));
  const slowestSetup = measured.reduce((a, b) => (b.setup.activeMs > a.setup.activeMs ? b : a)).setup;
  const evaluations = measured.flatMap((m) => (m.evaluatePerSample ? [m.evaluatePerSample] : []));
  const checkpoint = measured.find((m) => m.checkpoint)?.checkpoint;
  return {
    workers,
    step: { cpuMs: stepCpu, activeMs: stepActive },
    setup: { ...slowestSetup },
    ...(evaluations.length > 0
      ? {
          evaluatePerSample: {
            cpuMs: mean(evaluations.map((e) => e.cpuMs)),
            activeMs: mean(evaluations.map((e) => e.activeMs)),
          },
        }
      : {}),
    ...(checkpoint ? { checkpoint: { ...checkpoint } } : {}),
    peakMb: Math.max(run.peakMemoryMb ?? 0, ...measured.map((m) => m.peakRssMb)),
    initMs: run.initMs,
  };
}
