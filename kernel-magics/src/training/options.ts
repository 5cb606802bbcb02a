/** The options of `train()`, their defaults, and the checks that run before anything is invoked. */
import type * as Tf from '@tensorflow/tfjs';

import { parseStoreUrl } from '../exchange/store/url';
import { StoreConfigError } from '../exchange/store/errors';
import { parseCodec } from '../exchange/codecs';
import type { ExchangeStrategy } from '../telemetry/protocol/events';
import type { EpochRecord } from './checkpoint';
import { TrainingConfigError } from './errors';

/** Examples and labels: tensors whose first dimension is the sample. */
export interface TrainingData {
  xs: Tf.Tensor;
  ys: Tf.Tensor;
}

/** What `train()` takes (see DESIGN.md, "model state, exchange, training"). */
export interface TrainOptions<M extends Tf.LayersModel = Tf.LayersModel> {
  /** A compiled tfjs model (optimizer and loss); it is updated in place. */
  model: M;
  data: TrainingData;
  /** Evaluated after every epoch (`valLoss`, `valAccuracy`). */
  validation?: TrainingData;
  /**
   * Workers, each one invocation per segment (default 2); `'auto'`: picked by
   * train-time tuning for the cheapest training that meets `deadline`.
   */
  workers?: number | 'auto';
  /** Epochs to reach (default 1; with `resume`, counted from the start of the training). */
  epochs?: number;
  /** The global batch of a step, split between the workers (default 32). */
  batchSize?: number;
  /** How gradients are combined (default `allreduce`). */
  strategy?: ExchangeStrategy;
  /** With `parameter-server`: rounds a worker may run ahead (default 0: synchronous). */
  staleness?: number;
  /** The store of the exchange, the data and the checkpoints (default: `%serverless config --store`, else embedded). */
  store?: string;
  /** `none` (default), `fp16` or `topk:F` (with error feedback). */
  codec?: string;
  /**
   * Memory per worker, MB (default: the session's `%%serverless` default);
   * `'auto'`: picked by train-time tuning for the cheapest training that meets `deadline`.
   */
  memory?: number | 'auto';
  /**
   * With `workers: 'auto'` or `memory: 'auto'`: seconds the workers may take
   * (on the clock they are billed by); the cheapest training predicted to
   * meet it is picked. Without it, the cheapest.
   */
  deadline?: number;
  /** With `'auto'`: the worker counts and memory sizes to choose from (defaults: 1, 2, 4, 8 workers; 128, 512, 1024, 1769, 3008 MB). */
  tune?: { workers?: number[]; memory?: number[] };
  /** `local` or `lambda` (default: the session's). */
  backend?: 'local' | 'lambda';
  /** Seconds per invocation: a worker checkpoints and stops before it; the next segment continues (default: the session's). */
  timeout?: number;
  /** Retries of a crashed worker's invocation (default: the session's). */
  retries?: number;
  /** The ModelStore name checkpoints are saved under, one version per epoch (default `train-<id>`). */
  name?: string;
  /** Continue from the newest checkpoint under `name`, if there is one (default false). */
  resume?: boolean;
  /** Stop, after a checkpoint, before the training's cost would pass this many USD. */
  budget?: number;
  /** Seed of the order samples are visited in (default: random, recorded in checkpoints). */
  seed?: number;
  /** Visit each worker's samples in a new order every epoch (default true). */
  shuffle?: boolean;
  /** Show progress in the cell (default true). */
  verbose?: boolean;
  /** Called after each epoch, once its checkpoint is saved. */
  onEpochEnd?: (record: EpochRecord) => void;
  /** Stops the training (as the cell's interrupt does). */
  signal?: AbortSignal;
  /** The tfjs backend workers use (default: tfjs-node when installed, else wasm). */
  tfBackend?: 'tensorflow' | 'wasm' | 'cpu';
}

/** The options with defaults filled in and every value checked. */
export interface ResolvedTrainOptions {
  workers: number;
  epochs: number;
  batchSize: number;
  strategy: ExchangeStrategy;
  staleness: number;
  codec: string;
  store?: string;
  name?: string;
  resume: boolean;
  budget?: number;
  seed: number;
  shuffle: boolean;
  verbose: boolean;
  /** `%%serverless` arguments for memory, backend, timeout, retries and store. */
  cellArgs: string[];
}

const STRATEGIES: readonly ExchangeStrategy[] = ['allreduce', 'scatter-reduce', 'parameter-server'];

function integer(
  value: unknown,
  option: string,
  min: number,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) {
    return fallback;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TrainingConfigError(
      `train(): ${option} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}; got ${String(value)}.`,
    );
  }
  return value;
}

/**
 * Checks and completes `train()`'s options.
 * @throws TrainingConfigError naming the option and what it takes.
 */
export function resolveTrainOptions(options: TrainOptions): ResolvedTrainOptions {
  const workers = integer(options.workers, 'workers', 1, 2, 1000);
  const strategy = options.strategy ?? 'allreduce';
  if (!STRATEGIES.includes(strategy)) {
    throw new TrainingConfigError(
      `train(): strategy must be one of ${STRATEGIES.map((s) => `'${s}'`).join(', ')}; got ${String(strategy)}.`,
    );
  }
  const staleness = integer(options.staleness, 'staleness', 0, 0);
  if (staleness > 0 && strategy !== 'parameter-server') {
    throw new TrainingConfigError(
      `train(): staleness ${staleness} needs strategy: 'parameter-server' (all-reduce and scatter-reduce are synchronous).`,
    );
  }
  const codec = options.codec ?? 'none';
  try {
    parseCodec(codec);
  } catch (error) {
    throw new TrainingConfigError(`train(): ${error instanceof Error ? error.message : String(error)}`);
  }
  if (options.store !== undefined) {
    try {
      parseStoreUrl(options.store);
    } catch (error) {
      if (error instanceof StoreConfigError) {
        throw new TrainingConfigError(`train(): ${error.message}`);
      }
      throw error;
    }
  }
  if (options.budget !== undefined && !(typeof options.budget === 'number' && options.budget > 0)) {
    throw new TrainingConfigError(
      `train(): budget must be a number of USD > 0; got ${String(options.budget)}.`,
    );
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new TrainingConfigError('train(): name must be a string (the ModelStore name of the checkpoints).');
  }
  return {
    workers,
    epochs: integer(options.epochs, 'epochs', 1, 1),
    batchSize: integer(options.batchSize, 'batchSize', 1, 32),
    strategy,
    staleness,
    codec,
    store: options.store,
    name: options.name,
    resume: options.resume ?? false,
    budget: options.budget,
    seed: integer(options.seed, 'seed', 0, Math.floor(Math.random() * 2 ** 31), 2 ** 32 - 1),
    shuffle: options.shuffle ?? true,
    verbose: options.verbose ?? true,
    cellArgs: cellArgs(options),
  };
}

/** The `%%serverless` arguments the options set (their values are checked by the magic's own parser). */
function cellArgs(options: TrainOptions): string[] {
  const args: string[] = [];
  const add = (flag: string, value: unknown): void => {
    if (value === undefined) {
      return;
    }
    const text = String(value);
    if (text === '' || /\s/.test(text)) {
      throw new TrainingConfigError(
        `train(): ${flag.slice(2)} cannot be empty or contain spaces; got '${text}'.`,
      );
    }
    args.push(flag, text);
  };
  add('--backend', options.backend);
  add('--memory', options.memory);
  add('--timeout', options.timeout);
  add('--retries', options.retries);
  add('--store', options.store);
  return args;
}
