/**
 * Waits woken by the store (exchange/store ObjectStore.watch, the
 * collectives' RoundWaiter): the embedded store reports writes and removals
 * of the keys directly under a prefix, even one whose directory does not
 * exist yet; a real redis-server's store reports those made through any
 * store of its namespace (another process's connection), and only those,
 * and again after the server was gone; a wait whose pause is far longer
 * than the test ends as soon as the awaited key is written; and without a
 * watch the same wait polls as it always did.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { RoundWaiter } from '../../kernel-magics/src/exchange/collectives/wait';
import { EmbeddedStore } from '../../kernel-magics/src/exchange/store/embedded';
import { openStore } from '../../kernel-magics/src/exchange/store';
import { MeteredStore } from '../../kernel-magics/src/exchange/store/metered';
import type { ObjectStore } from '../../kernel-magics/src/exchange/store/object-store';
import { CountingStore } from '../helpers/counting-store';
import { RedisServer, startRedis } from '../helpers/stores';

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

/** The watch of a store that must have one. */
function watchOf(store: ObjectStore): NonNullable<ObjectStore['watch']> {
  if (!store.watch) {
    throw new Error(`the ${store.kind} store has no watch`);
  }
  return store.watch;
}

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
    const stop = watchOf(metered)('a/', seen.listener);
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

describe('MeteredStore', () => {
  it('has a watch only when the store it wraps has one (a wait over a store that cannot watch polls at its usual pace)', async () => {
    // The test helper's CountingStore has no watch; forwarding a real one is the test above.
    expect(new MeteredStore(new CountingStore(store)).watch).toBeUndefined();
    expect(new MeteredStore(store).watch).toBeDefined();
  });

  it('has a ranged get only when the store it wraps has one, counted as a get of the bytes read', async () => {
    expect(new MeteredStore(new CountingStore(store, { ranges: false })).getRange).toBeUndefined();
    const metered = new MeteredStore(store);
    await store.put('ranged/k', Uint8Array.of(1, 2, 3, 4, 5));
    expect(Array.from((await metered.getRange?.('ranged/k', 1, 3)) ?? [])).toEqual([2, 3, 4]);
    expect(metered.usage()).toEqual({
      requests: { put: 0, get: 1, list: 0, delete: 0 },
      bytesUp: 0,
      bytesDown: 3,
    });
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

  it('starts watching only once the wait has lasted watchAfterMs', async () => {
    const waiter = new RoundWaiter({
      ...settings({ initialMs: 2, watchedCapMs: 600_000 }),
      watchAfterMs: 100,
    });
    const key = 'exchange/run/ar/4/mean';
    let watchedAfterMs: number | undefined;
    const started = Date.now();
    // A short wait (the key comes within 30 ms) never sets a watch up.
    setTimeout(() => void store.put('short/k', Uint8Array.of(1)), 30);
    await waiter.until<Uint8Array>(
      async () => {
        const body = await store.get('short/k');
        return body ? { done: true, value: body } : { done: false };
      },
      async () => ({ ranks: [0], action: 'publish' }),
      (onChange) => {
        watchedAfterMs = Date.now() - started;
        return store.watch('short/k', onChange);
      },
    );
    expect(watchedAfterMs).toBeUndefined();

    const longStart = Date.now();
    const waited = waiter.until<Uint8Array>(
      async () => {
        const body = await store.get(key);
        return body ? { done: true, value: body } : { done: false };
      },
      async () => ({ ranks: [0], action: 'publish the mean' }),
      (onChange) => {
        watchedAfterMs = Date.now() - longStart;
        return store.watch(key, onChange);
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    await store.put(key, Uint8Array.of(9));
    expect(Array.from(await waited)).toEqual([9]);
    expect(watchedAfterMs).toBeGreaterThanOrEqual(100);
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

/**
 * Writes `key` through `writer` every 20 ms until `seen` resolves: a watch
 * reports nothing until its subscription is made, which takes a round trip
 * after the first watch. Fails after 5 s.
 */
async function writeUntilSeen(writer: ObjectStore, key: string, seen: Promise<void>): Promise<void> {
  let reported = false;
  void seen.then(() => (reported = true));
  const deadline = Date.now() + 5_000;
  while (!reported) {
    if (Date.now() > deadline) {
      throw new Error(`no change of ${key} was reported within 5 s`);
    }
    await writer.put(key, Uint8Array.of(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('RedisStore.watch (a real redis-server)', () => {
  let redis: RedisServer;
  let watcher: MeteredStore;
  let writer: MeteredStore;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(() => {
    watcher = openStore(redis.url('watch'));
    writer = openStore(redis.url('watch'));
  });
  afterEach(async () => {
    await Promise.all([watcher.close(), writer.close()]);
  });

  it("reports another connection's put, put-if-absent and delete in the watched directory, and nothing else", async () => {
    const first = nextCall();
    const stopFirst = watchOf(watcher)('exchange/run/ar/0/', first.listener);
    await writeUntilSeen(writer, 'exchange/run/ar/0/from-1', first.called);
    stopFirst();

    const seen = nextCall();
    const stop = watchOf(watcher)('exchange/run/ar/1/mean', seen.listener);
    // Writes elsewhere: another directory, a subdirectory, another namespace of the same server.
    const elsewhere = openStore(redis.url('other'));
    await writer.put('exchange/run/ar/2/mean', Uint8Array.of(1));
    await writer.put('exchange/run/ar/1/sub/x', Uint8Array.of(1));
    await elsewhere.put('exchange/run/ar/1/mean', Uint8Array.of(1));
    await elsewhere.close();
    // Each write announces itself after it is applied, in order: a report of the control write means the others' would have come.
    const control = nextCall();
    const stopControl = watchOf(watcher)('control/', control.listener);
    await writer.put('control/x', Uint8Array.of(1));
    await control.called;
    stopControl();
    expect(seen.count()).toBe(0);

    expect(await writer.putIfAbsent('exchange/run/ar/1/mean', Uint8Array.of(2))).toBe(true);
    await seen.called;
    const afterPut = seen.count();
    const removed = nextCall();
    const stopRemoved = watchOf(watcher)('exchange/run/ar/1/', removed.listener);
    await writer.delete('exchange/run/ar/1/mean');
    await removed.called;
    stopRemoved();
    expect(seen.count()).toBeGreaterThan(afterPut);
    stop();
    expect(await watcher.get('exchange/run/ar/1/mean')).toBeUndefined();
  }, 20_000);

  it('reports a deletePrefix, stops once stopped, and counts no request', async () => {
    const seen = nextCall();
    const stop = watchOf(watcher)('runs/a/', seen.listener);
    await writeUntilSeen(writer, 'runs/a/x', seen.called);
    const beforeRemoval = seen.count();
    const removed = nextCall();
    const stopRemoved = watchOf(watcher)('runs/a/', removed.listener);
    expect(await writer.deletePrefix('runs/')).toBeGreaterThan(0);
    await removed.called;
    stopRemoved();
    expect(seen.count()).toBeGreaterThan(beforeRemoval);
    stop();
    const stopped = seen.count();
    const later = nextCall();
    const stopLater = watchOf(watcher)('runs/a/', later.listener);
    await writer.put('runs/a/y', Uint8Array.of(2));
    await later.called;
    stopLater();
    expect(seen.count()).toBe(stopped);
    expect(watcher.usage().requests).toEqual({ put: 0, get: 0, list: 0, delete: 0 });
  }, 20_000);

  it('ends a wait as soon as another connection writes the awaited key', async () => {
    const waiter = new RoundWaiter({
      exchange: 'grads',
      round: 0,
      rank: 1,
      roundTimeoutS: 600,
      stragglerS: 600,
      capMs: 600_000,
      // A pause of 10 minutes: only the store's report can end this wait within the test's time.
      initialMs: 600_000,
      watchedCapMs: 600_000,
      onStraggler: () => undefined,
    });
    // The subscription is made before the wait starts, as in an exchange (its first wait makes it).
    const ready = nextCall();
    const stopReady = watchOf(watcher)('warm/', ready.listener);
    await writeUntilSeen(writer, 'warm/x', ready.called);
    stopReady();
    const waited = waiter.until<Uint8Array>(
      async () => {
        const body = await watcher.get('exchange/run/ar/3/mean');
        return body ? { done: true, value: body } : { done: false };
      },
      async () => ({ ranks: [0], action: 'publish the mean' }),
      (onChange) => watchOf(watcher)('exchange/run/ar/3/mean', onChange),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.put('exchange/run/ar/3/mean', Uint8Array.of(7, 7));
    expect(Array.from(await waited)).toEqual([7, 7]);
  }, 20_000);

  it('reports changes again after the server was gone long enough for the watch connection to give up', async () => {
    const before = nextCall();
    const stopBefore = watchOf(watcher)('a/', before.listener);
    await writeUntilSeen(writer, 'a/x', before.called);
    stopBefore();
    const port = redis.port;
    await redis.kill();
    // Longer than the reconnection attempts (100 + 200 + 400 ms): the subscriber ends.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    redis = await startRedis({ port });
    const after = nextCall();
    const stopAfter = watchOf(watcher)('a/', after.listener);
    await writeUntilSeen(writer, 'a/y', after.called);
    stopAfter();
    expect(after.count()).toBeGreaterThan(0);
  }, 30_000);
});
