/**
 * The package index loads the exchange's and the model store's
 * implementations only when a cell first uses them: a body that imports
 * `display` does not pay for them. Checked in a fresh Node process on the
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
});
