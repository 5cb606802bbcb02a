/**
 * Loads TensorFlow.js for training inside an invocation, at the first call
 * and never at import: a plain invocation must not pay for tfjs.
 *
 * Which tfjs: the notebook's `@tensorflow/tfjs` (through `requireFrom`),
 * so models and tensors its cells build are the ones trained; else this
 * package's. Which backend: `tensorflow` when `@tensorflow/tfjs-node`
 * resolves (it cannot install on many machines, so it is never required),
 * else `wasm` from `@tensorflow/tfjs-backend-wasm`, whose .wasm files are
 * read from the installed package (nothing is downloaded). The wasm backend
 * runs single-threaded: the invocations are the parallelism. The kernels it
 * lacks for training are registered, and its slow Conv2DBackpropInput
 * replaced (see ./kernels).
 */
import * as path from 'node:path';

import { TrainingBackendError } from './errors';
import { registerTrainingKernels } from './kernels';
import type { Tf } from './tf-types';

/** The tfjs backends training runs on. */
export type TrainingBackendName = 'tensorflow' | 'wasm' | 'cpu';

/** A tfjs ready for training: its active backend is `backend`. */
export interface TrainingTf {
  tf: Tf;
  backend: TrainingBackendName;
}

/** What {@link loadTrainingTf} takes. */
export interface LoadTrainingTfOptions {
  /** Resolves from the notebook's directory (a program's require); default: this package's. */
  requireFrom?: NodeJS.Require;
  /** Use this backend instead of the best available one (tests use 'cpu' to compare). */
  prefer?: TrainingBackendName;
}

/** This package's require: the fallback when the notebook has no tfjs of its own. */
const ownRequire = require;

const TFJS = '@tensorflow/tfjs';
const TFJS_NODE = '@tensorflow/tfjs-node';
const TFJS_WASM = '@tensorflow/tfjs-backend-wasm';

/** The tfjs-backend-wasm exports used here. */
interface WasmBackendModule {
  setWasmPaths(prefix: string): void;
}

/** One-time set-ups of this process, by tfjs module and backend. */
const prepared = new Map<Tf, Map<TrainingBackendName, Promise<void>>>();

/**
 * Loads tfjs for training once per process: `@tensorflow/tfjs-node` when
 * `requireFrom` can resolve it (never required: it cannot install on many
 * machines), else `@tensorflow/tfjs` with the wasm backend (SIMD on,
 * single-threaded; its .wasm files from the installed package, nothing
 * downloaded), with the missing kernels registered (and wasm's slow
 * Conv2DBackpropInput replaced); `prefer` forces one
 * (tests use 'cpu' to compare). Later calls reuse the set-up and make the
 * chosen backend the active one again. Throws {@link TrainingBackendError}
 * saying what to install.
 */
export async function loadTrainingTf(options: LoadTrainingTfOptions = {}): Promise<TrainingTf> {
  const requires = options.requireFrom ? [options.requireFrom, ownRequire] : [ownRequire];
  if (options.prefer === 'tensorflow') {
    loadTfjsNode(requires);
  }
  const backend = options.prefer ?? (loadsTfjsNode(requires) ? 'tensorflow' : 'wasm');
  const tf = loadTfjs(requires);
  const byBackend = prepared.get(tf) ?? new Map<TrainingBackendName, Promise<void>>();
  prepared.set(tf, byBackend);
  let setUp = byBackend.get(backend);
  if (!setUp) {
    setUp = prepare(tf, backend, requires);
    byBackend.set(backend, setUp);
    // A failed set-up may succeed once the user installs what the error names.
    setUp.catch(() => byBackend.delete(backend));
  }
  await setUp;
  await activate(tf, backend);
  return { tf, backend };
}

/** The one-time part: the backend's files and its training kernels. */
async function prepare(tf: Tf, backend: TrainingBackendName, requires: NodeJS.Require[]): Promise<void> {
  if (backend === 'wasm') {
    setUpWasm(tf, requires);
  }
  await activate(tf, backend);
  registerTrainingKernels(tf, backend);
}

async function activate(tf: Tf, backend: TrainingBackendName): Promise<void> {
  if (tf.getBackend() === backend) {
    return;
  }
  // setBackend resolves false (and logs) when the backend fails to initialize.
  const ok = await tf.setBackend(backend);
  await tf.ready();
  if (!ok || tf.getBackend() !== backend) {
    throw new TrainingBackendError(
      `the tfjs ${backend} backend failed to initialize` +
        (backend === 'tensorflow'
          ? `: reinstall ${TFJS_NODE} (its native library must match this machine), or uninstall it to train on wasm`
          : backend === 'wasm'
            ? `: reinstall ${TFJS_WASM} at the version of ${TFJS} (${tf.version_core}), or use prefer: 'cpu'`
            : ''),
    );
  }
}

/** Points the wasm backend at the installed package's .wasm files, unless it is already initialized. */
function setUpWasm(tf: Tf, requires: NodeJS.Require[]): void {
  const from = requires.find((candidate) => resolves([candidate], `${TFJS_WASM}/package.json`));
  if (!from) {
    throw new TrainingBackendError(
      `training on wasm needs ${TFJS_WASM} next to ${TFJS}: run \`npm install ${TFJS_WASM}@${tf.version_core}\` ` +
        `in the notebook's directory (or install ${TFJS_NODE} where it can be installed)`,
    );
  }
  const wasm = from(TFJS_WASM) as WasmBackendModule;
  // Not tf.findBackend: it starts initializing a backend it does not hold.
  if ('wasm' in tf.engine().registry) {
    // Initialized before (by a cell, or an earlier set-up): its files are loaded already.
    return;
  }
  // Workers are the parallelism: one thread each (tfjs has no wasm threads in Node anyway).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const dist = path.join(path.dirname(from.resolve(`${TFJS_WASM}/package.json`)), 'dist');
  wasm.setWasmPaths(dist + path.sep);
}

function loadTfjs(requires: NodeJS.Require[]): Tf {
  const from = requires.find((candidate) => resolves([candidate], TFJS));
  if (!from) {
    throw new TrainingBackendError(
      `training needs ${TFJS}: run \`npm install ${TFJS} ${TFJS_WASM}\` in the notebook's directory`,
    );
  }
  return from(TFJS) as Tf;
}

/** Whether tfjs-node resolves and loads (registering the `tensorflow` backend). */
function loadsTfjsNode(requires: NodeJS.Require[]): boolean {
  if (!resolves(requires, TFJS_NODE)) {
    return false;
  }
  try {
    loadTfjsNode(requires);
    return true;
  } catch {
    // Installed but broken (a native library for another machine): train on wasm.
    return false;
  }
}

/** Loads tfjs-node, which registers the `tensorflow` backend with tfjs. */
function loadTfjsNode(requires: NodeJS.Require[]): void {
  const from = requires.find((candidate) => resolves([candidate], TFJS_NODE));
  if (!from) {
    throw new TrainingBackendError(
      `the tensorflow backend needs ${TFJS_NODE}, which is not installed: install it, or leave out prefer ` +
        `to train on wasm`,
    );
  }
  try {
    from(TFJS_NODE);
  } catch (error) {
    throw new TrainingBackendError(
      `${TFJS_NODE} is installed but does not load (${(error as Error).message}): reinstall it, or uninstall it ` +
        `to train on wasm`,
    );
  }
}

function resolves(requires: NodeJS.Require[], request: string): boolean {
  return requires.some((candidate) => {
    try {
      candidate.resolve(request);
      return true;
    } catch {
      return false;
    }
  });
}
