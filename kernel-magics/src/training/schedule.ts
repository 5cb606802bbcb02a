/**
 * How a global batch is split between workers and which samples each step
 * uses: the same on every worker and in every invocation, so a retried or
 * resumed worker replays exactly the steps it missed. Every worker holds
 * one contiguous shard of the training set; each epoch it visits its shard
 * in an order drawn from (seed, epoch, rank), `localBatch(rank)` samples a
 * step.
 */
import { shardRange } from './datasets/shard';
import { TrainingConfigError } from './errors';

/** The plan of an epoch, the same on every worker. */
export class EpochSchedule {
  /** Steps in every epoch. */
  readonly stepsPerEpoch: number;

  constructor(
    readonly samples: number,
    readonly workers: number,
    readonly batchSize: number,
  ) {
    if (batchSize < workers) {
      throw new TrainingConfigError(
        `train(): batchSize ${batchSize} is smaller than workers ${workers}; every worker needs at least one ` +
          `sample a step. Use batchSize >= workers (it is the global batch, split between the workers).`,
      );
    }
    let steps = Infinity;
    for (let rank = 0; rank < workers; rank += 1) {
      const [start, end] = shardRange(samples, workers, rank);
      steps = Math.min(steps, Math.floor((end - start) / this.localBatch(rank)));
    }
    if (steps < 1) {
      throw new TrainingConfigError(
        `train(): ${samples} training samples give no full step of batchSize ${batchSize} over ${workers} ` +
          `workers. Use more data or a smaller batchSize.`,
      );
    }
    this.stepsPerEpoch = steps;
  }

  /** Samples rank uses in each step: the global batch split as evenly as it goes. */
  localBatch(rank: number): number {
    const base = Math.floor(this.batchSize / this.workers);
    return base + (rank < this.batchSize % this.workers ? 1 : 0);
  }

  /**
   * What rank's gradient is multiplied by before the exchange averages the
   * workers' vectors, so that the average is the gradient of the global
   * batch's mean loss even when local batches differ by one sample.
   */
  gradientScale(rank: number): number {
    return (this.workers * this.localBatch(rank)) / this.batchSize;
  }

  /** Rank's visiting order of its shard in `epoch` (indices into the shard), shuffled unless `shuffle` is false. */
  order(rank: number, epoch: number, seed: number, shuffle: boolean): Uint32Array {
    const [start, end] = shardRange(this.samples, this.workers, rank);
    const order = new Uint32Array(end - start);
    for (let i = 0; i < order.length; i += 1) {
      order[i] = i;
    }
    if (shuffle) {
      const random = mulberry32(mix(seed, epoch, rank));
      for (let i = order.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        const held = order[i];
        order[i] = order[j];
        order[j] = held;
      }
    }
    return order;
  }
}

/** One 32-bit seed from the three that decide an order. */
function mix(seed: number, epoch: number, rank: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const part of [epoch, rank]) {
    h = Math.imul(h ^ part, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
  }
  return h;
}

/** A small seeded PRNG: the same numbers on every machine and Node version. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
