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
export {
  ArtifactCache,
  type DeleteOptions,
  type DeleteResult,
  InvalidModelNameError,
  type LayersModelLike,
  type ListOptions,
  type LoadOptions,
  ModelFormatError,
  ModelNotFoundError,
  models,
  ModelStore,
  ModelStoreError,
  type ModelStoreOptions,
  type ModelVersionInfo,
  type SavableModel,
  type SaveOptions,
  type StoreResolver,
  TfjsNotFoundError,
  type TfLike,
  VersionClaimError,
} from './state';
export {
  Codec,
  CodecConfigError,
  CodecError,
  Exchange,
  exchange,
  ExchangeConfigError,
  ExchangeError,
  ExchangeMismatchError,
  ExchangeOptions,
  ExchangeRoundData,
  ExchangeRoundGoneError,
  ExchangeStragglerData,
  ExchangeTimeoutError,
  PulledMean,
  RoundOptions,
} from './exchange';
