/**
 * The work of a training worker, for a segment and a profile alike: one
 * data-parallel step (the local batch's gradient, the exchange's round, the
 * averaged gradients applied) and evaluation of validation samples.
 */
import type * as Tf from '@tensorflow/tfjs';

import type { EpochSchedule } from '../schedule';
import { gatherBatch, ShardData, sliceBatch } from './batches';
import type { GradientSync } from './gradient-sync';
import type { BatchMetrics, TrainableModel } from './trainable';

/** Samples evaluated at once. */
export const EVALUATION_BATCH = 512;

/** What a worker steps with. */
export interface StepParts {
  tf: typeof Tf;
  schedule: EpochSchedule;
  rank: number;
  shard: ShardData;
  trainable: TrainableModel;
  sync: GradientSync;
}

/** A step's local batch: its metrics and its samples. */
export interface StepResult extends BatchMetrics {
  samples: number;
}

/**
 * Step `step` of an epoch whose visiting order of the shard is `order`:
 * the gradient of rank's local batch, exchange round `round`, and the
 * averaged gradients the sync gives applied to the model.
 */
export async function trainingStep(
  parts: StepParts,
  order: Uint32Array,
  step: number,
  round: number,
): Promise<StepResult> {
  const { tf, schedule, rank, trainable } = parts;
  const size = schedule.localBatch(rank);
  const offset = step * size;
  const batch = gatherBatch(tf, parts.shard, order.subarray(offset, offset + size));
  let result: ReturnType<TrainableModel['gradient']>;
  try {
    result = trainable.gradient(batch.xs, batch.ys, schedule.gradientScale(rank));
  } finally {
    tf.dispose([batch.xs, batch.ys]);
  }
  for (const mean of await parts.sync.round(result.vector, round)) {
    trainable.apply(mean);
  }
  return { ...result.metrics, samples: size };
}

/** Validation sums of a shard's first samples. */
export interface EvaluationSums {
  lossSum: number;
  correct: number;
  samples: number;
}

/** Sums of the loss and correct predictions over the first `samples` samples of `data` (all by default). */
export function evaluateShard(
  tf: typeof Tf,
  trainable: TrainableModel,
  data: ShardData,
  samples = data.samples,
): EvaluationSums {
  const total: EvaluationSums = { lossSum: 0, correct: 0, samples: 0 };
  const last = Math.min(samples, data.samples);
  for (let start = 0; start < last; start += EVALUATION_BATCH) {
    const end = Math.min(last, start + EVALUATION_BATCH);
    const batch = sliceBatch(tf, data, start, end);
    try {
      const { lossSum, correct } = trainable.evaluate(batch.xs, batch.ys);
      total.lossSum += lossSum;
      total.correct += correct;
      total.samples += end - start;
    } finally {
      tf.dispose([batch.xs, batch.ys]);
    }
  }
  return total;
}
