/**
 * `models` (kernel-magics/src/state) with real tfjs on a real embedded
 * store: save, load (bit-for-bit predictions), versions, list, delete,
 * typed errors, checkpoints that outlive the store instance and the process.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { EmbeddedStore } from '../../kernel-magics/src/exchange/store/embedded';
import {
  InvalidModelNameError,
  ModelNotFoundError,
  ModelStore,
  type LayersModelLike,
} from '../../kernel-magics/src/state';
import { REPO_ROOT } from '../helpers/paths';
import { predictionBytes, probe, tf, trainedModel, weightBytes } from '../helpers/tf-models';

let dir: string;
let store: ModelStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-models-'));
  store = new ModelStore({ store: new EmbeddedStore(dir), tf });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('save and load', () => {
  it('loads a new model whose weights and predictions equal the saved one bit for bit', async () => {
    const model = await trainedModel();
    const saved = await store.save('mlp', model);
    expect(saved).toEqual({
      name: 'mlp',
      version: 1,
      bytes: expect.any(Number),
      savedAt: expect.any(String),
    });

    const loaded = await store.load('mlp', { tf });
    expect(loaded).not.toBe(model);
    expect(loaded).toBeInstanceOf(tf.LayersModel);
    expect(weightBytes(loaded).equals(weightBytes(model))).toBe(true);
    expect(predictionBytes(loaded).equals(predictionBytes(model))).toBe(true);
    expect(loaded.layers.map((layer) => layer.getClassName())).toEqual(['Dense', 'Dense']);
  });

  it('numbers versions 1, 2, 3 and loads the newest or the one asked for', async () => {
    const snapshots: Buffer[] = [];
    const model = await trainedModel();
    for (let i = 0; i < 3; i += 1) {
      const { version } = await store.save('mlp', model);
      expect(version).toBe(i + 1);
      snapshots.push(predictionBytes(model));
      const x = tf.randomNormal([16, 4], 0, 1, 'float32', i + 10);
      const y = tf.oneHot(tf.randomUniform([16], 0, 3, 'int32', i), 3);
      await model.fit(x, y, { epochs: 2, verbose: 0 });
    }
    expect(new Set(snapshots.map((s) => s.toString('hex'))).size).toBe(3);
    expect(predictionBytes(await store.load('mlp', { tf })).equals(snapshots[2])).toBe(true);
    for (const version of [1, 2, 3]) {
      const loaded = await store.load('mlp', { version, tf });
      expect(predictionBytes(loaded).equals(snapshots[version - 1])).toBe(true);
    }
  });

  it('with includeOptimizer, comes back compiled and keeps training', async () => {
    const model = await trainedModel();
    await store.save('compiled', model, { includeOptimizer: true });
    await store.save('bare', model);
    const compiled = await store.load('compiled', { tf });
    const bare = await store.load('bare', { tf });
    expect(compiled.optimizer).toBeDefined();
    expect(bare.optimizer).toBeUndefined();
    const before = weightBytes(compiled);
    await compiled.fit(probe(), tf.oneHot(tf.tensor1d([0, 1, 2], 'int32'), 3), { epochs: 1, verbose: 0 });
    expect(weightBytes(compiled).equals(before)).toBe(false);
  });

  it('types the loaded model from the tf passed, and loosely without one', async () => {
    await store.save('typed', await trainedModel());
    const typed: tf.LayersModel = await store.load('typed', { tf });
    const loose: LayersModelLike = await new ModelStore({ store: new EmbeddedStore(dir), tf }).load('typed');
    const y = loose.predict(probe());
    expect(Array.isArray(y) ? y[0].shape : y.shape).toEqual([3, 3]);
    expect(typed.outputs[0].shape).toEqual([null, 3]);
  });

  it('rejects what is not a tfjs model, saying what it wants', async () => {
    await expect(store.save('x', {} as never)).rejects.toThrow(/must be a tfjs model/);
  });
});

describe('list and delete', () => {
  it('lists one row per version, sorted by name then version, with sizes and times', async () => {
    const model = await trainedModel();
    await store.save('b-model', model);
    await store.save('a-model', model);
    await store.save('b-model', model);
    const rows = await store.list();
    expect(rows.map(({ name, version }) => `${name}@${version}`)).toEqual([
      'a-model@1',
      'b-model@1',
      'b-model@2',
    ]);
    for (const row of rows) {
      expect(row.bytes).toBeGreaterThan(0);
      expect(Date.parse(row.savedAt)).toBeGreaterThan(Date.now() - 60_000);
    }
    expect((await store.list({ name: 'b-model' })).map((row) => row.version)).toEqual([1, 2]);
    expect(await store.list({ name: 'nothing' })).toEqual([]);
  });

  it('deletes one version: it vanishes from list and load, the newest falls back', async () => {
    const first = await trainedModel(1);
    const second = await trainedModel(7);
    await store.save('m', first);
    await store.save('m', second);
    expect(await store.delete('m', { version: 2 })).toEqual({ name: 'm', versions: [2] });
    expect((await store.list()).map((row) => row.version)).toEqual([1]);
    expect(predictionBytes(await store.load('m', { tf })).equals(predictionBytes(first))).toBe(true);
    await expect(store.load('m', { version: 2, tf })).rejects.toThrow(
      'model "m" has no version 2 in ' + dir + '; its versions: 1',
    );
    const keys = await new EmbeddedStore(dir).list('models/m/');
    expect(keys).toEqual([
      'models/m/latest.json',
      'models/m/v1/manifest.json',
      'models/m/v1/model.json',
      'models/m/v1/weights.bin',
    ]);
  });

  it('deletes every version of a name and leaves nothing of it in the store', async () => {
    const model = await trainedModel();
    await store.save('gone', model);
    await store.save('gone', model);
    await store.save('kept', model);
    expect(await store.delete('gone')).toEqual({ name: 'gone', versions: [1, 2] });
    expect((await store.list()).map((row) => row.name)).toEqual(['kept']);
    expect(await new EmbeddedStore(dir).list('models/gone/')).toEqual([]);
    await expect(store.load('gone', { tf })).rejects.toBeInstanceOf(ModelNotFoundError);
    await expect(store.delete('gone')).rejects.toBeInstanceOf(ModelNotFoundError);
    // A fresh save of the name starts again at 1.
    expect((await store.save('gone', model)).version).toBe(1);
  });
});

describe('errors', () => {
  it('names the model and what the store holds when a model is missing', async () => {
    const model = await trainedModel();
    await store.save('alpha', model);
    await store.save('alpha', model);
    await store.save('beta', model);
    const error = await store.load('gamma', { tf }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelNotFoundError);
    expect((error as Error).message).toBe(
      `no model named "gamma" in ${dir}; models there: alpha (versions 1, 2), beta (version 1)`,
    );
    expect((error as ModelNotFoundError).available).toEqual([
      { name: 'alpha', versions: [1, 2] },
      { name: 'beta', versions: [1] },
    ]);
    await expect(store.load('beta', { version: 4, tf })).rejects.toThrow(
      /has no version 4 .*its versions: 1$/,
    );
    await expect(store.delete('alpha', { version: 9 })).rejects.toThrow(/has no version 9/);
  });

  it('says the store is empty when it is', async () => {
    await expect(store.load('any', { tf })).rejects.toThrow(
      `no model named "any" in ${dir}; the store holds no models`,
    );
  });

  it.each(['', 'a/b', '..', '.', 'has space', 'ü', 'x'.repeat(129), 'a:b'])(
    'rejects the name %j with what a name may be',
    async (name) => {
      const model = await trainedModel();
      await expect(store.save(name, model)).rejects.toThrow(InvalidModelNameError);
      await expect(store.load(name, { tf })).rejects.toThrow(/use 1-128 letters, digits, '-', '_' or '.'/);
      await expect(store.delete(name)).rejects.toThrow(InvalidModelNameError);
      await expect(store.list({ name })).rejects.toThrow(InvalidModelNameError);
    },
  );

  it('accepts names of letters, digits, dots, dashes and underscores', async () => {
    const model = await trainedModel();
    for (const name of ['a', 'mnist-mlp_v2.1', 'A.B', 'x'.repeat(128)]) {
      expect((await store.save(name, model)).name).toBe(name);
    }
  });

  it('stops at an aborted signal with its reason', async () => {
    const model = await trainedModel();
    await store.save('m', model);
    const signal = AbortSignal.abort(new Error('stopped by the test'));
    await expect(store.save('m', model, { signal })).rejects.toThrow('stopped by the test');
    await expect(store.load('m', { tf, signal })).rejects.toThrow('stopped by the test');
    await expect(store.list({ signal })).rejects.toThrow('stopped by the test');
    await expect(store.delete('m', { signal })).rejects.toThrow('stopped by the test');
    expect((await store.list()).map((row) => row.version)).toEqual([1]);
  });

  it('rejects versions that are not whole numbers from 1', async () => {
    await expect(store.load('m', { version: 0, tf })).rejects.toThrow(TypeError);
    await expect(store.load('m', { version: 1.5, tf })).rejects.toThrow(/whole number from 1/);
  });
});

describe('checkpoints outlive the kernel', () => {
  it('loads with a new model store and a new store instance on the same directory', async () => {
    const model = await trainedModel();
    await store.save('ckpt', model);
    const restarted = new ModelStore({ store: new EmbeddedStore(dir), cache: false });
    const loaded = await restarted.load('ckpt', { tf });
    expect(predictionBytes(loaded).equals(predictionBytes(model))).toBe(true);
  });

  it('loads in a separate node process through the package index, which did not load tfjs until then', async () => {
    const model = await trainedModel();
    await store.save('ckpt', model);
    const script = [
      `const index = require(${JSON.stringify(path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'index.js'))});`,
      "const tfjsLoaded = () => Object.keys(require.cache).some((k) => k.includes('@tensorflow'));",
      'const before = tfjsLoaded();',
      "index.models.load('ckpt').then((m) => {",
      "  const tf = require('@tensorflow/tfjs');",
      `  const y = m.predict(tf.tensor2d(${JSON.stringify(probe().arraySync())}));`,
      "  process.stdout.write(JSON.stringify({ before, after: tfjsLoaded(), sameTf: m instanceof tf.LayersModel, y: Buffer.from(new Float32Array(y.dataSync()).buffer).toString('base64') }));",
      '});',
    ].join('\n');
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, SERVERLESS_STORE: dir },
      timeout: 30_000,
    });
    const result = JSON.parse(stdout) as { before: boolean; after: boolean; sameTf: boolean; y: string };
    expect(result).toEqual({
      before: false,
      after: true,
      sameTf: true,
      y: predictionBytes(model).toString('base64'),
    });
  });
});

describe('finding tfjs for a load', () => {
  const resolver = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'state', 'tfjs.js');
  let notebook: string;
  let elsewhere: string;

  beforeAll(() => {
    // A notebook folder with its own tfjs copy: the real one re-exported with a mark, in a file of its own.
    notebook = mkdtempSync(path.join(os.tmpdir(), 'jsl-notebook-'));
    const dist = path.join(notebook, 'node_modules', '@tensorflow', 'tfjs', 'dist');
    mkdirSync(dist, { recursive: true });
    writeFileSync(
      path.join(dist, '..', 'package.json'),
      JSON.stringify({ name: '@tensorflow/tfjs', main: 'dist/tf.node.js' }),
    );
    const real = require.resolve('@tensorflow/tfjs', { paths: [REPO_ROOT] });
    writeFileSync(
      path.join(dist, 'tf.node.js'),
      `module.exports = { ...require(${JSON.stringify(real)}), copy: 'notebook' };`,
    );
    elsewhere = mkdtempSync(path.join(os.tmpdir(), 'jsl-elsewhere-'));
  });

  afterAll(() => {
    rmSync(notebook, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  /** Which tfjs copy resolveTfjs picks in a fresh node process, after running `before`. */
  async function picked(cwd: string, before = ''): Promise<string> {
    const script = `${before}\nconst tf = require(${JSON.stringify(resolver)}).resolveTfjs();\nprocess.stdout.write(tf.copy ?? (typeof tf.loadLayersModel === 'function' ? 'package' : 'none'));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd, timeout: 30_000 });
    return stdout;
  }

  it("takes the notebook's copy, resolved from the working directory", async () => {
    expect(await picked(notebook)).toBe('notebook');
  });

  it("takes the copy the process loaded already when the working directory has none (an environment's files folder)", async () => {
    const userCell = `require(${JSON.stringify(path.join(notebook, 'node_modules', '@tensorflow', 'tfjs'))});`;
    expect(await picked(elsewhere, userCell)).toBe('notebook');
  });

  it("falls back to the package's own copy", async () => {
    expect(await picked(elsewhere)).toBe('package');
  });
});
