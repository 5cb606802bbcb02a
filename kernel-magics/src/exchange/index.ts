/**
 * Exchanging float32 vectors between the workers of a `--map` run through
 * an object store: `exchange.open({ run, rank, workers, ... })`, codecs, and
 * the stores.
 */
import { createExchangeApi, ExchangeApi } from './collectives';

export * from './collectives';
export { Codec, CodecConfigError, CodecError, parseCodec } from './codecs';

/**
 * The exchange API for cells: `await exchange.open({ run, rank, workers })`
 * in a `--map` body gives `allreduce`, `scatterReduce`, `push`/`pull`.
 */
export const exchange: ExchangeApi = createExchangeApi();
