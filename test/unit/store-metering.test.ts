/**
 * Metering and pricing of store use: the MeteredStore counts a known
 * sequence of calls exactly (requests by kind, as S3 bills them, and bytes)
 * on each store; on S3 the counts match the requests that reached the
 * server; S3 usage, Redis node time and the embedded store are priced
 * exactly in pico-dollars.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CostModelError, DEFAULT_PRICES } from '../../kernel-magics/src/cost';
import {
  addUsage,
  MeteredStore,
  openStore,
  parseStoreUrl,
  priceStoreRequests,
  priceStoreTime,
  StoreKind,
  StoreUsage,
  totalRequests,
} from '../../kernel-magics/src/exchange/store';
import type { S3Store } from '../../kernel-magics/src/exchange/store';
import { FaultProxy, startFaultProxy } from '../helpers/s3-fault-proxy';
import { RedisServer, S3rverServer, S3RVER_ENV, startRedis, startS3rver } from '../helpers/stores';

jest.setTimeout(120_000);

const MB = 1024 * 1024;
const run = randomBytes(4).toString('hex');
let tmp: string;
let redis: RedisServer;
let s3rver: S3rverServer;
let proxy: FaultProxy;
const opened: MeteredStore[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'store-metering-'));
  [redis, s3rver] = await Promise.all([startRedis(), startS3rver()]);
  proxy = await startFaultProxy(s3rver.port, { conditionalWrites: true });
});

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await proxy?.close();
  await Promise.all([redis?.stop(), s3rver?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

function open(kind: StoreKind): MeteredStore {
  const url = {
    embedded: `embedded:${tmp}`,
    redis: redis.url(`metering-${run}:`),
    s3: s3rver.url(`metering-${run}`, proxy.endpoint),
  }[kind];
  const store = openStore(url, { env: S3RVER_ENV });
  opened.push(store);
  return store;
}

/** Keys per kind for the prefix delete, and the requests it costs: list pages, delete batches. */
const PREFIX_DELETE: Record<StoreKind, { list: number; delete: number }> = {
  s3: { list: 2, delete: 2 }, // 1,100 keys: 2 ListObjectsV2 pages, 2 DeleteObjects of up to 1,000
  redis: { list: 1, delete: 3 }, // one listing call, UNLINK in batches of 500
  embedded: { list: 1, delete: 1100 }, // one listing, one file removed per key
};

describe.each<StoreKind>(['embedded', 'redis', 's3'])('MeteredStore on %s', (kind) => {
  it('counts requests and bytes of a known sequence exactly', async () => {
    const store = open(kind);
    const ns = `seq-${kind}`;
    const many = Array.from({ length: 1100 }, (_, i) => `${ns}/many/k${String(i).padStart(4, '0')}`);
    for (let i = 0; i < many.length; i += 50) {
      await Promise.all(many.slice(i, i + 50).map((key) => store.put(key, new Uint8Array(1))));
    }
    if (kind === 's3') {
      // Probed once per store; not a call of the sequence.
      expect(await (store.inner as S3Store).conditionalWrites()).toBe(true);
    }
    expect(store.take().requests.put).toBe(1100);
    expect(store.usage()).toEqual({
      requests: { put: 0, get: 0, list: 0, delete: 0 },
      bytesUp: 0,
      bytesDown: 0,
    });
    const proxyBefore = proxy.operations;

    const big = randomBytes(2 * MB);
    await store.put(`${ns}/a`, new Uint8Array(10));
    await store.put(`${ns}/big`, big);
    expect(await store.putIfAbsent(`${ns}/a`, new Uint8Array(3))).toBe(false);
    expect(await store.putIfAbsent(`${ns}/c`, new Uint8Array(5))).toBe(true);
    expect((await store.get(`${ns}/a`))?.byteLength).toBe(10);
    expect(await store.get(`${ns}/missing`)).toBeUndefined();
    expect((await store.get(`${ns}/big`))?.byteLength).toBe(2 * MB);
    expect(await store.list(`${ns}/`)).toHaveLength(1103);
    await store.delete(`${ns}/a`);
    expect(await store.deletePrefix(`${ns}/many/`)).toBe(1100);

    const expected: StoreUsage = {
      requests: {
        put: 4,
        get: 3,
        list: (kind === 's3' ? 2 : 1) + PREFIX_DELETE[kind].list,
        delete: 1 + PREFIX_DELETE[kind].delete,
      },
      bytesUp: 10 + 2 * MB + 3 + 5,
      bytesDown: 10 + 2 * MB,
    };
    const snapshot = store.usage();
    expect(snapshot).toEqual(expected);
    snapshot.requests.put = 999;
    expect(store.usage()).toEqual(expected);

    if (kind === 's3') {
      // What the meter counted is what reached the server, call by call (an SDK retry is the same call).
      const after = proxy.operations;
      const sent = (operation: string) => (after[operation] ?? 0) - (proxyBefore[operation] ?? 0);
      expect({
        put: sent('PUT'),
        get: sent('GET'),
        list: sent('LIST'),
        delete: sent('DELETE') + sent('DELETE-BATCH'),
        other: sent('HEAD') + sent('other'),
      }).toEqual({ ...expected.requests, other: 0 });
    }

    expect(store.take()).toEqual(expected);
    expect(store.usage()).toEqual({
      requests: { put: 0, get: 0, list: 0, delete: 0 },
      bytesUp: 0,
      bytesDown: 0,
    });
    await store.get(`${ns}/c`);
    store.reset();
    expect(totalRequests(store.usage())).toBe(0);
  });

  it('does not count calls that failed', async () => {
    const store = open(kind);
    await expect(store.put('bad//key', new Uint8Array(4))).rejects.toThrow(TypeError);
    const aborted = AbortSignal.abort();
    await expect(store.get('k', { signal: aborted })).rejects.toThrow();
    await store.close();
    await expect(store.put('k', new Uint8Array(4))).rejects.toThrow(/closed/);
    expect(store.usage()).toEqual({
      requests: { put: 0, get: 0, list: 0, delete: 0 },
      bytesUp: 0,
      bytesDown: 0,
    });
  });
});

describe('store pricing', () => {
  const usage = (put: number, get: number, list: number, deletes: number): StoreUsage => ({
    requests: { put, get, list, delete: deletes },
    bytesUp: 123,
    bytesDown: 456,
  });

  it('prices S3 requests exactly: PUT and LIST per 1,000, GET per 1,000, DELETE free', () => {
    // 4 PUT + 3 LIST at 5,000,000 pico-dollars each, 3 GET at 400,000, 3 DELETE free.
    expect(priceStoreRequests('s3', usage(4, 3, 3, 3))).toEqual({ pico: 36_200_000, usd: 0.0000362 });
    expect(priceStoreRequests('s3', usage(1_000_000, 2_500_000, 0, 7_000_000))).toEqual({
      pico: 6_000_000_000_000,
      usd: 6,
    });
    expect(priceStoreRequests('s3', usage(1, 0, 0, 0)).pico).toBe(5_000_000);
    expect(priceStoreRequests('s3', usage(0, 1, 0, 0)).pico).toBe(400_000);
    expect(priceStoreRequests('s3', usage(0, 0, 0, 1)).pico).toBe(0);
  });

  it('prices each round in whole pico-dollars, so rounds sum exactly', () => {
    let total = 0;
    for (let round = 0; round < 1000; round += 1) {
      const cost = priceStoreRequests('s3', usage(3, 7, 1, 2));
      expect(Number.isInteger(cost.pico)).toBe(true);
      total += cost.pico;
    }
    // 1,000 rounds x (4 x 5,000,000 + 7 x 400,000) pico-dollars.
    expect(total).toBe(22_800_000_000);
  });

  it('prices with another price table', () => {
    const prices = {
      ...DEFAULT_PRICES,
      s3: { ...DEFAULT_PRICES.s3, putListUsdPer1000: 0.0054, getUsdPer1000: 0.00043 },
    };
    expect(priceStoreRequests('s3', usage(1, 1, 1, 1), prices).pico).toBe(2 * 5_400_000 + 430_000);
  });

  it('prices Redis by node time and nothing per request; the embedded store costs nothing', () => {
    const node = parseStoreUrl('redis://127.0.0.1:6379?usdPerHour=0.017');
    expect(priceStoreRequests('redis', usage(1000, 1000, 1000, 1000))).toEqual({ pico: 0, usd: 0 });
    expect(priceStoreRequests('embedded', usage(1000, 1000, 1000, 1000))).toEqual({ pico: 0, usd: 0 });
    // 0.017 USD/h x 90 s = 0.000425 USD.
    expect(priceStoreTime(node, 90_000)).toEqual({ pico: 425_000_000, usd: 0.000425 });
    // 17,000,000,000 pico/h / 3,600,000 ms = 4,722.2 pico per ms, rounded.
    expect(priceStoreTime(node, 1).pico).toBe(4722);
    expect(priceStoreTime(node, 3_600_000).pico).toBe(17_000_000_000);
    expect(priceStoreTime(parseStoreUrl('redis://127.0.0.1'), 3_600_000)).toEqual({ pico: 0, usd: 0 });
    expect(priceStoreTime(parseStoreUrl('s3://bucket'), 3_600_000)).toEqual({ pico: 0, usd: 0 });
    expect(priceStoreTime(parseStoreUrl('embedded:/tmp/x'), 3_600_000)).toEqual({ pico: 0, usd: 0 });
    expect(() => priceStoreTime(node, -1)).toThrow(CostModelError);
    expect(() => priceStoreTime(node, Number.NaN)).toThrow(CostModelError);
  });

  it('adds usages field by field', () => {
    expect(addUsage(usage(1, 2, 3, 4), usage(10, 20, 30, 40))).toEqual({
      requests: { put: 11, get: 22, list: 33, delete: 44 },
      bytesUp: 246,
      bytesDown: 912,
    });
    expect(totalRequests(usage(1, 2, 3, 4))).toBe(10);
  });
});
