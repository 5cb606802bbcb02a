/** Errors of `train()`: each says what to change. */

/** Base class of training errors. */
export class TrainingError extends Error {
  override name = 'TrainingError';
}

/** An option of `train()` is missing or out of range; nothing was invoked. */
export class TrainingConfigError extends TrainingError {
  override name = 'TrainingConfigError';
}

/** `train()` was called where it cannot run (outside a serverless-ts kernel). */
export class TrainingHostError extends TrainingError {
  override name = 'TrainingHostError';
}

/** A worker's invocation failed for good (after its retries); the last checkpoint is intact. */
export class TrainingWorkerError extends TrainingError {
  override name = 'TrainingWorkerError';

  constructor(
    message: string,
    /** The ranks whose invocations failed. */
    readonly ranks: number[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The training was interrupted (the cell's interrupt or the signal passed); the last checkpoint is intact. */
export class TrainingInterruptedError extends TrainingError {
  override name = 'TrainingInterruptedError';
}

/** The loss stopped being a finite number (the training diverged); the checkpoints before it are intact. */
export class TrainingDivergedError extends TrainingError {
  override name = 'TrainingDivergedError';
}

/** A checkpoint cannot be resumed from (it was not written by train(), or by a newer version of it). */
export class CheckpointError extends TrainingError {
  override name = 'CheckpointError';
}
