/**
 * One full garbage collection after a `%%serverless` cell that left the
 * heap much fuller than it found it. A large map's requests, results,
 * telemetry and accounting records live until it ends and then are all
 * garbage at once; V8 leaves such garbage for later while the heap limit is
 * far away, and grows the heap (and the process's RSS) a map at a time
 * (bench/RESULTS.md, bench/kernel-memory). Collected once the cell is done,
 * each map starts from the live heap instead.
 *
 * The collector is V8's `gc`, exposed at run time as jest's leak detector
 * does it (`--expose-gc`, then `gc` from a new context): nothing else in
 * the kernel or its cells sees it.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A cell that grew the used heap by this much is followed by a collection. */
export const RECLAIM_AFTER_GROWTH_BYTES = 128 * 1024 * 1024;

let collector: (() => void) | null | undefined;

/** V8's full collection, or undefined where it cannot be had. */
function fullCollection(): (() => void) | undefined {
  if (collector === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collector = runInNewContext('gc') as () => void;
    } catch {
      collector = null;
    }
  }
  return collector ?? undefined;
}

/** The used heap now, to pass to {@link reclaimHeapAfter} when the cell is done. */
export function usedHeap(): number {
  return getHeapStatistics().used_heap_size;
}

/** Collects once if the heap grew by {@link RECLAIM_AFTER_GROWTH_BYTES} since `before`; true if it did. */
export function reclaimHeapAfter(before: number): boolean {
  if (usedHeap() - before < RECLAIM_AFTER_GROWTH_BYTES) {
    return false;
  }
  const collect = fullCollection();
  collect?.();
  return collect !== undefined;
}
