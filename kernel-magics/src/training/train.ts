/**
 * `train()`: data-parallel training of a compiled tfjs model on serverless
 * workers, from one call in a notebook cell. The kernel publishes the data
 * to the store (once per content), checkpoints the starting model, then
 * runs segments: every worker is one invocation that steps from the last
 * checkpoint until the epochs are done or its timeout is near, rank 0
 * checkpointing every epoch. The next segment starts from where the last
 * one stopped (a warm environment keeps its model, so it loads nothing).
 * Progress is drawn in the cell; each epoch goes to the panel; the model
 * passed in ends with the last checkpoint's weights and optimizer state.
 */ import { randomUUID } from 'node:crypto';

import type * as Tf from '@tensorflow/tfjs';

import { configuredStoreUrl } from '../exchange/store/configured';
import { parseStoreUrl } from '../exchange/store/url';
import { sharedStore } from '../exchange/store/shared';
import { ModelStore } from '../state/model-store';
import { datasetArrays } from './datasets/arrays';
import { publishDataset } from './datasets/publish';
import { TrainingConfigError } from './errors';
import { HistoryWriter } from './history-store';
import { cellOptionsOf, trainingHost } from './host';
import { resolveTrainOptions, TrainOptions } from './options';
import { EpochSchedule } from './schedule';
import { TrainingSession, TrainResult } from './session';
import { newestCheckpointEpoch, startingPoint } from './start-point';
import { tuningRequest } from './tuning/request';
import { showTuning } from './tuning/report';
import { tuneTraining } from './tuning/tune-training';
import { display } from '../output/display';
import type { AccuracyKind } from './worker/trainable';

export type { TrainResult } from './session';

/**
 * Trains `options.model` data-parallel on `options.workers` serverless
 * workers (see {@link TrainOptions}).
 * @throws TrainingConfigError before anything runs; TrainingWorkerError when a worker fails after its retries;
 *   TrainingInterruptedError on an interrupt (the last checkpoint stays usable).
 */
export async function train<M extends Tf.LayersModel>(options: TrainOptions<M>): Promise<TrainResult<M>> {
  const host = trainingHost();
  const request = tuningRequest(options);
  const base = resolveTrainOptions(
    request ? { ...options, workers: request.workers[0], memory: request.memory?.[0] } : options,
  );
  const { model } = options;
  const accuracy = checkModel(model);
  checkData(options.data, 'data');
  if (options.validation) {
    checkData(options.validation, 'validation');
  }
  const baseCellOptions = cellOptionsOf(host, base);
  const storeUrl = baseCellOptions.store ?? configuredStoreUrl();
  refuseLocalStoreForRemoteWorkers(baseCellOptions.backend, storeUrl);
  const trainId = randomUUID();
  const name = base.name ?? `train-${trainId.slice(0, 8)}`;
  const signal = combinedSignal(host.cellSignal(), options.signal);
  const store = sharedStore(storeUrl);
  const models = new ModelStore({ store });
  const data = await publishDataset(store, datasetArrays(options.data), { signal });
  const validation = options.validation
    ? await publishDataset(store, datasetArrays(options.validation), { signal })
    : undefined;
  const tuning = request
    ? await tuneTraining({
        host,
        options,
        request,
        resolved: base,
        model,
        models,
        trainId,
        name,
        store: storeUrl,
        data,
        validation,
        accuracy,
        tfBackend: options.tfBackend,
        signal,
        epochsToRun: base.epochs - (base.resume ? await newestCheckpointEpoch(models, name, signal) : 0),
      })
    : undefined;
  const resolved = tuning
    ? resolveTrainOptions({
        ...options,
        workers: tuning.pick.workers,
        memory: tuning.pick.memoryMb,
        seed: base.seed,
      })
    : base;
  const cellOptions = tuning ? cellOptionsOf(host, resolved) : baseCellOptions;
  if (tuning && resolved.verbose) {
    showTuning(display, tuning);
  }
  const schedule = new EpochSchedule(data.samples, resolved.workers, resolved.batchSize);
  const start = await startingPoint(models, model, { trainId, name, resolved, data, store, signal });
  const session = new TrainingSession({
    host,
    model,
    models,
    options,
    resolved,
    cellOptions: { ...cellOptions, store: storeUrl },
    trainId,
    name,
    data,
    validation,
    accuracy,
    schedule,
    signal,
    historyWriter: new HistoryWriter(store, name),
    ...(tuning ? { tuning } : {}),
  });
  return session.run(start);
}

/** The model's accuracy metric, if it has one; throws when it is not compiled. */
function checkModel(model: Tf.LayersModel): AccuracyKind | undefined {
  if (!model || typeof model.getWeights !== 'function' || typeof model.save !== 'function') {
    throw new TrainingConfigError(
      'train(): model must be a tfjs LayersModel (tf.sequential() or tf.model()).',
    );
  }
  if (!model.optimizer || typeof model.loss !== 'string') {
    throw new TrainingConfigError(
      "train(): compile the model first, with an optimizer and one loss by name, e.g. model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] }).",
    );
  }
  const names = model.metricsNames ?? [];
  if (!names.includes('acc') && !names.includes('accuracy')) {
    return undefined;
  }
  const kinds: Record<string, AccuracyKind> = {
    categoricalCrossentropy: 'categorical',
    sparseCategoricalCrossentropy: 'sparse',
    binaryCrossentropy: 'binary',
  };
  return kinds[model.loss];
}

function checkData(data: { xs: Tf.Tensor; ys: Tf.Tensor } | undefined, option: string): void {
  if (!data || !data.xs || !data.ys || !Array.isArray(data.xs.shape) || !Array.isArray(data.ys.shape)) {
    throw new TrainingConfigError(
      `train(): ${option} must be { xs, ys }, two tensors whose first dimension is the sample.`,
    );
  }
  if (data.xs.shape[0] !== data.ys.shape[0]) {
    throw new TrainingConfigError(
      `train(): ${option}.xs has ${data.xs.shape[0]} samples and ${option}.ys ${data.ys.shape[0]}; they must match.`,
    );
  }
}

/** Workers on a remote backend cannot reach a directory on this machine: the embedded store is refused for them. */
function refuseLocalStoreForRemoteWorkers(backend: string, storeUrl: string): void {
  if (backend !== 'local' && parseStoreUrl(storeUrl).kind === 'embedded') {
    throw new TrainingConfigError(
      `train(): the workers run on ${backend}, and the embedded store is a directory on this machine that ` +
        "they cannot reach. Give a store they share with the kernel: store: 's3://BUCKET/PREFIX' (the Lambda " +
        "runner's role may use its payload bucket) or store: 'redis://HOST:PORT', or set it for the kernel with " +
        '%serverless config --store URL.',
    );
  }
}

function combinedSignal(...signals: Array<AbortSignal | undefined>): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 0 ? new AbortController().signal : AbortSignal.any(present);
}
