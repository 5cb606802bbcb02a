/**
 * `exchange`, `models` and `datasets` as the package index exports them:
 * thin objects whose implementations (collectives, codecs, stores, the model
 * store, the datasets and tfjs) load at their first call. Every invocation whose body imports anything from
 * `serverless-kernel` (`display`, say) loads the index, and must not pay for
 * what it does not use.
 */
import type { ExchangeApi } from './exchange/collectives/exchange';
import type * as ExchangeModule from './exchange/collectives/exchange';
import type * as StateModule from './state';
import type { LayersModelLike } from './state/tfjs-types';
import type { LoadOptions } from './state/options';
import type { ModelStore } from './state/model-store';
import type { DatasetsApi } from './training/datasets/mnist';
import type * as MnistModule from './training/datasets/mnist';
import type * as TrainModule from './training/train';
import type * as SegmentModule from './training/worker/segment';

/* eslint-disable @typescript-eslint/no-require-imports -- lazy loads (see the module comment) */
const exchangeApi = (): ExchangeApi =>
  (require('./exchange/collectives/exchange') as typeof ExchangeModule).createExchangeApi();
const modelStore = (): ModelStore => (require('./state') as typeof StateModule).models;
const datasetsApi = (): DatasetsApi => (require('./training/datasets/mnist') as typeof MnistModule).datasets;
const trainModule = (): typeof TrainModule => require('./training/train') as typeof TrainModule;
const segmentModule = (): typeof SegmentModule =>
  require('./training/worker/segment') as typeof SegmentModule;
/* eslint-enable @typescript-eslint/no-require-imports */

let loadedExchange: ExchangeApi | undefined;

/**
 * The exchange API for cells: `await exchange.open({ run, rank, workers })`
 * in a `--map` body gives `allreduce`, `scatterReduce`, `push`/`pull`.
 */
export const exchange: ExchangeApi = {
  open: (options) => (loadedExchange ??= exchangeApi()).open(options),
};

/** The calls of the notebook's model store. */
export type ModelsApi = Pick<ModelStore, 'save' | 'list' | 'delete'> & {
  load<M = LayersModelLike>(name: string, options?: LoadOptions<M>): Promise<M>;
};

/**
 * The notebook's models, in the store the kernel is configured with (the
 * invocation's inside a `%%serverless` body): `save`, `load`, `list`, `delete`.
 */
export const models: ModelsApi = {
  save: (name, model, options) => modelStore().save(name, model, options),
  load: <M = LayersModelLike>(name: string, options?: LoadOptions<M>) => modelStore().load<M>(name, options),
  list: (options) => modelStore().list(options),
  delete: (name, options) => modelStore().delete(name, options),
};

/**
 * Datasets for cells: `await datasets.mnist({ train: 8000, test: 2000 })`
 * gives `{ train: { xs, ys }, test: { xs, ys } }` as tfjs tensors.
 */
export const datasets: DatasetsApi = {
  mnist: (options) => datasetsApi().mnist(options),
};

/**
 * Trains a compiled tfjs model data-parallel on serverless workers, from a
 * notebook cell: `await train({ model, data, workers, epochs, batchSize, ... })`.
 * Resolves to `{ history, model, checkpoint }`; see the options' docs.
 */
export const train: typeof TrainModule.train = (options) => trainModule().train(options);

/**
 * @internal The entry of the invocations `train()` starts (one per rank);
 * not for cells.
 */
export const trainingWorker: typeof SegmentModule.trainingWorker = (spec, rank, requireFrom) =>
  segmentModule().trainingWorker(spec, rank, requireFrom);
