/**
 * `models` inside real invocations of the embedded runtime: a body loads
 * what the kernel saved and saves what the kernel loads, through the
 * package index and the store directory the environment is given
 * (`$SERVERLESS_STORE`). The workers run the build (`npm run build` first).
 */
import { serialize } from 'node:v8';
import * as path from 'node:path';

import { EmbeddedStore } from '../../kernel-magics/src/exchange/store/embedded';
import type { InvocationRequest } from '../../kernel-magics/src/runtime/backend';
import { ModelStore } from '../../kernel-magics/src/state';
import { programResult, sha256, useLocalRuntime } from '../helpers/local-runtime';
import { REPO_ROOT } from '../helpers/paths';
import { predictionBytes, probe, tf, trainedModel } from '../helpers/tf-models';

const runtime = useLocalRuntime('jsl-models-runtime-');
const never = new AbortController().signal;
let sequence = 0;

/** An invocation of `body` (an async function body that returns a value) run from the repository (its tfjs). */
function request(body: string): InvocationRequest {
  sequence += 1;
  const source = `(async (c, e, require) => {\n${body}\n})`;
  const captures = serialize({});
  return {
    id: `models-${sequence}`,
    runId: 'run-models',
    program: { hash: sha256(source), source, filename: `cell-${sha256(source).slice(0, 8)}.js` },
    captures: { hash: sha256(captures), bytes: captures },
    memoryMb: 512,
    timeoutS: 30,
    retries: 0,
    cwd: REPO_ROOT,
  };
}

const body = (statements: string, value: string): string => `
  const { models } = require('serverless-kernel');
  const tf = require('@tensorflow/tfjs');
  tf.enableProdMode();
  ${statements}
  return { hasValue: true, value: ${value}, exports: {} };`;

const PREDICT = `Buffer.from(new Float32Array(m.predict(tf.tensor2d(${JSON.stringify(probe().arraySync())})).dataSync()).buffer).toString('base64')`;

it('loads in an invocation what the kernel saved, and the kernel loads what the invocation saved', async () => {
  const storeDir = path.join(runtime.tmp, 'store');
  const kernel = new ModelStore({ store: new EmbeddedStore(storeDir), tf });
  const model = await trainedModel();
  await kernel.save('shared', model);
  const local = runtime.backend({ storeDir });

  const loaded = programResult(
    await local.invoke(
      request(
        body(
          `const m = await models.load('shared');`,
          `{ y: ${PREDICT}, isModel: m instanceof tf.LayersModel }`,
        ),
      ),
      {},
      never,
    ),
  ).value;
  expect(loaded).toEqual({ y: predictionBytes(model).toString('base64'), isModel: true });

  const saved = programResult(
    await local.invoke(
      request(
        body(
          `const m = await models.load('shared');
           m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
           await m.fit(tf.ones([4, 4]), tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3), { epochs: 1, verbose: 0 });
           const info = await models.save('shared', m);`,
          `{ version: info.version, y: ${PREDICT} }`,
        ),
      ),
      {},
      never,
    ),
  ).value as { version: number; y: string };
  expect(saved.version).toBe(2);
  const back = await kernel.load('shared', { tf });
  expect(predictionBytes(back).toString('base64')).toBe(saved.y);
  expect(saved.y).not.toBe(predictionBytes(model).toString('base64'));
});
