/**
 * Finds `@tensorflow/tfjs` when a model is loaded, never before: the
 * package index is loaded by every invocation, and a plain cell must not
 * pay for tfjs. The model must be built by the same tfjs instance as the
 * tensors of the user's cells, so the order is: the notebook's copy
 * (resolved from the working directory) if it is loaded, else a copy the
 * process has loaded already (the user's cells did; in an execution
 * environment the working directory may not be the notebook's), else the
 * notebook's copy, else this package's.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { TfjsNotFoundError } from './errors';
import type { TfLike } from './tfjs-types';

const TFJS = '@tensorflow/tfjs';

/** A loaded tfjs entry module: the package's own folder (not tfjs-core, tfjs-layers...). */
const LOADED_TFJS = /[\\/]@tensorflow[\\/]tfjs[\\/]dist[\\/][^\\/]+\.js$/;

/** Who needs tfjs, for the message when it is missing. */
export interface TfjsCaller {
  /** The call, e.g. `models.load`. */
  call: string;
  /** What it needs tfjs for, e.g. `to build the model`. */
  purpose: string;
  /** How to pass one's own, e.g. `models.load(name, { tf })`. */
  example: string;
}

const MODELS_LOAD: TfjsCaller = {
  call: 'models.load',
  purpose: 'to build the model',
  example: 'models.load(name, { tf })',
};

/**
 * The tfjs module to build models (or tensors) with (see the order above).
 * Throws {@link TfjsNotFoundError} saying how to install it, or how
 * `caller` takes one's own.
 */
export function resolveTfjs(cwd: string = process.cwd(), caller: TfjsCaller = MODELS_LOAD): TfLike<unknown> {
  const fromCwd = resolveFrom(path.join(cwd, 'noop.js'));
  const loaded = loadedTfjs();
  const chosen =
    (fromCwd && loaded.find((entry) => entry.file === fromCwd.file)) ??
    loaded[0] ??
    fromCwd ??
    resolveFrom(__filename);
  if (!chosen) {
    throw new TfjsNotFoundError(
      `${caller.call} needs ${TFJS} ${caller.purpose}, and it is not installed for ${cwd}: ` +
        `run \`npm install ${TFJS}\` there, or pass your own as ${caller.example}`,
    );
  }
  return chosen.module ?? loadTfjs(chosen.file, chosen.require);
}

interface Found {
  file: string;
  require: NodeJS.Require;
  module?: TfLike<unknown>;
}

function resolveFrom(origin: string): Found | undefined {
  const require = createRequire(origin);
  try {
    return { file: require.resolve(TFJS), require };
  } catch {
    return undefined;
  }
}

/** tfjs copies already in the process's module cache. */
function loadedTfjs(): Found[] {
  return Object.entries(require.cache)
    .filter(([file, entry]) => LOADED_TFJS.test(file) && isTfjs(entry?.exports))
    .map(([file, entry]) => ({ file, require, module: entry?.exports as TfLike<unknown> }));
}

function loadTfjs(file: string, from: NodeJS.Require): TfLike<unknown> {
  // Errors while loading an installed tfjs are real failures: they propagate.
  const module: unknown = from(file);
  if (!isTfjs(module)) {
    throw new TfjsNotFoundError(`${file} does not export loadLayersModel: is it ${TFJS}?`);
  }
  return module;
}

function isTfjs(module: unknown): module is TfLike<unknown> {
  return (
    typeof module === 'object' &&
    module !== null &&
    typeof (module as Partial<TfLike<unknown>>).loadLayersModel === 'function'
  );
}
