/**
 * Waits woken by the store (exchange/store ObjectStore.watch, the
 * collectives' RoundWaiter): the embedded store reports writes and removals
 * of the keys directly under a prefix, even one whose directory does not
 * exist yet; a wait whose pause is far longer than the test ends as soon as
 * the awaited key is written; and without a watch the same wait polls as it
 * always did.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { RoundWaiter } from '../../kernel-magics/src/exchange/collectives/wait';
import { EmbeddedStore } from '../../kernel-magics/src/exchange/store/embedded';
import { MeteredStore } from '../../kernel-magics/src/exchange/store/metered';

let dir: string;
let store: EmbeddedStore;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-watch-'));
  store = new EmbeddedStore(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves on the next call of the returned listener. */
function nextCall(): { listener: () => void; called: Promise<void>; count(): number } {
  let calls = 0;
  let resolve: () => void = () => undefined;
  const called = new Promise<void>((r) => (resolve = r));
  return {
    listener: () => {
      calls += 1;
      resolve();
    },
    called,
    count: () => calls,
  };
}

describe('EmbeddedStore.watch', () => {
  it('reports a put and a delete under a prefix whose directory did not exist yet', async () => {
    const put = nextCall();
    const stop = store.watch('exchange/run/ar/0/', put.listener);
    await store.put('exchange/run/ar/0/from-1', Uint8Array.of(1));
    await put.called;
    stop();
    const removed = nextCall();
    const stopAgain = store.watch('exchange/run/ar/0/from-1', removed.listener);
    await store.delete('exchange/run/ar/0/from-1');
    await removed.called;
    stopAgain();
  });

  it('stops reporting once stopped, and goes through a metered view without counting a request', async () => {
    const metered = new MeteredStore(store);
    const seen = nextCall();
    const stop = metered.watch('a/', seen.listener);
    await store.put('a/x', Uint8Array.of(1));
    await seen.called;
    stop();
    const before = seen.count();
    await store.put('a/y', Uint8Array.of(2));
    // A write the watch would report arrives within a few ms; a later one proves the first was not.
    const later = nextCall();
    const control = store.watch('a/', later.listener);
    await store.put('a/z', Uint8Array.of(3));
    await later.called;
    control();
    expect(seen.count()).toBe(before);
    expect(metered.usage().requests).toEqual({ put: 0, get: 0, list: 0, delete: 0 });
  });
});

describe('RoundWaiter with a watch', () => {
  const settings = (extra: { initialMs: number; watchedCapMs: number }) => ({
    exchange: 'grads',
    round: 0,
    rank: 1,
    roundTimeoutS: 600,
    stragglerS: 600,
    capMs: extra.initialMs,
    onStraggler: () => undefined,
    ...extra,
  });

  it('ends a wait as soon as the awaited key is written, not at the end of its pause', async () => {
    // A pause of 10 minutes: only the store's report can end this wait within the test's time.
    const waiter = new RoundWaiter(settings({ initialMs: 600_000, watchedCapMs: 600_000 }));
    let polls = 0;
    const waited = waiter.until<Uint8Array>(
      async () => {
        polls += 1;
        const body = await store.get('exchange/run/ar/3/mean');
        return body ? { done: true, value: body } : { done: false };
      },
      async () => ({ ranks: [0], action: 'publish the mean' }),
      (onChange) => store.watch('exchange/run/ar/3/mean', onChange),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await store.put('exchange/run/ar/3/mean', Uint8Array.of(7, 7));
    expect(Array.from(await waited)).toEqual([7, 7]);
    expect(polls).toBeGreaterThanOrEqual(2);
  }, 20_000);

  it('polls again at once when the change came while a poll was running', async () => {
    const waiter = new RoundWaiter(settings({ initialMs: 600_000, watchedCapMs: 600_000 }));
    let change: () => void = () => undefined;
    let polls = 0;
    const value = await waiter.until<number>(
      async () => {
        polls += 1;
        if (polls === 1) {
          change(); // the change lands during the first poll, which did not see it
          return { done: false };
        }
        return { done: true, value: polls };
      },
      async () => ({ ranks: [], action: '' }),
      (onChange) => {
        change = onChange;
        return () => undefined;
      },
    );
    expect(value).toBe(2);
  }, 20_000);

  it('without a watch, polls on its pauses as before', async () => {
    const waiter = new RoundWaiter(settings({ initialMs: 1, watchedCapMs: 600_000 }));
    let polls = 0;
    const value = await waiter.until<number>(
      async () => (++polls < 5 ? { done: false } : { done: true, value: polls }),
      async () => ({ ranks: [], action: '' }),
    );
    expect(value).toBe(5);
  });
});
