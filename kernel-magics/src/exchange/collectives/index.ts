/**
 * Collectives over an object store: all-reduce through a leader,
 * scatter-reduce, and a sharded parameter server with bounded staleness.
 */
export { createExchangeApi, defaultStoreResolver, Exchange, ExchangeApi, StoreResolver } from './exchange';
export {
  describeRanks,
  ExchangeConfigError,
  ExchangeError,
  ExchangeMismatchError,
  ExchangeRoundGoneError,
  ExchangeTimeoutError,
  MissingWork,
} from './errors';
export {
  EXCHANGE_ROUND_EVENT,
  EXCHANGE_STRAGGLER_EVENT,
  ExchangeRoundData,
  ExchangeStragglerData,
} from './events';
export { ExchangeEventSink, ExchangeOptions, POLL_PLANS, PollPlan, RoundOptions } from './options';
export { PulledMean } from './parameter-server';
export { shardBounds } from './reduce';
