/**
 * Model state and gradient exchange as a notebook user runs them:
 * test/notebooks/exchange.ipynb executed by nbclient against the installed
 * `serverless-ts` kernel on the embedded runtime (real worker processes),
 * with a real redis-server and s3rver on 127.0.0.1: a tfjs model saved in the
 * kernel, loaded and used in a `%%serverless` body, a new version saved from
 * a body; then a `--map` of 4 workers exchanging Float32Arrays with every
 * strategy, codec and store. test/notebooks/exchange-after-restart.ipynb then
 * runs in a new kernel (a restart) on the same embedded store and loads the
 * versions back.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { kernelEnvironment } from '../helpers/jupyter-server';
import { NotebookCell as Cell, NotebookOutput as Output } from '../helpers/nbformat';
import { REPO_ROOT, SYSTEM_PYTHON } from '../helpers/paths';
import { RedisServer, S3rverServer, S3RVER_ENV, startRedis, startS3rver } from '../helpers/stores';

const NOTEBOOKS = path.join(REPO_ROOT, 'test', 'notebooks');
const DRIVER = path.join(NOTEBOOKS, 'execute_timed.py');
const text = (value: string | string[] | undefined): string =>
  Array.isArray(value) ? value.join('') : (value ?? '');

let redis: RedisServer | undefined;
let s3: S3rverServer | undefined;
let home = '';
const executed = new Map<string, Cell>();
const stderrOf: string[] = [];
const workdirs: string[] = [];

/** Runs a notebook (with `{{NAME}}` placeholders filled) in a new kernel; keeps its cells by tag. */
function runNotebook(name: string, env: NodeJS.ProcessEnv, fill: Record<string, string>): void {
  let source = readFileSync(path.join(NOTEBOOKS, name), 'utf8');
  for (const [key, value] of Object.entries(fill)) {
    source = source.split(`{{${key}}}`).join(value);
  }
  const dir = mkdtempSync(path.join(home, 'run-'));
  const input = path.join(dir, name);
  const output = path.join(dir, `executed-${name}`);
  writeFileSync(input, source);
  // The notebook's directory is in the repository, so that `@tensorflow/tfjs` resolves from it (a
  // notebook's packages are installed next to it), in the kernel and in the invocations.
  mkdirSync(path.join(REPO_ROOT, 'test-results'), { recursive: true });
  const workdir = mkdtempSync(path.join(REPO_ROOT, 'test-results', 'nb-exchange-'));
  workdirs.push(workdir);
  const run = spawnSync(SYSTEM_PYTHON, [DRIVER, input, output, workdir], {
    env,
    encoding: 'utf8',
    timeout: 420_000,
  });
  stderrOf.push(run.stderr);
  const notebook = JSON.parse(readFileSync(output, 'utf8')) as { cells: Cell[] };
  for (const c of notebook.cells) {
    executed.set(c.metadata.tags?.[0] ?? '', c);
  }
}

function cell(tag: string): Cell {
  const found = executed.get(tag);
  if (!found) {
    throw new Error(`no executed cell tagged ${tag}`);
  }
  return found;
}
const outputs = (tag: string): Output[] => cell(tag).outputs ?? [];
const result = (tag: string): string =>
  text(outputs(tag).find((o) => o.output_type === 'execute_result')?.data?.['text/plain']);
const errorOf = (tag: string): Output | undefined => outputs(tag).find((o) => o.output_type === 'error');
const streams = (tag: string, name: string): string =>
  outputs(tag)
    .filter((o) => o.output_type === 'stream' && o.name === name)
    .map((o) => text(o.text))
    .join('');

beforeAll(async () => {
  [redis, s3] = await Promise.all([startRedis(), startS3rver()]);
  const kernel = kernelEnvironment();
  home = kernel.home;
  const env = {
    ...kernel.env,
    ...S3RVER_ENV,
    SERVERLESS_STORE: path.join(home, 'store'),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const fill = { REDIS_URL: redis.url('nb'), S3_URL: s3.url('nb') };
  runNotebook('exchange.ipynb', env, fill);
  runNotebook('exchange-after-restart.ipynb', env, fill);
}, 900_000);

afterAll(async () => {
  await Promise.all([redis?.stop(), s3?.stop()]);
  for (const dir of [home, ...workdirs].filter(Boolean)) {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('models in a notebook', () => {
  it('saves a tfjs model in the kernel as version 1', () => {
    expect(stderrOf.join('')).not.toMatch(/Traceback \(most recent call last\)/);
    expect(errorOf('helpers')).toBeUndefined();
    expect(errorOf('save')).toBeUndefined();
    expect(result('save')).toBe('1');
  });

  it('loads it inside a %%serverless body, where it predicts exactly what it predicts in the kernel', () => {
    expect(errorOf('load-in-body')).toBeUndefined();
    expect(result('same-prediction')).toBe('true');
  });

  it('saves a new version from inside a body', () => {
    expect(errorOf('save-in-body')).toBeUndefined();
    expect(result('save-in-body')).toBe('2');
    expect(result('versions')).toBe("'1,2'");
  });

  it('loads both versions back after a kernel restart, the second with the weights the body doubled', () => {
    expect(errorOf('after-restart')).toBeUndefined();
    expect(result('after-restart')).toBe("'1,2 true'");
  });
});

describe.each(['embedded', 'redis', 's3'])(
  'a --map of 4 workers exchanging through the %s store',
  (store) => {
    it('gives every worker the same means: exact with none, within bounds with fp16 and top-k, for every strategy', () => {
      expect(errorOf(`config-${store}`)).toBeUndefined();
      expect(streams(`config-${store}`, 'stdout')).toMatch(
        new RegExp(`--store ${store === 'embedded' ? 'embedded' : store === 'redis' ? 'redis://' : 's3://'}`),
      );
      expect(errorOf(`exchange-${store}`)).toBeUndefined();
      expect(streams(`exchange-${store}`, 'stderr')).not.toMatch(/Error|could not be removed/);
      // 3 strategies x 3 codecs, each checked in the kernel (see checkExchange in the notebook).
      // Each worker ran with the store configured (its invocation says so).
      const scheme = store === 'embedded' ? 'embedded' : store;
      expect(result(`check-${store}`)).toBe(`'${[scheme, scheme, scheme, scheme].join(',')} ok 9'`);
    });
  },
);

describe('cost', () => {
  it('bills the S3 store requests of the exchange as storage', () => {
    const report = outputs('cost')
      .map((o) => text(o.data?.['text/plain']) + text(o.text))
      .join('');
    expect(report).toMatch(/storage/i);
    const storage = /storage[^$\n]*\$([0-9.]+)/i.exec(report);
    expect(storage).not.toBeNull();
    expect(Number(storage?.[1])).toBeGreaterThan(0);
  });
});
