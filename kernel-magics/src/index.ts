/**
 * serverless-kernel: public API importable from notebook cells and from the
 * extension's shared modules.
 */
export { comms } from './comms';
export { Comm, CommMessage, CommRegistry, CommTargetHandler } from './kernel/comms';
export { display, Display } from './output/display';
export { MIME_BUNDLE } from './output/format';
export { emitEvent } from './output/events';
export { currentInvocation as invocation, InvocationContext } from './runtime/program/context';
export { input, InputOptions } from './input';
export { DISPLAY_NAME, KERNEL_NAME } from './kernel/kernel-info';
export { datasets, exchange, models, train, trainingWorker, type ModelsApi } from './lazy-cell-api';
// Errors and types only: the implementations load at the first call (see ./lazy-cell-api).
export {
  InvalidModelNameError,
  ModelFormatError,
  ModelNotFoundError,
  ModelStoreError,
  TfjsNotFoundError,
  VersionClaimError,
} from './state/errors';
export type {
  DeleteOptions,
  DeleteResult,
  ListOptions,
  LoadOptions,
  ModelStoreOptions,
  ModelVersionInfo,
  SaveOptions,
} from './state/options';
export type { ModelStore } from './state/model-store';
export type { LayersModelLike, SavableModel, TfLike } from './state/tfjs-types';
export type { StoreResolver } from './state/store-resolver';
export { DatasetChunkError, DatasetError } from './training/datasets/errors';
export type { DatasetRef } from './training/datasets/layout';
export type {
  DatasetsApi,
  LabeledTensors,
  MnistOptions,
  MnistSplits,
  TfTensorFactory,
} from './training/datasets/mnist';
export { CodecConfigError, CodecError, type Codec } from './exchange/codecs/codec';
export {
  ExchangeConfigError,
  ExchangeError,
  ExchangeMismatchError,
  ExchangeRoundGoneError,
  ExchangeTimeoutError,
} from './exchange/collectives/errors';
export type { Exchange } from './exchange/collectives/exchange';
export type { ExchangeRoundData, ExchangeStragglerData } from './exchange/collectives/events';
export type { ExchangeOptions, RoundOptions } from './exchange/collectives/options';
export type { PulledMean } from './exchange/collectives/parameter-server';
export {
  CheckpointError,
  TrainingConfigError,
  TrainingDivergedError,
  TrainingError,
  TrainingHostError,
  TrainingInterruptedError,
  TrainingWorkerError,
} from './training/errors';
export type { TrainOptions, TrainingData } from './training/options';
export type { TrainResult } from './training/train';
export type { TrainTuneRow, TrainTuning } from './training/tuning/tune-training';
export type { EpochRecord } from './training/checkpoint';
