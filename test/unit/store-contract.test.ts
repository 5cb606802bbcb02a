/**
 * One contract, every object store: the embedded store (a temporary
 * directory), Redis (a real redis-server) and S3 (a real s3rver). The same
 * calls must behave the same: binary round trips, atomic overwrites,
 * put-if-absent, sorted listings by any prefix (over 1,000 keys too), deletes,
 * aborts, closed stores, and keys refused before any request.
 *
 * Put-if-absent runs on a fourth store as well: S3 behind a proxy that
 * enforces `If-None-Match: *` as S3 does (s3rver ignores the header, so on
 * plain s3rver the store falls back to HEAD then PUT, atomic only within
 * one store instance: that is what its concurrent test checks).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { MeteredStore, openStore, StoreError } from '../../kernel-magics/src/exchange/store';
import type { S3Store } from '../../kernel-magics/src/exchange/store';
import { FaultProxy, startFaultProxy } from '../helpers/s3-fault-proxy';
import { RedisServer, S3rverServer, S3RVER_ENV, startRedis, startS3rver } from '../helpers/stores';

jest.setTimeout(120_000);

interface Target {
  name: string;
  /** A new store instance on the target's namespace. */
  open(): MeteredStore;
  /** Whether put-if-absent is atomic between store instances (separate processes). */
  atomicAcrossInstances: boolean;
  /**
   * Whether the server writes objects in place, so that a get overlapping
   * puts of the same key can fail (never return a torn object) after its
   * bounded re-reads: s3rver does; S3, Redis and the embedded store do not.
   */
  writesInPlace: boolean;
}

const FOUR_MB = 4 * 1024 * 1024;
const run = randomBytes(4).toString('hex');
let tmp: string;
let redis: RedisServer;
let s3rver: S3rverServer;
let proxy: FaultProxy;
const opened: MeteredStore[] = [];

function opener(url: string, env?: NodeJS.ProcessEnv): () => MeteredStore {
  return () => {
    const store = openStore(url, { env });
    opened.push(store);
    return store;
  };
}

const targets: Target[] = [
  {
    name: 'embedded',
    open: () => opener(`embedded:${tmp}`)(),
    atomicAcrossInstances: true,
    writesInPlace: false,
  },
  {
    name: 'redis',
    open: () => opener(redis.url(`contract-${run}:`))(),
    atomicAcrossInstances: true,
    writesInPlace: false,
  },
  {
    name: 's3 (s3rver)',
    open: () => opener(s3rver.url(`contract-${run}`), S3RVER_ENV)(),
    atomicAcrossInstances: false,
    writesInPlace: true,
  },
];
const conditionalS3: Target = {
  name: 's3 (conditional writes)',
  open: () => opener(s3rver.url(`contract-cond-${run}`, proxy.endpoint), S3RVER_ENV)(),
  atomicAcrossInstances: true,
  writesInPlace: true,
};

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'store-contract-'));
  [redis, s3rver] = await Promise.all([startRedis(), startS3rver()]);
  proxy = await startFaultProxy(s3rver.port, { conditionalWrites: true });
});

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await proxy?.close();
  await Promise.all([redis?.stop(), s3rver?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

const sha = (data: Uint8Array | undefined): string =>
  data === undefined ? 'absent' : createHash('sha256').update(data).digest('hex');
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const decode = (value: Uint8Array | undefined): string | undefined =>
  value === undefined ? undefined : new TextDecoder().decode(value);
let namespaces = 0;
/** A fresh key folder for one test. */
const fresh = (label: string): string => `${label}-${(namespaces += 1)}`;

/** Runs `work` over `items`, `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        await work(items[(next += 1) - 1]);
      }
    }),
  );
}

describe.each(targets)('object store contract: $name', (target) => {
  let store: MeteredStore;
  beforeAll(() => {
    store = target.open();
  });

  it('round-trips binary data: empty, every byte value, 4 MB', async () => {
    const ns = fresh('bin');
    const everyByte = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    const big = randomBytes(FOUR_MB);
    await store.put(`${ns}/empty`, new Uint8Array(0));
    await store.put(`${ns}/bytes`, everyByte);
    await store.put(`${ns}/big`, big);
    const empty = await store.get(`${ns}/empty`);
    expect(empty).toBeInstanceOf(Uint8Array);
    expect(empty?.byteLength).toBe(0);
    expect(Buffer.from((await store.get(`${ns}/bytes`))!)).toEqual(Buffer.from(everyByte));
    const back = await store.get(`${ns}/big`);
    expect(back?.byteLength).toBe(FOUR_MB);
    expect(sha(back)).toBe(sha(big));
    // A view into a larger buffer is stored as its own bytes only.
    const window = new Uint8Array(randomBytes(64).buffer, 16, 8);
    await store.put(`${ns}/view`, window);
    expect(Buffer.from((await store.get(`${ns}/view`))!)).toEqual(Buffer.from(window));
  });

  /** The store's ranged get (every store of this package has one). */
  const getRange = (key: string, offset: number, length: number): Promise<Uint8Array | undefined> => {
    if (!store.getRange) {
      throw new Error(`${target.name} has no getRange`);
    }
    return store.getRange(key, offset, length);
  };

  it('reads a range of an object: only those bytes, counted as one get', async () => {
    const ns = fresh('range');
    const big = randomBytes(FOUR_MB);
    await store.put(`${ns}/big`, big);
    store.reset();
    for (const [offset, length] of [
      [0, 1],
      [0, FOUR_MB],
      [1_234_567, 500_000],
      [FOUR_MB - 3, 3],
    ]) {
      const part = await getRange(`${ns}/big`, offset, length);
      expect(part?.byteLength).toBe(length);
      expect(sha(part)).toBe(sha(big.subarray(offset, offset + length)));
    }
    const usage = store.usage();
    expect(usage.requests.get).toBe(4);
    expect(usage.bytesDown).toBe(1 + FOUR_MB + 500_000 + 3);
    expect(await getRange(`${ns}/never`, 0, 10)).toBeUndefined();
  });

  it('refuses a range past the end of an object, or of no bytes, saying so', async () => {
    const key = `${fresh('range-end')}/k`;
    await store.put(key, text('0123456789'));
    await expect(getRange(key, 8, 5)).rejects.toThrow(StoreError);
    await expect(getRange(key, 8, 5)).rejects.toThrow(/ends before byte 13/);
    await expect(getRange(key, 10, 1)).rejects.toThrow(/ends before byte 11/);
    await expect(getRange(key, 20, 1)).rejects.toThrow(/ends before byte 21/);
    await expect(getRange(key, 0, 0)).rejects.toThrow(RangeError);
    await expect(getRange(key, -1, 2)).rejects.toThrow(RangeError);
    expect(decode(await getRange(key, 8, 2))).toBe('89');
  });

  it('gets undefined for a key that was never written', async () => {
    expect(await store.get(`${fresh('missing')}/nothing`)).toBeUndefined();
  });

  it('replaces an object on put', async () => {
    const key = `${fresh('over')}/k`;
    await store.put(key, text('first, and longer'));
    await store.put(key, text('second'));
    expect(decode(await store.get(key))).toBe('second');
  });

  it('lists every key under a prefix, sorted, whether or not the prefix ends with /', async () => {
    const ns = fresh('list');
    const keys = ['a', 'a/b', 'a/b/c', 'a-1', 'a.x', 'ab', 'b/c', 'B', 'a=1'];
    await Promise.all(keys.map((key) => store.put(`${ns}/${key}`, text(key))));
    const under = (prefix: string) => store.list(`${ns}/${prefix}`);
    expect(await under('')).toEqual(keys.map((key) => `${ns}/${key}`).sort());
    expect(await under('a')).toEqual(
      ['a', 'a-1', 'a.x', 'a/b', 'a/b/c', 'a=1', 'ab'].map((key) => `${ns}/${key}`),
    );
    expect(await under('a/')).toEqual([`${ns}/a/b`, `${ns}/a/b/c`]);
    expect(await under('a/b')).toEqual([`${ns}/a/b`, `${ns}/a/b/c`]);
    expect(await under('b')).toEqual([`${ns}/b/c`]);
    expect(await under('zz')).toEqual([]);
    expect(await store.list(`${fresh('never')}/`)).toEqual([]);
  });

  it('keeps keys `a` and `a/b` apart', async () => {
    const ns = fresh('nest');
    await store.put(`${ns}/a`, text('parent'));
    await store.put(`${ns}/a/b`, text('child'));
    expect(decode(await store.get(`${ns}/a`))).toBe('parent');
    expect(decode(await store.get(`${ns}/a/b`))).toBe('child');
    await store.delete(`${ns}/a`);
    expect(await store.get(`${ns}/a`)).toBeUndefined();
    expect(decode(await store.get(`${ns}/a/b`))).toBe('child');
    await store.put(`${ns}/a`, text('again'));
    await store.delete(`${ns}/a/b`);
    expect(decode(await store.get(`${ns}/a`))).toBe('again');
    expect(await store.list(`${ns}/`)).toEqual([`${ns}/a`]);
  });

  it('lists and deletes more than 1,000 keys (S3: pages and delete batches)', async () => {
    const ns = fresh('many');
    const keys = Array.from({ length: 1100 }, (_, i) => `${ns}/k${String(i).padStart(4, '0')}`);
    await inParallel(keys, 32, (key) => store.put(key, text(key)));
    await store.put(`${ns}-outside`, text('stays'));
    expect(await store.list(`${ns}/`)).toEqual(keys);
    expect(await store.deletePrefix(`${ns}/`)).toBe(1100);
    expect(await store.list(`${ns}/`)).toEqual([]);
    expect(decode(await store.get(`${ns}-outside`))).toBe('stays');
  });

  it('deletes a key, and deleting a missing key is no error', async () => {
    const ns = fresh('del');
    await store.put(`${ns}/k`, text('v'));
    await store.delete(`${ns}/k`);
    expect(await store.get(`${ns}/k`)).toBeUndefined();
    await expect(store.delete(`${ns}/k`)).resolves.toBeUndefined();
    await expect(store.delete(`${ns}/never`)).resolves.toBeUndefined();
  });

  it('deletes by prefix only what is under the prefix, and says how many', async () => {
    const ns = fresh('delp');
    for (const key of ['d/x', 'd/y/z', 'd-other', 'dd', 'e']) {
      await store.put(`${ns}/${key}`, text(key));
    }
    expect(await store.deletePrefix(`${ns}/d/`)).toBe(2);
    expect(await store.list(`${ns}/`)).toEqual([`${ns}/d-other`, `${ns}/dd`, `${ns}/e`]);
    expect(await store.deletePrefix(`${ns}/d`)).toBe(2);
    expect(await store.list(`${ns}/`)).toEqual([`${ns}/e`]);
    expect(await store.deletePrefix(`${ns}/nothing/`)).toBe(0);
  });

  it("rejects with the signal's reason when aborted before or during a call", async () => {
    const ns = fresh('abort');
    await store.put(`${ns}/big`, randomBytes(FOUR_MB));
    const before = new AbortController();
    const reason = new Error('stop now');
    before.abort(reason);
    const signal = before.signal;
    await expect(store.put(`${ns}/k`, text('v'), { signal })).rejects.toBe(reason);
    await expect(store.putIfAbsent(`${ns}/k`, text('v'), { signal })).rejects.toBe(reason);
    await expect(store.get(`${ns}/big`, { signal })).rejects.toBe(reason);
    await expect(store.list(`${ns}/`, { signal })).rejects.toBe(reason);
    await expect(store.delete(`${ns}/big`, { signal })).rejects.toBe(reason);
    await expect(store.deletePrefix(`${ns}/`, { signal })).rejects.toBe(reason);
    // Nothing was written by the aborted calls.
    expect(await store.list(`${ns}/`)).toEqual([`${ns}/big`]);

    const during = new AbortController();
    const reading = store.get(`${ns}/big`, { signal: during.signal });
    during.abort(reason);
    await expect(reading).rejects.toBe(reason);
  });

  it('rejects every call once closed', async () => {
    const closing = target.open();
    const key = `${fresh('closed')}/k`;
    await closing.put(key, text('v'));
    await closing.close();
    await closing.close();
    await expect(closing.put(key, text('v'))).rejects.toThrow(StoreError);
    await expect(closing.putIfAbsent(key, text('v'))).rejects.toThrow(StoreError);
    await expect(closing.get(key)).rejects.toThrow(StoreError);
    await expect(closing.list('')).rejects.toThrow(StoreError);
    await expect(closing.delete(key)).rejects.toThrow(StoreError);
    await expect(closing.deletePrefix(key)).rejects.toThrow(/closed/);
  });

  it('never shows a reader part of an object being overwritten', async () => {
    const key = `${fresh('atomic')}/model`;
    const versions = [randomBytes(FOUR_MB), randomBytes(FOUR_MB)];
    const hashes = new Set(versions.map(sha));
    await store.put(key, versions[0]);
    const reader = target.open();
    let writing = true;
    const seen: string[] = [];
    const failures: unknown[] = [];
    const reads = (async () => {
      while (writing || seen.length < 3) {
        try {
          seen.push(sha(await reader.get(key)));
        } catch (error) {
          failures.push(error);
        }
      }
    })();
    for (let i = 1; i <= 12; i += 1) {
      await store.put(key, versions[i % 2]);
    }
    writing = false;
    await reads;
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.filter((hash) => !hashes.has(hash))).toEqual([]);
    if (target.writesInPlace) {
      // A read that kept overlapping writes fails, saying so; it never returns a torn object.
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(StoreError);
        expect((failure as Error).message).toMatch(/does not match its checksum|could not be read/);
      }
    } else {
      expect(failures).toEqual([]);
    }
  });

  it('refuses bad keys and prefixes before making any request', async () => {
    const refusing = target.open();
    const badKeys = ['', '/a', 'a/', 'a//b', 'a/../b', '..', 'a/.', 'a b', 'a*', 'a?b', 'é', 'x'.repeat(901)];
    for (const key of badKeys) {
      await expect(refusing.put(key, text('v'))).rejects.toThrow(TypeError);
      await expect(refusing.putIfAbsent(key, text('v'))).rejects.toThrow(TypeError);
      await expect(refusing.get(key)).rejects.toThrow(TypeError);
      await expect(refusing.delete(key)).rejects.toThrow(TypeError);
    }
    for (const prefix of ['/', '/a', 'a//', '../', 'a*', '[a]']) {
      await expect(refusing.list(prefix)).rejects.toThrow(TypeError);
      await expect(refusing.deletePrefix(prefix)).rejects.toThrow(TypeError);
    }
    expect(refusing.usage().requests).toEqual({ put: 0, get: 0, list: 0, delete: 0 });
  });
});

describe.each([...targets, conditionalS3])('put-if-absent: $name', (target) => {
  let store: MeteredStore;
  beforeAll(() => {
    store = target.open();
  });

  it('writes only when the key is absent', async () => {
    const key = `${fresh('pia')}/k`;
    expect(await store.putIfAbsent(key, text('first'))).toBe(true);
    expect(await store.putIfAbsent(key, text('second'))).toBe(false);
    expect(decode(await store.get(key))).toBe('first');
    await store.delete(key);
    expect(await store.putIfAbsent(key, text('third'))).toBe(true);
    expect(decode(await store.get(key))).toBe('third');
  });

  it('lets exactly one of concurrent callers of one store win', async () => {
    const key = `${fresh('pia-one')}/k`;
    const bodies = Array.from({ length: 8 }, (_, i) => text(`candidate ${i} ${'x'.repeat(1000 * i)}`));
    const won = await Promise.all(bodies.map((body) => store.putIfAbsent(key, body)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(decode(await store.get(key))).toBe(decode(bodies[won.indexOf(true)]));
  });

  it('between store instances (as between workers): exactly one wins where the store is atomic', async () => {
    const key = `${fresh('pia-many')}/k`;
    const callers = Array.from({ length: 8 }, () => target.open());
    const bodies = callers.map((_, i) => text(`worker ${i} ${'y'.repeat(1000 * i)}`));
    const won = await Promise.all(callers.map((caller, i) => caller.putIfAbsent(key, bodies[i])));
    if (target.atomicAcrossInstances) {
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(decode(await store.get(key))).toBe(decode(bodies[won.indexOf(true)]));
    } else {
      // s3rver ignores If-None-Match, so several callers can see the key absent and write it. It
      // also writes in place, so their concurrent PUTs can leave a mix of two bodies: what holds
      // is that a get returns one caller's whole body or refuses the mix, never returns it.
      expect(won.filter(Boolean).length).toBeGreaterThanOrEqual(1);
      const stored = await store.get(key).then(decode, (error: unknown) => error);
      if (stored instanceof StoreError) {
        expect(stored.message).toMatch(/does not match its checksum/);
      } else {
        expect(bodies.map(decode)).toContain(stored);
      }
      expect(await callers[0].putIfAbsent(key, text('late'))).toBe(false);
    }
  });
});

describe('S3 on s3rver', () => {
  it('refuses a listing over 1,000 keys that comes back out of order, rather than return it short', async () => {
    // s3rver walks its directories: `k/0001/y` comes before `k/0001`, and its pages skip keys that
    // sort before the last key of the previous page. S3 returns keys in order.
    const store = targets[2].open();
    const ns = fresh('disorder');
    const keys = [
      ...Array.from({ length: 1000 }, (_, i) => `${ns}/k/${String(i).padStart(4, '0')}`),
      `${ns}/k/0001/y`,
    ];
    await inParallel(keys, 32, (key) => store.put(key, text(key)));
    await expect(store.list(`${ns}/`)).rejects.toThrow(/out of order.*may have skipped keys/);
    // A listing within one page is sorted by the store and complete.
    expect(await store.list(`${ns}/k/0001`)).toEqual([`${ns}/k/0001`, `${ns}/k/0001/y`]);
  });
});

describe('S3 conditional writes', () => {
  it('are found missing on s3rver (which ignores If-None-Match) and present behind an enforcing endpoint', async () => {
    const plain = targets[2].open().inner as S3Store;
    const enforcing = conditionalS3.open().inner as S3Store;
    expect(await plain.conditionalWrites()).toBe(false);
    expect(await enforcing.conditionalWrites()).toBe(true);
    // The enforcing endpoint answered 412 (to the probe's second PUT, and to the losers above).
    expect(proxy.preconditionFailures).toBeGreaterThan(0);
  });
});
