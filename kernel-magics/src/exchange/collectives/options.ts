/**
 * The options of `exchange.open`, their defaults and their checks.
 */
import type { ObjectStore, StoreKind } from '../store/object-store';
import { Codec, CodecConfigError, parseCodec } from '../codecs';
import type { ExchangeStrategy } from '../../telemetry/protocol/events';
import { JsonObject } from '../../kernel/messages';
import { ExchangeConfigError } from './errors';

/** Where the exchange sends its events (`emitEvent` by default; tests pass their own). */
export type ExchangeEventSink = (type: string, data: JsonObject) => void;

/** Options of `exchange.open`. */
export interface ExchangeOptions {
  /** The exchange's name, unique within the cell run (letters, digits, `.`, `_`, `=`, `-`). Default `default`. */
  run?: string;
  /** This worker, in [0, workers). */
  rank: number;
  /** How many workers take part. */
  workers: number;
  /**
   * The store to exchange through: a store, or a store URL (`redis://...`,
   * `s3://...`); default: the one the kernel configured (`--store`).
   */
  store?: ObjectStore | string;
  /**
   * The collective this exchange uses: `allreduce`, `scatter-reduce` or
   * `parameter-server`. Default: set by the first call (allreduce(),
   * scatterReduce(), push()/pull()); calls of another collective then throw.
   */
  strategy?: ExchangeStrategy;
  /** `none` (default), `fp16` or `topk:<fraction>` (with error feedback), or a {@link Codec}. */
  codec?: string | Codec;
  /** Parameter server: how many rounds a worker may run ahead of the slowest (default 0: synchronous). */
  staleness?: number;
  /** How long a round may wait for the other workers, seconds (default 60). */
  roundTimeoutS?: number;
  /** After this long waiting in a round, report the missing workers as stragglers, seconds (default half the round timeout). */
  stragglerS?: number;
  /** Parameter server: into how many shards (store objects) a vector is cut (default min(workers, 4)). */
  shards?: number;
  /** The cell run the keys live under; default the current invocation's run id, `local` outside an invocation. */
  cellRunId?: string;
  /** Aborts every wait and store call of the exchange (an interrupt). */
  signal?: AbortSignal;
  /** Receives the exchange's events instead of `emitEvent` (tests). */
  onEvent?: ExchangeEventSink;
}

/** Options of one round's call. */
export interface RoundOptions {
  /** The round's number: 0, 1, 2... in order. A round already reduced is reused, never applied twice. */
  round: number;
  /** Aborts this call's waits. */
  signal?: AbortSignal;
}

/** Options with defaults applied and checked. */
export interface ResolvedOptions {
  run: string;
  rank: number;
  workers: number;
  strategy?: ExchangeStrategy;
  codec: Codec;
  staleness: number;
  roundTimeoutS: number;
  stragglerS: number;
  shards: number;
  cellRunId: string;
  signal?: AbortSignal;
}

/** The strategies, as accepted by `strategy`. */
export const STRATEGIES: readonly ExchangeStrategy[] = ['allreduce', 'scatter-reduce', 'parameter-server'];

const DEFAULT_ROUND_TIMEOUT_S = 60;
const DEFAULT_MAX_SHARDS = 4;
const NAME = /^[A-Za-z0-9._=-]+$/;

/** Applies defaults and checks every option; throws an {@link ExchangeConfigError} saying what is accepted. */
export function resolveOptions(options: ExchangeOptions, cellRunId: string): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ExchangeConfigError('exchange.open(options): options must be an object with rank and workers');
  }
  const workers = integer(options.workers, 'workers', 1);
  const rank = integer(options.rank, 'rank', 0);
  if (rank >= workers) {
    throw new ExchangeConfigError(
      `exchange.open: rank must be in [0, workers) = [0, ${workers}), got ${rank}`,
    );
  }
  const run = name(options.run ?? 'default', 'run');
  const strategy = options.strategy;
  if (strategy !== undefined && !STRATEGIES.includes(strategy)) {
    throw new ExchangeConfigError(
      `exchange.open: strategy must be one of ${STRATEGIES.map((s) => `'${s}'`).join(', ')}; got ${JSON.stringify(strategy)}`,
    );
  }
  let codec: Codec;
  try {
    codec = parseCodec(options.codec ?? 'none');
  } catch (error) {
    if (error instanceof CodecConfigError) {
      throw new ExchangeConfigError(`exchange.open: ${error.message}`, { cause: error });
    }
    throw error;
  }
  const roundTimeoutS = positive(options.roundTimeoutS ?? DEFAULT_ROUND_TIMEOUT_S, 'roundTimeoutS');
  const stragglerS = positive(options.stragglerS ?? roundTimeoutS / 2, 'stragglerS');
  return {
    run,
    rank,
    workers,
    strategy,
    codec,
    staleness: integer(options.staleness ?? 0, 'staleness', 0),
    roundTimeoutS,
    stragglerS,
    shards: integer(options.shards ?? Math.min(workers, DEFAULT_MAX_SHARDS), 'shards', 1),
    cellRunId: name(options.cellRunId ?? cellRunId, 'cellRunId'),
    signal: options.signal,
  };
}

/** Checks a round number: an integer >= 0. */
export function checkRound(round: unknown, call: string): number {
  if (typeof round !== 'number' || !Number.isSafeInteger(round) || round < 0) {
    throw new ExchangeConfigError(
      `${call}: { round } must be an integer >= 0 (0, 1, 2... in order); got ${String(round)}`,
    );
  }
  return round;
}

function integer(value: unknown, option: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ExchangeConfigError(
      `exchange.open: ${option} must be an integer >= ${min}; got ${String(value)}`,
    );
  }
  return value;
}

function positive(value: unknown, option: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ExchangeConfigError(
      `exchange.open: ${option} must be a number of seconds > 0; got ${String(value)}`,
    );
  }
  return value;
}

function name(value: unknown, option: string): string {
  if (
    typeof value !== 'string' ||
    !NAME.test(value) ||
    value === '.' ||
    value === '..' ||
    value.length > 200
  ) {
    throw new ExchangeConfigError(
      `exchange.open: ${option} must be 1-200 letters, digits, '.', '_', '=' or '-'; got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** How a store is polled: the first pause, the backoff cap and how many GETs one LIST costs. */
export interface PollPlan {
  /** The first pause between two polls, ms (grown by {@link POLL_GROWTH} each time up to the cap). */
  initialMs: number;
  /** The longest pause between two polls, ms. */
  capMs: number;
  /** The longest pause while the store watches the keys awaited (its changes wake a wait at once). */
  watchedCapMs: number;
  /** How long a wait polls before it starts watching (see RoundWaitSettings.watchAfterMs). */
  watchAfterMs: number;
  /** What one LIST costs, in GETs: polling lists instead of getting each missing key when more keys than this are missing. */
  listInGets: number;
}

/**
 * Per store kind. The embedded store and Redis charge nothing per request
 * and answer in well under a millisecond, so they are polled every few ms
 * (a round's end is seen at once; a poll is a readdir or a SCAN) and listed
 * as soon as it saves a request. S3 bills each request (a LIST as much as
 * twelve and a half GETs): it is polled at most four times a second once a
 * wait grows long (so a worker waiting an hour costs about 14,400 requests,
 * $0.07 at LIST prices) and listed only when many keys are missing. Its
 * polls start a few tens of ms apart, about what one request takes: polling
 * faster only piles up requests (each billed, and each loading the server
 * that the other workers are writing to) for a gain of a few ms on a wait.
 * The embedded store and Redis report changes (inotify; PUBLISH), which
 * wake a wait at once: while they watch, polling is only the safety net.
 * A wait starts watching once it has lasted 50 ms: shorter ones poll, as
 * setting up a watch costs more than their few polls (bench/exchange).
 */
export const POLL_PLANS: Record<StoreKind, PollPlan> = {
  embedded: { initialMs: 1, capMs: 4, watchedCapMs: 25, watchAfterMs: 50, listInGets: 1 },
  redis: { initialMs: 1, capMs: 4, watchedCapMs: 25, watchAfterMs: 50, listInGets: 1 },
  s3: { initialMs: 20, capMs: 250, watchedCapMs: 250, watchAfterMs: 0, listInGets: 12.5 },
};

/**
 * How much each pause grows over the one before: slowly, so that a round's
 * end is seen at most about a quarter of the time already waited late (a
 * doubling backoff can add as much as it waited), for a few more polls.
 */
export const POLL_GROWTH = 1.25;
