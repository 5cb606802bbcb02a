/**
 * How `models` keeps versions in an object store (real tfjs, real embedded
 * store): binary weights, sizes, concurrent saves, versions a dead save
 * left half-written, and the latest pointer.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { EmbeddedStore } from '../../kernel-magics/src/exchange/store/embedded';
import { ModelStore } from '../../kernel-magics/src/state';
import { CountingStore } from '../helpers/counting-store';
import { REPO_ROOT } from '../helpers/paths';
import { predictionBytes, tf, trainedModel, weightBytes } from '../helpers/tf-models';

let dir: string;
let embedded: EmbeddedStore;
let store: ModelStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-models-store-'));
  embedded = new EmbeddedStore(dir);
  store = new ModelStore({ store: embedded, tf });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function object(key: string): Promise<Uint8Array> {
  const body = await embedded.get(key);
  if (!body) {
    throw new Error(`no object ${key}`);
  }
  return body;
}

async function json(key: string): Promise<Record<string, unknown>> {
  return JSON.parse(Buffer.from(await object(key)).toString('utf8')) as Record<string, unknown>;
}

describe('stored form', () => {
  it('keeps a version as model.json, one binary weights.bin and a manifest, and reports their size', async () => {
    const model = await trainedModel();
    const saved = await store.save('mlp', model);
    expect(await embedded.list('models/')).toEqual([
      'models/mlp/latest.json',
      'models/mlp/v1/manifest.json',
      'models/mlp/v1/model.json',
      'models/mlp/v1/weights.bin',
    ]);
    const weights = await object('models/mlp/v1/weights.bin');
    const topology = await object('models/mlp/v1/model.json');
    // The weights are the model's float32 values, byte for byte, in its order.
    expect(Buffer.from(weights).equals(weightBytes(model))).toBe(true);
    const params = model.getWeights().reduce((sum, w) => sum + w.size, 0);
    expect(weights.byteLength).toBe(params * 4);
    expect(saved.bytes).toBe(weights.byteLength + topology.byteLength);
    expect((await store.list())[0].bytes).toBe(saved.bytes);
  });

  it('puts no weight values in any JSON object', async () => {
    await store.save('mlp', await trainedModel(), { includeOptimizer: true });
    for (const key of ['models/mlp/v1/model.json', 'models/mlp/v1/manifest.json', 'models/mlp/latest.json']) {
      const text = Buffer.from(await object(key)).toString('utf8');
      // A float32 written as JSON has many digits after the point; configuration values (rates, scales) do not.
      expect(text).not.toMatch(/\d\.\d{6,}/);
      expect(text.length).toBeLessThan(8000);
    }
    const modelJson = await json('models/mlp/v1/model.json');
    expect(modelJson).toMatchObject({
      format: 'layers-model',
      weightsManifest: [{ paths: ['weights.bin'], weights: expect.any(Array) }],
    });
    expect(await json('models/mlp/v1/manifest.json')).toMatchObject({ name: 'mlp', version: 1 });
  });
});

describe('concurrent saves', () => {
  it('give distinct versions, and the newest is what a load without version returns', async () => {
    const models = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => trainedModel(seed * 10)));
    // Two model stores over two store instances on one directory: as two processes would.
    const stores = [new CountingStore(new EmbeddedStore(dir)), new CountingStore(new EmbeddedStore(dir))];
    const twins = stores.map((inner) => new ModelStore({ store: inner, tf }));
    const saved = await Promise.all(models.map((model, i) => twins[i % 2].save('race', model)));
    expect(saved.map((s) => s.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    // They did race: some claims were lost to another save and retried with the next number.
    expect(stores[0].count('putIfAbsent') + stores[1].count('putIfAbsent')).toBeGreaterThan(6);
    for (const [i, { version }] of saved.entries()) {
      const loaded = await store.load('race', { version, tf });
      expect(predictionBytes(loaded).equals(predictionBytes(models[i]))).toBe(true);
    }
    const newest = models[saved.findIndex((s) => s.version === 6)];
    expect(predictionBytes(await store.load('race', { tf })).equals(predictionBytes(newest))).toBe(true);
    expect(await json('models/race/latest.json')).toMatchObject({ version: 6 });
  });

  it('from separate processes give distinct versions', async () => {
    const script = [
      `const { models } = require(${JSON.stringify(path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'index.js'))});`,
      "const tf = require('@tensorflow/tfjs');",
      'tf.enableProdMode();',
      'const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });',
      "Promise.all([0, 1, 2].map(() => models.save('procs', model))).then((saved) => {",
      '  process.stdout.write(JSON.stringify(saved.map((s) => s.version)));',
      '});',
    ].join('\n');
    const run = (): Promise<number[]> =>
      promisify(execFile)(process.execPath, ['-e', script], {
        cwd: REPO_ROOT,
        env: { ...process.env, SERVERLESS_STORE: dir },
        timeout: 30_000,
      }).then(({ stdout }) => JSON.parse(stdout) as number[]);
    const [a, b] = await Promise.all([run(), run()]);
    expect([...a, ...b].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await store.list()).map((row) => row.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await json('models/procs/latest.json')).toMatchObject({ version: 6 });
  });

  it('keep the latest pointer on the newest version through concurrent deletes', async () => {
    const model = await trainedModel();
    for (let i = 0; i < 4; i += 1) {
      await store.save('churn', model);
    }
    await Promise.all([
      store.delete('churn', { version: 4 }),
      store.save('churn', model),
      store.delete('churn', { version: 2 }),
      store.save('churn', model),
    ]);
    const versions = (await store.list({ name: 'churn' })).map((row) => row.version);
    expect(await json('models/churn/latest.json')).toMatchObject({ version: Math.max(...versions) });
  });
});

describe('a version a save left half-written', () => {
  /** Writes a version's model.json and weights.bin but no manifest, as a save that died in between. */
  async function halfWrite(version: number, claimedAt: Date): Promise<void> {
    const topology = await json('models/m/v1/model.json');
    topology.claim = { saveId: 'dead-save', claimedAt: claimedAt.toISOString() };
    await embedded.put(`models/m/v${version}/model.json`, Buffer.from(JSON.stringify(topology)));
    await embedded.put(`models/m/v${version}/weights.bin`, await object('models/m/v1/weights.bin'));
  }

  it('is invisible to list and load, and a later save skips its number and removes it once stale', async () => {
    const first = await trainedModel(1);
    await store.save('m', first);
    await halfWrite(2, new Date(Date.now() - 2 * 60 * 60 * 1000));
    expect((await store.list()).map((row) => row.version)).toEqual([1]);
    expect(predictionBytes(await store.load('m', { tf })).equals(predictionBytes(first))).toBe(true);
    await expect(store.load('m', { version: 2, tf })).rejects.toThrow('model "m" has no version 2');
    await expect(store.delete('m', { version: 2 })).rejects.toThrow('has no version 2');

    const second = await trainedModel(2);
    expect((await store.save('m', second)).version).toBe(3);
    expect(await embedded.list('models/m/v2/')).toEqual([]);
    expect((await store.list()).map((row) => row.version)).toEqual([1, 3]);
    expect(predictionBytes(await store.load('m', { tf })).equals(predictionBytes(second))).toBe(true);
  });

  it('stays while its claim is young: it may be a save still writing', async () => {
    await store.save('m', await trainedModel());
    await halfWrite(2, new Date());
    expect((await store.save('m', await trainedModel())).version).toBe(3);
    expect(await embedded.list('models/m/v2/')).toEqual([
      'models/m/v2/model.json',
      'models/m/v2/weights.bin',
    ]);
    // With no grace at all, the next save removes it.
    await new ModelStore({ store: embedded, tf, staleClaimMs: 0 }).save('m', await trainedModel());
    expect(await embedded.list('models/m/v2/')).toEqual([]);
  });

  it('is what a save that fails before its manifest leaves at worst: the save rejects and frees its claim', async () => {
    const counting = new CountingStore(embedded);
    const failing = new ModelStore({ store: counting, tf });
    await failing.save('m', await trainedModel());
    counting.failWrites = /manifest\.json$/;
    await expect(failing.save('m', await trainedModel())).rejects.toThrow(
      'injected failure writing models/m/v2/manifest.json',
    );
    expect(await embedded.list('models/m/')).not.toContainEqual(expect.stringMatching(/^models\/m\/v2\//));
    expect((await store.list()).map((row) => row.version)).toEqual([1]);
    counting.failWrites = undefined;
    expect((await failing.save('m', await trainedModel())).version).toBe(2);
  });
});
