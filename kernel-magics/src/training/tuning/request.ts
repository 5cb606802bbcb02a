/**
 * What train-time tuning chooses between, read from `train()`'s options
 * (`workers: 'auto'`, `memory: 'auto'`, `deadline`, `tune`), checked before
 * anything runs.
 */
import { checkMemory, CostModelError } from '../../cost/meter';
import { DEFAULT_PRICES } from '../../cost/prices';
import { DEFAULT_TUNE_SIZES } from '../../cost/tuning';
import { TrainingConfigError } from '../errors';
import type { TrainOptions } from '../options';

/** Worker counts tried when `workers: 'auto'` is given without `tune.workers`. */
export const DEFAULT_TUNE_WORKERS: readonly number[] = [1, 2, 4, 8];

/** The choices of a tuned `train()`. */
export interface TuningRequest {
  /** Worker counts to choose from (one when `workers` was given as a number, or left to its default). */
  workers: number[];
  /** Memory sizes to choose from, MB; absent: the one `memory` or the session's default gives. */
  memory?: number[];
  /** Seconds the workers may take. */
  deadlineS?: number;
}

/**
 * The tuning `options` ask for, or undefined when they ask for none.
 * @throws TrainingConfigError for `deadline` or `tune` without an `'auto'`, or values out of range.
 */
export function tuningRequest(options: TrainOptions): TuningRequest | undefined {
  const autoWorkers = options.workers === 'auto';
  const autoMemory = options.memory === 'auto';
  if (!autoWorkers && !autoMemory) {
    if (options.deadline !== undefined || options.tune !== undefined) {
      throw new TrainingConfigError(
        "train(): deadline and tune are what train-time tuning uses: give workers: 'auto' and/or memory: 'auto' " +
          'with them, or leave them out.',
      );
    }
    return undefined;
  }
  const deadline = options.deadline;
  if (
    deadline !== undefined &&
    !(typeof deadline === 'number' && Number.isFinite(deadline) && deadline > 0)
  ) {
    throw new TrainingConfigError(
      `train(): deadline must be a number of seconds > 0; got ${String(deadline)}.`,
    );
  }
  const tune = options.tune ?? {};
  if (tune.workers !== undefined && !autoWorkers) {
    throw new TrainingConfigError("train(): tune.workers needs workers: 'auto'.");
  }
  if (tune.memory !== undefined && !autoMemory) {
    throw new TrainingConfigError("train(): tune.memory needs memory: 'auto'.");
  }
  const fixedWorkers = typeof options.workers === 'number' ? [options.workers] : [2];
  return {
    workers: autoWorkers ? workerCounts(tune.workers ?? [...DEFAULT_TUNE_WORKERS]) : fixedWorkers,
    ...(autoMemory
      ? { memory: memorySizes(tune.memory ?? [...DEFAULT_TUNE_SIZES]) }
      : typeof options.memory === 'number'
        ? { memory: [options.memory] }
        : {}),
    ...(deadline === undefined ? {} : { deadlineS: deadline }),
  };
}

function workerCounts(values: unknown): number[] {
  if (
    !Array.isArray(values) ||
    values.length === 0 ||
    !values.every((v) => Number.isSafeInteger(v) && v >= 1 && v <= 1000)
  ) {
    throw new TrainingConfigError(
      `train(): tune.workers must be a list of worker counts from 1 to 1000, e.g. [1, 2, 4, 8]; got ${JSON.stringify(values)}.`,
    );
  }
  return sortedUnique(values as number[]);
}

function memorySizes(values: unknown): number[] {
  if (!Array.isArray(values) || values.length === 0) {
    throw new TrainingConfigError(
      `train(): tune.memory must be a list of memory sizes in MB, e.g. [512, 1024, 1769]; got ${JSON.stringify(values)}.`,
    );
  }
  for (const value of values) {
    try {
      checkMemory(value as number, DEFAULT_PRICES);
    } catch (error) {
      if (error instanceof CostModelError) {
        throw new TrainingConfigError(`train(): tune.memory: ${error.message}.`);
      }
      throw error;
    }
  }
  return sortedUnique(values as number[]);
}

function sortedUnique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}
