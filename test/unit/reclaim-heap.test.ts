/**
 * The collection after a cell that grew the heap: only past the growth
 * bound, and it frees what the cell left behind.
 */
import {
  RECLAIM_AFTER_GROWTH_BYTES,
  reclaimHeapAfter,
  usedHeap,
} from '../../kernel-magics/src/run/reclaim-heap';

describe('reclaimHeapAfter', () => {
  it('does nothing after a cell that left the heap about as it found it', () => {
    expect(reclaimHeapAfter(usedHeap())).toBe(false);
  });

  it('collects once after a cell that grew the heap past the bound, freeing its garbage', () => {
    // Collected first: what earlier tests in this worker left is not collected in the middle of the measure.
    expect(reclaimHeapAfter(usedHeap() - RECLAIM_AFTER_GROWTH_BYTES)).toBe(true);
    const before = usedHeap();
    let garbage: number[][] | undefined = Array.from({ length: 3000 }, () =>
      new Array<number>(8192).fill(1.5),
    );
    const grown = usedHeap();
    expect(grown - before).toBeGreaterThanOrEqual(RECLAIM_AFTER_GROWTH_BYTES);
    garbage = undefined;
    expect(garbage).toBeUndefined();
    expect(reclaimHeapAfter(before)).toBe(true);
    expect(usedHeap()).toBeLessThan(grown - RECLAIM_AFTER_GROWTH_BYTES / 2);
  });
});
