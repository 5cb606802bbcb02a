/**
 * Train-time tuning: `train({ workers: 'auto', memory: 'auto', deadline })`
 * picks workers x memory for the cheapest training predicted to meet the
 * deadline. It profiles the training at the fewest and the most workers of
 * the grid (a few steps each, at one memory: every memory is predicted from
 * it by Lambda's CPU share, see cost/training-model.ts), predicts every
 * workers x memory, and profiles the pick's worker count too when it was
 * only modelled, until the pick stands on measures of its own. Sizes that a
 * worker's measured peak memory would not fit in are left out.
 */
import { ONE_VCPU_MB } from '../../cost/cpu-share';
import { DEFAULT_PRICES } from '../../cost/prices';
import {
  TrainingModel,
  type CountProfile,
  type TrainingPrediction,
  type TrainingShape,
} from '../../cost/training-model';
import { bestCandidate, MEMORY_HEADROOM, type TuneRow } from '../../cost/tuning';
import type { ModelStore } from '../../state/model-store';
import type * as Tf from '@tensorflow/tfjs';
import { TrainingConfigError } from '../errors';
import { cellOptionsOf } from '../host';
import { resolveTrainOptions, type TrainOptions } from '../options';
import { EpochSchedule } from '../schedule';
import { profileRun, type ProfileContext } from './profile-run';
import type { TuningRequest } from './request';

/** A workers x memory of the grid, as the tuner judged it. */
export interface TrainTuneRow extends TuneRow {
  workers: number;
  /** Whether it is predicted to finish within the deadline (true without one). */
  meetsDeadline: boolean;
}

/** What train-time tuning decided, and what it cost (`TrainResult.tuning`). */
export interface TrainTuning {
  /** The workers x memory the training ran with. */
  pick: { workers: number; memoryMb: number };
  /** Why, in a sentence. */
  reason: string;
  /** Whether the pick is predicted to meet the deadline (true without one). */
  meetsDeadline: boolean;
  deadlineS?: number;
  /** The pick's prediction: seconds its workers run (on the clock they are billed by) and what it costs. */
  predicted: { seconds: number; costUsd: number };
  /** Every workers x memory of the grid. */
  rows: TrainTuneRow[];
  /** The worker counts profiled, and the memory they were profiled at. */
  profiled: { workers: number[]; memoryMb: number };
  /** What profiling measured at each worker count it ran (host ms, one vCPU's worth of CPU). */
  profiles: CountProfile[];
  /** Invocations the profiling ran, and what it cost, USD. */
  invocations: number;
  costUsd: number;
}

/** What tuning works with. */
export interface TuneContext extends Omit<ProfileContext, 'start'> {
  /** The call's options as given. */
  options: TrainOptions;
  request: TuningRequest;
  model: Tf.LayersModel;
  models: ModelStore;
  /** Epochs the training will run (after a resumed checkpoint's). */
  epochsToRun: number;
}

/**
 * Profiles and picks.
 * @throws TrainingConfigError when no worker count of the grid can split the data, or no size fits a worker;
 *   the errors of {@link profileRun}.
 */
export async function tuneTraining(context: TuneContext): Promise<TrainTuning> {
  const workers = usableWorkerCounts(context);
  const sessionOptions = cellOptionsOf(context.host, context.resolved);
  // The request's sizes, else the one the session's options give.
  const memory = context.request.memory ?? [sessionOptions.memoryMb];
  const shape: TrainingShape = {
    batchSize: context.resolved.batchSize,
    stepsPerEpoch: (count) =>
      new EpochSchedule(context.data.samples, count, context.resolved.batchSize).stepsPerEpoch,
    epochs: context.epochsToRun,
    validationSamples: context.validation?.samples ?? 0,
    timeoutMs: sessionOptions.timeoutS * 1000,
  };
  const profileMemoryMb = profilingMemory(memory);
  const start = await saveStartingModel(context);
  const profiles = new Map<number, CountProfile>();
  let invocations = 0;
  let costUsd = 0;
  const profile = async (count: number): Promise<void> => {
    const options = cellOptionsOf(
      context.host,
      resolveTrainOptions({
        ...context.options,
        workers: count,
        memory: profileMemoryMb,
        seed: context.resolved.seed,
      }),
    );
    const run = await profileRun({ ...context, start }, count, options);
    profiles.set(count, run.profile);
    invocations += run.invocations;
    costUsd += run.costUsd;
  };
  try {
    for (const count of new Set([workers[0], workers[workers.length - 1]])) {
      await profile(count);
    }
    for (;;) {
      const model = new TrainingModel([...profiles.values()], shape, {
        prices: DEFAULT_PRICES,
        arch: 'x86_64',
      });
      const rows = workers.flatMap((count) =>
        memory.map((size) => tuneRow(model.predict(count, size), profileMemoryMb, context.request.deadlineS)),
      );
      const pick = pickTraining(rows, context.request.deadlineS);
      if (profiles.has(pick.row.workers)) {
        return {
          pick: { workers: pick.row.workers, memoryMb: pick.row.memoryMb },
          reason: pick.reason,
          meetsDeadline: pick.row.meetsDeadline,
          ...(context.request.deadlineS === undefined ? {} : { deadlineS: context.request.deadlineS }),
          predicted: { seconds: (pick.row.runMs ?? 0) / 1000, costUsd: pick.row.costUsd ?? 0 },
          rows,
          profiled: { workers: [...profiles.keys()].sort((a, b) => a - b), memoryMb: profileMemoryMb },
          profiles: [...profiles.values()].sort((a, b) => a.workers - b.workers),
          invocations,
          costUsd,
        };
      }
      await profile(pick.row.workers);
    }
  } finally {
    await context.models.delete(start.name, { signal: context.signal }).catch(() => undefined);
  }
}

/** The worker counts of the request that can split the data at the call's batch. */
function usableWorkerCounts(context: TuneContext): number[] {
  const { batchSize } = context.resolved;
  const usable = context.request.workers.filter((count) => {
    try {
      return new EpochSchedule(context.data.samples, count, batchSize).stepsPerEpoch >= 1;
    } catch (error) {
      if (error instanceof TrainingConfigError) {
        return false;
      }
      throw error;
    }
  });
  if (usable.length === 0) {
    throw new TrainingConfigError(
      `train(): none of the worker counts ${context.request.workers.join(', ')} can split ${context.data.samples} ` +
        `samples in global batches of ${batchSize} (each worker needs a sample a step). Give smaller counts in tune.workers.`,
    );
  }
  return usable;
}

/**
 * The size profiling runs at: the biggest up to one vCPU (a whole vCPU, at
 * the lowest price that has one), else the smallest above it.
 */
function profilingMemory(sizes: readonly number[]): number {
  const upToOneVcpu = sizes.filter((size) => size <= ONE_VCPU_MB);
  return upToOneVcpu.length > 0 ? Math.max(...upToOneVcpu) : Math.min(...sizes);
}

/** The model the profiling workers start from, saved under a name of its own (deleted afterwards). */
async function saveStartingModel(context: TuneContext): Promise<{ name: string; version: number }> {
  const name = `${context.name}.tuning-${context.trainId.slice(0, 8)}`;
  const { version } = await context.models.save(name, context.model, {
    includeOptimizer: true,
    signal: context.signal,
  });
  return { name, version };
}

/** A grid point's row: its prediction, or out of memory when a worker's measured peak would not fit. */
function tuneRow(prediction: TrainingPrediction, profileMemoryMb: number, deadlineS?: number): TrainTuneRow {
  const { workers, memoryMb } = prediction;
  if (prediction.peakMb > memoryMb * MEMORY_HEADROOM) {
    return {
      workers,
      memoryMb,
      status: 'out-of-memory',
      how: `a worker's peak was ${Math.ceil(prediction.peakMb)} MB`,
      peakMb: prediction.peakMb,
      meetsDeadline: false,
    };
  }
  const measured = prediction.basis === 'profiled' && memoryMb === profileMemoryMb;
  return {
    workers,
    memoryMb,
    status: measured ? 'measured' : 'modelled',
    how:
      prediction.basis === 'profiled'
        ? measured
          ? 'profiled'
          : `profiled at ${profileMemoryMb} MB`
        : 'modelled',
    perInvocationMs: prediction.totalMs / (prediction.invocations / workers),
    runMs: prediction.totalMs,
    costUsd: prediction.costUsd,
    peakMb: prediction.peakMb,
    meetsDeadline: deadlineS === undefined || prediction.totalMs <= deadlineS * 1000,
  };
}

type Runnable = TrainTuneRow & { runMs: number; costUsd: number };

/**
 * The cheapest grid point that fits and meets the deadline (the faster of
 * equally cheap ones); when none meets it, the fastest.
 * @throws TrainingConfigError when no size fits a worker.
 */
export function pickTraining(
  rows: readonly TrainTuneRow[],
  deadlineS?: number,
): { row: Runnable; reason: string } {
  const runnable = rows.filter((r): r is Runnable => r.runMs !== undefined && r.costUsd !== undefined);
  if (runnable.length === 0) {
    const peak = Math.max(...rows.map((r) => r.peakMb ?? 0));
    throw new TrainingConfigError(
      `train(): a worker's peak memory was ${Math.ceil(peak)} MB, more than ${Math.round(MEMORY_HEADROOM * 100)}% ` +
        `of every size in tune.memory. Give bigger sizes (at least ${Math.ceil(peak / MEMORY_HEADROOM)} MB).`,
    );
  }
  const name = (r: Runnable): string => `${r.workers} worker${r.workers === 1 ? '' : 's'} x ${r.memoryMb} MB`;
  const inTime = runnable.filter((r) => r.meetsDeadline);
  if (inTime.length === 0) {
    const fastest = bestCandidate(runnable, 'speed');
    return {
      row: fastest,
      reason:
        `No workers x memory is predicted to meet the deadline of ${deadlineS} s: the fastest, ${name(fastest)}, ` +
        `takes ~${seconds(fastest.runMs)}.`,
    };
  }
  const best = bestCandidate(inTime, 'cost');
  const within = deadlineS === undefined ? '' : ` predicted to finish within the deadline of ${deadlineS} s`;
  return {
    row: best,
    reason: `${name(best)} is the cheapest${within} (~${seconds(best.runMs)}).`,
  };
}

function seconds(ms: number): string {
  return ms >= 100_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}
