/**
 * Scheduling shared by every backend (runtime/scheduling): the one retry
 * policy (what is retried, how often, how long between), the FIFO queue and
 * the abort groups.
 */
import {
  AbortGroups,
  MAX_RETRIES,
  Queueable,
  retryDelay,
  WorkQueue,
} from '../../kernel-magics/src/runtime/scheduling';

describe('retry policy', () => {
  const backoff = { baseMs: 100, maxMs: 1000 };

  it('retries crashes only: never errors, timeouts, out-of-memory or cancellations', () => {
    expect(retryDelay('crashed', 1, 2, backoff)).toBeDefined();
    for (const status of ['ok', 'error', 'timeout', 'out-of-memory', 'cancelled'] as const) {
      expect(retryDelay(status, 1, 2, backoff)).toBeUndefined();
    }
  });

  it('stops after `retries` retries, and never after more than MAX_RETRIES whatever is asked', () => {
    expect(retryDelay('crashed', 2, 2, backoff)).toBeDefined();
    expect(retryDelay('crashed', 3, 2, backoff)).toBeUndefined();
    expect(retryDelay('crashed', 1, 0, backoff)).toBeUndefined();
    expect(retryDelay('crashed', MAX_RETRIES, 1e9, backoff)).toBeDefined();
    expect(retryDelay('crashed', MAX_RETRIES + 1, 1e9, backoff)).toBeUndefined();
    expect(retryDelay('crashed', 1, Number.NaN, backoff)).toBeUndefined();
  });

  it('backs off exponentially up to the cap, with equal jitter (half fixed, half random)', () => {
    const low = (attempt: number): number | undefined => retryDelay('crashed', attempt, 10, backoff, () => 0);
    const high = (attempt: number): number | undefined =>
      retryDelay('crashed', attempt, 10, backoff, () => 0.999999);
    expect([1, 2, 3, 4, 5].map(low)).toEqual([50, 100, 200, 400, 500]);
    expect(high(1)).toBeCloseTo(100, 3);
    expect(high(5)).toBeCloseTo(1000, 2);
  });
});

class Item implements Queueable {
  queued = true;
  constructor(
    readonly name: string,
    readonly signal: AbortSignal = new AbortController().signal,
  ) {}
  requeue(): void {
    this.queued = true;
  }
}

describe('work queue', () => {
  it('is first in, first out, skips items that stopped waiting, and puts items back at the head', () => {
    const queue = new WorkQueue<Item>();
    const [a, b, c] = ['a', 'b', 'c'].map((name) => new Item(name));
    [a, b, c].forEach((item) => queue.add(item));
    b.queued = false;
    expect(queue.count()).toBe(2);
    expect(queue.take()?.name).toBe('a');
    a.queued = false;
    expect(queue.first()?.name).toBe('c');
    queue.putBack([a]);
    expect(a.queued).toBe(true);
    expect([queue.take()?.name, queue.take()?.name, queue.take()]).toEqual(['a', 'c', undefined]);
  });
});

describe('abort groups', () => {
  it('hands the items of one signal to onAbort with one listener per signal, and forgets ended ones', () => {
    const aborted: string[][] = [];
    const groups = new AbortGroups<Item>((items) => aborted.push(items.map((item) => item.name)));
    const run = new AbortController();
    let listeners = 0;
    const add = run.signal.addEventListener.bind(run.signal);
    run.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      listeners += 1;
      add(...args);
    }) as typeof add;
    const items = ['x', 'y', 'z'].map((name) => new Item(name, run.signal));
    const other = new Item('other');
    [...items, other].forEach((item) => groups.track(item));
    expect(listeners).toBe(1);
    groups.untrack(items[1]);
    run.abort();
    expect(aborted).toEqual([['x', 'z']]);
    expect(groups.all().map((item) => item.name)).toEqual(['x', 'z', 'other']);
  });
});
