/**
 * The warm cache of `models` (real tfjs, real embedded store under a
 * counting wrapper): inside an execution environment a version loaded once
 * is built again from memory, with one small request to learn the version;
 * every load is a new model; the cache is a byte-bounded LRU.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { EmbeddedStore } from '../../kernel-magics/src/exchange/store/embedded';
import { setInvocationSource } from '../../kernel-magics/src/runtime/program/context';
import { ArtifactCache, ModelStore } from '../../kernel-magics/src/state';
import { CountingStore } from '../helpers/counting-store';
import { predictionBytes, tf, trainedModel, weightBytes } from '../helpers/tf-models';

let dir: string;
let counting: CountingStore;
let cache: ArtifactCache;
let store: ModelStore;

const WEIGHTS = /weights\.bin$/;

function enterInvocation(): void {
  setInvocationSource(() => ({ id: 'inv-1', runId: 'run-1', attempt: 1 }));
}

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-models-cache-'));
  counting = new CountingStore(new EmbeddedStore(dir));
  cache = new ArtifactCache();
  store = new ModelStore({ store: counting, cache, tf });
});

afterEach(() => {
  setInvocationSource(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('inside an execution environment', () => {
  it('loads a version again with one small request and no weights read', async () => {
    const model = await trainedModel();
    await store.save('m', model);
    enterInvocation();

    counting.reset();
    await store.load('m', { tf });
    expect(counting.count('get', WEIGHTS)).toBe(1);

    counting.reset();
    const again = await store.load('m', { tf });
    expect(counting.calls).toEqual([{ method: 'get', key: 'models/m/latest.json' }]);
    expect(predictionBytes(again).equals(predictionBytes(model))).toBe(true);

    counting.reset();
    await store.load('m', { version: 1, tf });
    expect(counting.calls).toEqual([{ method: 'get', key: 'models/m/v1/manifest.json' }]);
  });

  it('keeps what it saved, so loading it reads no weights', async () => {
    enterInvocation();
    await store.save('m', await trainedModel());
    counting.reset();
    await store.load('m', { tf });
    expect(counting.count('get', WEIGHTS)).toBe(0);
  });

  it('builds a new model each time: changing one loaded model changes no other', async () => {
    const model = await trainedModel();
    await store.save('m', model);
    enterInvocation();
    const a = await store.load('m', { tf });
    const b = await store.load('m', { tf });
    expect(a).not.toBe(b);
    // On the cpu backend dataSync() is the tensor's own storage: writing it changes the model in place.
    for (const weight of a.getWeights()) {
      weight.dataSync().fill(0);
    }
    expect(weightBytes(a).equals(Buffer.alloc(weightBytes(model).length))).toBe(true);
    expect(predictionBytes(b).equals(predictionBytes(model))).toBe(true);
    expect(predictionBytes(await store.load('m', { tf })).equals(predictionBytes(model))).toBe(true);
    expect(counting.count('get', WEIGHTS)).toBe(1);
  });

  it('never serves a deleted version, nor an old save under a number a new save reused', async () => {
    const first = await trainedModel(1);
    const second = await trainedModel(2);
    const third = await trainedModel(3);
    await store.save('m', first);
    await store.save('m', second);
    enterInvocation();
    await store.load('m', { tf });
    await store.load('m', { version: 1, tf });

    // Another process deletes version 2 and saves a new one, which takes number 2 again.
    const elsewhere = new ModelStore({ store: new EmbeddedStore(dir), cache: false, tf });
    await elsewhere.delete('m', { version: 2 });
    await expect(store.load('m', { version: 2, tf })).rejects.toThrow('has no version 2');
    expect(predictionBytes(await store.load('m', { tf })).equals(predictionBytes(first))).toBe(true);
    expect((await elsewhere.save('m', third)).version).toBe(2);
    expect(predictionBytes(await store.load('m', { tf })).equals(predictionBytes(third))).toBe(true);
  });

  it('tells stores apart: the same name and version in two stores are two entries', async () => {
    const otherDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-models-cache-'));
    try {
      const other = new ModelStore({ store: new EmbeddedStore(otherDir), cache, tf });
      const a = await trainedModel(1);
      const b = await trainedModel(2);
      await store.save('m', a);
      await other.save('m', b);
      enterInvocation();
      await store.load('m', { tf });
      expect(predictionBytes(await other.load('m', { tf })).equals(predictionBytes(b))).toBe(true);
      expect(predictionBytes(await store.load('m', { tf })).equals(predictionBytes(a))).toBe(true);
      expect(cache.size).toBe(2);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});

describe('in the kernel (no invocation)', () => {
  it('keeps nothing: every load reads the weights', async () => {
    await store.save('m', await trainedModel());
    await store.load('m', { tf });
    await store.load('m', { tf });
    expect(counting.count('get', WEIGHTS)).toBe(2);
    expect(cache.size).toBe(0);
  });
});

describe('ArtifactCache', () => {
  const entry = (saveId: string, bytes: number) => ({
    saveId,
    topology: new Uint8Array(10),
    weights: new Uint8Array(bytes - 10),
  });

  it('drops the least recently used entries to stay within its bound', () => {
    const lru = new ArtifactCache(100);
    lru.set('a', entry('a', 40));
    lru.set('b', entry('b', 40));
    expect(lru.get('a', 'a')).toBeDefined();
    lru.set('c', entry('c', 40));
    expect(lru.get('b', 'b')).toBeUndefined();
    expect(lru.get('a', 'a')).toBeDefined();
    expect(lru.get('c', 'c')).toBeDefined();
    expect(lru.bytes).toBe(80);
  });

  it('keeps nothing larger than its bound, and misses on another save under the same key', () => {
    const lru = new ArtifactCache(100);
    lru.set('big', entry('x', 101));
    expect(lru.size).toBe(0);
    lru.set('k', entry('first', 50));
    expect(lru.get('k', 'second')).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('holds its own copies: changing the bytes given changes nothing kept', () => {
    const lru = new ArtifactCache(100);
    const given = entry('s', 20);
    lru.set('k', given);
    given.weights.fill(7);
    const got = lru.get('k', 's');
    expect(got?.weights.every((b) => b === 0)).toBe(true);
  });
});
