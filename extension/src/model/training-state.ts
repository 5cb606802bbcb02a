/**
 * What the panel keeps of the `training-epoch` events (telemetry protocol
 * v4): per train() call, its epochs as reported (one small event per epoch:
 * few enough to keep as they came) and what the call's latest epoch said of
 * it. Bounded (see {@link TRAINING_LIMITS}): beyond a number of calls the
 * oldest goes, beyond a number of epochs in a call its lowest epochs go. The
 * fold (`./training-fold`) applies the bounds event by event, so a replay
 * gives the same state as the same events folded live.
 */
import type { ExchangeStrategy, TrainingEpochEvent } from '../telemetry';

/** One train() call, folded. */
export interface TrainingRecord {
  /** The call's id (`trainId`): its key in `TelemetryState.trainings`. */
  readonly trainId: string;
  /** The checkpoint name (`train({ name })`). */
  readonly name: string;
  /** The cell run of the first epoch seen. */
  readonly runId: string;
  /** Epochs the call was asked for, as the latest event said. */
  readonly plannedEpochs: number;
  /** As the latest event said. */
  readonly workers: number;
  readonly strategy: ExchangeStrategy;
  readonly codec: string;
  readonly store: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstTime: number;
  readonly lastTime: number;
  /**
   * Its epochs by epoch number, ascending (an epoch reported again, e.g.
   * after a retry, replaces the earlier report).
   */
  readonly epochs: readonly TrainingEpochEvent[];
  /** The call's cost so far, USD: the kernel's running total in the latest event. */
  readonly totalCostUsd: number;
  /** Epochs left out to keep the record within {@link TrainingLimits.maxEpochs}. */
  readonly droppedEpochs: number;
}

/** Bounds of what the fold keeps of train() calls. */
export interface TrainingLimits {
  /** Calls kept (the oldest first seen goes). */
  readonly maxTrainings: number;
  /** Epochs kept per call (the lowest go). */
  readonly maxEpochs: number;
}

/** Default bounds: as many epochs as the kernel keeps for replay (10,000), in 32 calls at most. */
export const TRAINING_LIMITS: TrainingLimits = { maxTrainings: 32, maxEpochs: 10_000 };
