/**
 * What the panel keeps of the `exchange-round` events (telemetry protocol
 * v3): per cell run and exchange, aggregates, never the events themselves.
 * A round's parts are summed per worker into round bins; the graph's edges
 * are summed per (worker, node). Memory stays bounded however long a
 * training runs (see {@link EXCHANGE_LIMITS}): beyond a number of bins,
 * neighbouring bins pair up (the bin width doubles); beyond a number of
 * exchanges, the oldest exchange is dropped; beyond a number of edges, new
 * edges are only counted. The fold (`./exchange-fold`) applies these bounds
 * event by event, so a replay of the same events gives the same state as
 * folding them live in batches.
 */
import type { ExchangeStrategy } from '../telemetry';

/** Sums over exchange-round events (one worker's, one bin's or a whole exchange's). */
export interface TrafficSums {
  /** Encoded bytes written to the store. */
  readonly bytesUp: number;
  /** Encoded bytes read from the store. */
  readonly bytesDown: number;
  /** What up + down would have been with no codec. */
  readonly rawBytes: number;
  /** Store requests. */
  readonly requests: number;
  /**
   * What the requests cost, in whole pico-dollars (`usdToPico` of each
   * event's USD, summed as integers: exact, as the kernel's ledger sums, and
   * cheaper than summing USD). `picoToUsd` gives USD.
   */
  readonly storagePico: number;
  /** The parts' durations added up, ms. */
  readonly durationMs: number;
  /** Events summed. */
  readonly parts: number;
}

/**
 * The rounds `[start, start + width)` of an exchange, summed per worker. Each
 * per-worker field is a column indexed like {@link ExchangeRecord.workers}
 * (a column shorter than the workers list means zeros: the worker was first
 * seen later).
 */
export interface RoundBin {
  /** The first round the bin covers (a multiple of the exchange's `binWidth`). */
  readonly start: number;
  /** The lowest and highest round numbers seen in it. */
  readonly firstRound: number;
  readonly lastRound: number;
  /** Epoch ms of its first and last events. */
  readonly firstTime: number;
  readonly lastTime: number;
  readonly bytesUp: readonly number[];
  readonly bytesDown: readonly number[];
  readonly rawBytes: readonly number[];
  readonly requests: readonly number[];
  /** Pico-dollars, as {@link TrafficSums.storagePico}. */
  readonly storagePico: readonly number[];
  readonly durationMs: readonly number[];
  /** Events per worker (one per round it took part in). */
  readonly parts: readonly number[];
}

/** One worker of an exchange and its sums over every round. */
export interface ExchangeWorker extends TrafficSums {
  /** `worker:<rank>`. */
  readonly id: string;
  readonly rank: number;
}

/**
 * An edge of the exchange graph that a worker used: what it sent towards
 * `node` and read from it, over every round.
 */
export interface ExchangeEdge {
  /** The worker (`worker:<rank>`). */
  readonly worker: string;
  /** `worker:<rank>` (a leader or a shard owner) or `ps:<shard>`. */
  readonly node: string;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Rounds it was used in (links summed). */
  readonly parts: number;
}

/** One exchange (`exchange.open({ run })`) of a cell run, folded. */
export interface ExchangeRecord {
  /** `runId` and `exchange` joined by {@link exchangeKey}. */
  readonly key: string;
  readonly runId: string;
  readonly exchange: string;
  /** As the latest event said. */
  readonly strategy: ExchangeStrategy;
  readonly codec: string;
  readonly store: string;
  /** The most workers an event said the exchange has. */
  readonly workerCount: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly firstTime: number;
  readonly lastTime: number;
  readonly firstRound: number;
  readonly lastRound: number;
  /** Workers in the order first seen: the columns of the bins. */
  readonly workers: readonly ExchangeWorker[];
  /** Rounds per bin: 1, doubled whenever more bins than the limit would be kept. */
  readonly binWidth: number;
  /** Round bins, by `start`. */
  readonly bins: readonly RoundBin[];
  /** Sums over every event of the exchange. */
  readonly totals: TrafficSums;
  /** Edges by {@link edgeKey}, in the order first used. */
  readonly edges: ReadonlyMap<string, ExchangeEdge>;
  /** Links of edges left out because the exchange had {@link ExchangeLimits.maxEdges} already. */
  readonly droppedLinks: number;
}

/** Bounds of what the fold keeps of exchanges. */
export interface ExchangeLimits {
  /** Exchanges kept (the oldest first seen goes). */
  readonly maxExchanges: number;
  /** Round bins kept per exchange at most. */
  readonly maxBins: number;
  /** Bins times worker columns kept per exchange at most (fewer bins when there are many workers). */
  readonly maxBinCells: number;
  /** The fewest bins an exchange may be held to by `maxBinCells`. */
  readonly minBins: number;
  /** Edges kept per exchange. */
  readonly maxEdges: number;
}

/**
 * Default bounds: every round kept as is up to 1,024 rounds (at 16 workers
 * and at 64), then bins of 2, 4... rounds; 32 exchanges.
 */
export const EXCHANGE_LIMITS: ExchangeLimits = {
  maxExchanges: 32,
  maxBins: 1024,
  maxBinCells: 65_536,
  minBins: 64,
  maxEdges: 4096,
};

/** The key of an exchange in {@link TelemetryState.exchanges}. */
export function exchangeKey(runId: string, exchange: string): string {
  return `${runId}\u0000${exchange}`;
}

/** The key of an edge in {@link ExchangeRecord.edges}. */
export function edgeKey(worker: string, node: string): string {
  return `${worker}\u0000${node}`;
}

/** The most bins an exchange with `columns` worker columns keeps under `limits`. */
export function binCapacity(columns: number, limits: ExchangeLimits = EXCHANGE_LIMITS): number {
  const byCells = Math.floor(limits.maxBinCells / Math.max(1, columns));
  return Math.max(limits.minBins, Math.min(limits.maxBins, byCells));
}

/** Sums of nothing. */
export const ZERO_SUMS: TrafficSums = {
  bytesUp: 0,
  bytesDown: 0,
  rawBytes: 0,
  requests: 0,
  storagePico: 0,
  durationMs: 0,
  parts: 0,
};
