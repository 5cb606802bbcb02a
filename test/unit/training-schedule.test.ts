/** How a global batch is split between workers and the order each visits its shard in. */
import { shardRange } from '../../kernel-magics/src/training/datasets/shard';
import { TrainingConfigError } from '../../kernel-magics/src/training/errors';
import { EpochSchedule } from '../../kernel-magics/src/training/schedule';

describe('EpochSchedule', () => {
  it('splits the global batch as evenly as it goes, and the scales average to one', () => {
    const schedule = new EpochSchedule(8000, 3, 64);
    expect([0, 1, 2].map((rank) => schedule.localBatch(rank))).toEqual([22, 21, 21]);
    const scales = [0, 1, 2].map((rank) => schedule.gradientScale(rank));
    // The exchange averages the scaled vectors: the average of the scales weighs each sample alike.
    const weights = [0, 1, 2].map((rank) => scales[rank] / schedule.localBatch(rank) / 3);
    for (const weight of weights) {
      expect(weight).toBeCloseTo(1 / 64, 12);
    }
  });

  it('gives every worker the same number of full steps, within its shard', () => {
    const schedule = new EpochSchedule(8000, 3, 64);
    for (let rank = 0; rank < 3; rank += 1) {
      const [start, end] = shardRange(8000, 3, rank);
      expect(schedule.stepsPerEpoch * schedule.localBatch(rank)).toBeLessThanOrEqual(end - start);
    }
    expect(schedule.stepsPerEpoch).toBe(121);
  });

  it('visits a shard in a seeded order: a permutation, the same again, another for another epoch or seed', () => {
    const schedule = new EpochSchedule(1000, 4, 40);
    const order = schedule.order(1, 0, 7, true);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect([...schedule.order(1, 0, 7, true)]).toEqual([...order]);
    expect([...schedule.order(1, 1, 7, true)]).not.toEqual([...order]);
    expect([...schedule.order(1, 0, 8, true)]).not.toEqual([...order]);
    expect([...schedule.order(2, 0, 7, true)]).not.toEqual([...order]);
    expect([...schedule.order(1, 0, 7, false)]).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('refuses a batch smaller than the workers, and data with no full step', () => {
    expect(() => new EpochSchedule(1000, 4, 3)).toThrow(TrainingConfigError);
    expect(() => new EpochSchedule(1000, 4, 3)).toThrow(/batchSize 3 is smaller than workers 4/);
    expect(() => new EpochSchedule(10, 2, 64)).toThrow(/no full step/);
  });
});
