/** Where a training is, and what its epochs measured: shared by the kernel, the workers and checkpoints. */

/** A place in the training: `epoch` epochs done, then `step` steps of the next. */
export interface TrainingPosition {
  epoch: number;
  step: number;
}

/** Running sums of an epoch, over every worker. */
export interface EpochSums {
  lossSum: number;
  correct: number;
  samples: number;
  seconds: number;
  /**
   * Seconds every worker was billed for in it so far, summed over the
   * workers (each on the clock its invocation is billed by); absent in
   * checkpoints written before it was counted.
   */
  workerSeconds?: number;
}

/** One epoch's figures, as `train()` returns them in `history`. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  costUsd: number;
  bytesExchanged: number;
}
