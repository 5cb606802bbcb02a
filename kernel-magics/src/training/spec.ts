/**
 * What the kernel's `train()` sends each worker of a segment (captured into
 * its invocation, so plain data only), what a worker returns, and the events
 * it reports while it runs.
 */
import type { ExchangeStrategy, TrainingEpochInput } from '../telemetry/protocol/events';
import type { EpochRecord, EpochSums, TrainingPosition } from './epochs';
import type { DatasetRef } from './datasets/layout';
import type { AccuracyKind } from './worker/trainable';

/** MiB of exchange rounds a segment keeps in the store before it stops at a control point (see `storeLimitMb`). */
export const DEFAULT_SEGMENT_STORE_MB = 1024;

/** One segment: the workers run from a checkpoint until `untilEpoch`, or until their time is nearly up. */
export interface SegmentSpec {
  trainId: string;
  /** The ModelStore name the checkpoints go to. */
  name: string;
  /** The version to start from (a checkpoint at `start`). */
  version: number;
  start: TrainingPosition;
  /** The segment ends after this many epochs in all (the call's `epochs`, or fewer under a budget). */
  untilEpoch: number;
  /** Epochs of the whole call (for progress). */
  epochs: number;
  data: DatasetRef;
  validation?: DatasetRef;
  workers: number;
  batchSize: number;
  strategy: ExchangeStrategy;
  staleness: number;
  codec: string;
  /** The store URL (no credentials) of the exchange, the data and the checkpoints. */
  store: string;
  seed: number;
  shuffle: boolean;
  /** The invocation's timeout: a worker stops at a control point before it, after a checkpoint. */
  timeLimitMs: number;
  /**
   * The memory whose Lambda CPU share the segment's time is counted on, as
   * its invocations' timeout and bill are (the embedded runtime under `--cpu
   * lambda`); absent: the host's clock.
   */
  cpuMemoryMb?: number;
  /** Steps between control rounds (where workers agree to stop and rank 0 reports progress). */
  controlEvery: number;
  /**
   * MiB the segment's exchange rounds may keep in the store (the means, which
   * retried workers replay from, stay until the segment's run ends): at the
   * first control point past it the workers stop after a checkpoint, as
   * before a timeout, and the next segment goes on. Absent:
   * {@link DEFAULT_SEGMENT_STORE_MB}.
   */
  storeLimitMb?: number;
  /** The tfjs backend to use; absent: tfjs-node when installed, else wasm. */
  tfBackend?: 'tensorflow' | 'wasm' | 'cpu';
  /** How accuracy is counted (absent: the model reports no accuracy). */
  accuracy?: AccuracyKind;
  /** The epochs done before this segment, as the kernel recorded them (checkpoints carry them on). */
  history: EpochRecord[];
  /** Sums of the epoch in progress at `start` (a mid-epoch checkpoint), over every worker. */
  carried?: EpochSums;
  /** What one worker costs a second (compute at the configured memory), USD: rank 0's estimate in checkpoints. */
  workerUsdPerSecond: number;
  /**
   * What the call's budget leaves for this segment, USD: the workers stop
   * after an epoch's checkpoint when another epoch would pass it.
   */
  budgetLeftUsd?: number;
  /** Present: a profiling segment of train-time tuning (steps measured, nothing checkpointed under `name`). */
  profile?: ProfileSpec;
}

/** A profiling segment (train-time tuning): a few steps measured from the segment's checkpoint. */
export interface ProfileSpec {
  /** Steps run first and not measured (compilation, first allocations). */
  warmupSteps: number;
  /** Steps measured after them. */
  steps: number;
  /** Validation samples each worker evaluates, timed (0: none). */
  evaluateSamples: number;
  /** The ModelStore name rank 0 saves one timed checkpoint under (the kernel deletes it afterwards). */
  checkpointName: string;
}

/**
 * Time a worker spent on something, measured on this machine: its CPU time
 * (one vCPU's worth) and the time it was not waiting for a CPU that other
 * processes had (wall time minus run-queue time). `activeMs - cpuMs` is the
 * time it waited for something else (the store, the other workers).
 */
export interface TimeSplit {
  cpuMs: number;
  activeMs: number;
}

/** What one worker measured in a profiling segment. */
export interface WorkerProfile {
  /** From the worker's entry to its first step: loading tfjs, its shard and the model. */
  setup: TimeSplit;
  /** A measured step (the gradient, the exchange, the update), mean over the measured steps. */
  step: TimeSplit;
  /** Evaluating one validation sample, mean (absent when none was evaluated). */
  evaluatePerSample?: TimeSplit;
  /** Rank 0 only: saving one checkpoint. */
  checkpoint?: TimeSplit;
  /** Peak resident memory of the worker's process, MB. */
  peakRssMb: number;
}

export type { EpochRecord, EpochSums, TrainingPosition } from './epochs';

/** Why a segment ended. */
export type SegmentEnd = 'done' | 'time' | 'budget';

/** What each worker's invocation returns. */
export interface SegmentOutcome {
  rank: number;
  end: SegmentEnd;
  /** Where the workers stopped: the last checkpoint's position. */
  position: TrainingPosition;
  /** The version of that checkpoint (rank 0 writes them and returns it). */
  version?: number;
  /** Stopped inside an epoch: its sums so far, over every worker (what that checkpoint records). */
  carried?: EpochSums;
  /** A profiling segment's measures (the position is then the segment's start). */
  profile?: WorkerProfile;
}

/** Rank 0's report at each control point: the segment's progress within the epoch. */
export interface TrainingStepData {
  [key: string]: number;
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** Mean loss of the epoch's steps so far (over every worker). */
  loss: number;
  /** Samples of the epoch so far (every worker). */
  samples: number;
  /** Seconds of the epoch so far. */
  seconds: number;
}

/** Rank 0's report when an epoch ends and its checkpoint is visible. */
export interface TrainingEpochData {
  [key: string]: number | undefined;
  /** 1-based. */
  epoch: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  samples: number;
  seconds: number;
  /** Seconds every worker was billed for in the epoch, summed over the workers. */
  workerSeconds?: number;
  checkpointVersion: number;
}

/** Event types a training worker sends. */
export const TRAINING_STEP_EVENT = 'training-step';
export const TRAINING_EPOCH_EVENT = 'training-epoch-end';

/** An epoch as the kernel reports it to the panel (the `training-epoch` event's fields). */
export type TrainingEpochReport = TrainingEpochInput;
