/**
 * Finds `@tensorflow/tfjs` when a model is loaded, never before: the
 * package index is loaded by every invocation, and a plain cell must not
 * pay for tfjs. The notebook's own copy comes first (resolved from its
 * directory), so a loaded model is built by the same tfjs instance as the
 * tensors of the user's cells; this package's copy is the fallback.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';

import type { TfLike } from './tfjs-types';
import { TfjsNotFoundError } from './errors';

const TFJS = '@tensorflow/tfjs';

/**
 * The tfjs module to build models with: the notebook's (from `cwd`), else
 * this package's. Throws {@link TfjsNotFoundError} saying how to install it.
 */
export function resolveTfjs(cwd: string = process.cwd()): TfLike<unknown> {
  const origins = [path.join(cwd, 'noop.js'), __filename];
  for (const origin of origins) {
    const found = tryRequire(origin);
    if (found) {
      return found;
    }
  }
  throw new TfjsNotFoundError(
    `models.load needs ${TFJS} to build the model, and it is not installed for ${cwd}: ` +
      `run \`npm install ${TFJS}\` there, or pass your own as models.load(name, { tf })`,
  );
}

function tryRequire(origin: string): TfLike<unknown> | undefined {
  const require = createRequire(origin);
  let resolved: string;
  try {
    resolved = require.resolve(TFJS);
  } catch {
    return undefined;
  }
  // Loading errors of an installed tfjs are real failures: they propagate.
  const module = require(resolved) as Partial<TfLike<unknown>> | null;
  if (!module || typeof module.loadLayersModel !== 'function') {
    throw new TfjsNotFoundError(`${resolved} does not export loadLayersModel: is it ${TFJS}?`);
  }
  return module as TfLike<unknown>;
}
