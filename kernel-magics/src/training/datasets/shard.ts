/** Which samples each worker of a data-parallel run takes. */
import { DatasetError } from './errors';

/**
 * Worker `rank`'s part of `samples` split over `workers`: `[start, end)`,
 * contiguous, the parts in rank order, their sizes differing by at most one
 * (the first `samples % workers` ranks take one more).
 *
 * @throws DatasetError when the numbers are not whole, or `rank` is not in [0, workers).
 */
export function shardRange(samples: number, workers: number, rank: number): [start: number, end: number] {
  if (!Number.isSafeInteger(samples) || samples < 0) {
    throw new DatasetError(`shardRange: samples must be a whole number from 0 (got ${String(samples)})`);
  }
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new DatasetError(`shardRange: workers must be a whole number from 1 (got ${String(workers)})`);
  }
  if (!Number.isSafeInteger(rank) || rank < 0 || rank >= workers) {
    throw new DatasetError(
      `shardRange: rank must be a whole number from 0 to ${workers - 1} (got ${String(rank)})`,
    );
  }
  const base = Math.floor(samples / workers);
  const larger = samples % workers;
  const start = rank * base + Math.min(rank, larger);
  return [start, start + base + (rank < larger ? 1 : 0)];
}
