/**
 * The gradient traffic view as data: the exchanges to pick from, and for the
 * one picked, its rounds as bars (bytes per round stacked by worker, the
 * compression ratio), its workers' sums and its graph (`./traffic-graph`).
 * The rounds drawn are bounded: beyond {@link TrafficOptions.maxBars},
 * neighbouring round bins of the fold are drawn as one bar (each worker's
 * mean per round over them), so a redraw costs the same at 1,000 rounds as
 * at 100,000.
 */
import type {
  ExchangeRecord,
  ExchangeWorker,
  RoundBin,
  TelemetryState,
  TrafficSums,
} from '../../model/state';
import { picoToUsd } from '../../telemetry';
import { runTag } from './common';
import { trafficGraph } from './traffic-graph';
import type { TrafficGraph } from './traffic-graph';

/** An exchange the view can show. */
export interface TrafficChoice {
  readonly key: string;
  /** e.g. `[4] grads · allreduce`. */
  readonly label: string;
}

/**
 * One worker's traffic per bar, as means per round over the rounds the bar
 * stands for (the columns line up with {@link TrafficBars}).
 */
export interface TrafficWorkerSeries {
  readonly id: string;
  readonly rank: number;
  /** A short name: `w3`. */
  readonly label: string;
  /** Up + down. */
  readonly bytes: number[];
  readonly bytesUp: number[];
  readonly bytesDown: number[];
  /** Raw / (up + down); null where it moved nothing. */
  readonly ratio: (number | null)[];
  readonly requests: number[];
  /** USD. */
  readonly storageUsd: number[];
  /** The worker's mean ms per round. */
  readonly durationMs: number[];
}

/** The bars drawn, as columns: one bar per round, or per bin of rounds. */
export interface TrafficBars {
  /** The bar's center on the round axis, and its width in rounds. */
  readonly x: number[];
  readonly width: number[];
  /** The lowest and highest rounds seen in the bar. */
  readonly firstRound: number[];
  readonly lastRound: number[];
  /** Rounds the bar stands for (its values are means over them). */
  readonly rounds: number[];
  /** All workers' bytes per round. */
  readonly bytes: number[];
  /** Raw / (up + down) of all workers; null where nothing moved. */
  readonly ratio: (number | null)[];
  /** The slowest worker's mean ms per round. */
  readonly durationMs: number[];
}

/** What the traffic view draws. */
export interface TrafficShape {
  /** True until some run exchanged something: show {@link TRAFFIC_EMPTY_TEXT} instead. */
  readonly empty: boolean;
  /** Every exchange kept, the newest first. */
  readonly choices: TrafficChoice[];
  /** The exchange shown (null when empty). */
  readonly exchange: ExchangeRecord | null;
  /** Its choice's label. */
  readonly label: string;
  /** Rounds per bar (1: a bar per round). */
  readonly roundsPerBar: number;
  readonly bars: TrafficBars;
  /** Its workers, by rank. */
  readonly workers: TrafficWorkerSeries[];
  /** Sums over the exchange, with its rounds counted, its compression ratio and its storage cost in USD. */
  readonly totals: TrafficSums & { rounds: number; ratio: number | null; storageUsd: number };
  readonly graph: TrafficGraph;
}

/** Options of {@link trafficShape}. */
export interface TrafficOptions {
  /** The exchange to show (its key); absent or gone: the newest. */
  key?: string | null;
  /** The most bars drawn across the round axis (default {@link MAX_TRAFFIC_BARS}). */
  maxBars?: number;
  /** The most bars drawn in all, every worker's counted (default {@link MAX_TRAFFIC_CELLS}). */
  maxCells?: number;
}

/** The most bars across the round axis. */
export const MAX_TRAFFIC_BARS = 200;
/** The most bars in all (workers times bars): at 16 workers, 187 bars across. */
export const MAX_TRAFFIC_CELLS = 3000;
/** The fewest bars across however many workers there are. */
export const MIN_TRAFFIC_BARS = 16;

/** What the traffic view says before any exchange. */
export const TRAFFIC_EMPTY_TEXT =
  'No gradient traffic yet. It shows here when workers exchange gradients or state through a store ' +
  '(data-parallel training with the ModelStore).';

/** The compression ratio of sums: raw / encoded; null when nothing was encoded. */
export function compressionRatio(raw: number, encoded: number): number | null {
  return encoded > 0 ? raw / encoded : null;
}

/** A compression ratio for display: `4.00×`, `12.5×`; `–` for none. */
export function formatRatio(ratio: number | null): string {
  if (ratio === null || !Number.isFinite(ratio)) {
    return '–';
  }
  return `${ratio.toFixed(ratio < 10 ? 2 : ratio < 100 ? 1 : 0)}×`;
}

/** `w3` for `worker:3`, `ps0` for `ps:0`; other ids as they are. */
export function nodeLabel(id: string): string {
  const m = /^(worker|ps):(.*)$/.exec(id);
  return m ? `${m[1] === 'worker' ? 'w' : 'ps'}${m[2]}` : id;
}

/** Bars with no round in them yet. */
function emptyBars(): TrafficBars {
  return {
    x: [],
    width: [],
    firstRound: [],
    lastRound: [],
    rounds: [],
    bytes: [],
    ratio: [],
    durationMs: [],
  };
}

/** Shapes the traffic of one exchange of `state`. */
export function trafficShape(state: TelemetryState, options: TrafficOptions = {}): TrafficShape {
  const choices = trafficChoices(state);
  const exchange =
    (options.key ? state.exchanges.get(options.key) : undefined) ??
    (choices.length > 0 ? state.exchanges.get(choices[0].key) : undefined);
  if (!exchange) {
    return {
      empty: true,
      choices,
      exchange: null,
      label: '',
      roundsPerBar: 1,
      bars: emptyBars(),
      workers: [],
      totals: { ...zeroTotals(), rounds: 0, ratio: null, storageUsd: 0 },
      graph: trafficGraph(null),
    };
  }
  const columns = exchange.workers.length;
  const maxCells = options.maxCells ?? MAX_TRAFFIC_CELLS;
  const maxBars = Math.max(
    1,
    Math.min(options.maxBars ?? MAX_TRAFFIC_BARS, Math.max(MIN_TRAFFIC_BARS, Math.floor(maxCells / columns))),
  );
  const { bars, workers, roundsPerBar, rounds } = drawBins(exchange, maxBars);
  const t = exchange.totals;
  return {
    empty: false,
    choices,
    exchange,
    label: choices.find((c) => c.key === exchange.key)?.label ?? exchange.exchange,
    roundsPerBar,
    bars,
    workers,
    totals: {
      ...t,
      rounds,
      ratio: compressionRatio(t.rawBytes, t.bytesUp + t.bytesDown),
      storageUsd: picoToUsd(t.storagePico),
    },
    graph: trafficGraph(exchange),
  };
}

/** The exchanges of `state`, the newest first (by first event). */
export function trafficChoices(state: TelemetryState): TrafficChoice[] {
  const places = new Map<string, number>();
  let place = 0;
  for (const run of state.runs.keys()) {
    places.set(run, ++place);
  }
  return [...state.exchanges.values()]
    .sort((a, b) => b.firstSeq - a.firstSeq)
    .map((x) => {
      const run = state.runs.get(x.runId);
      const tag = run ? runTag(run, places.get(x.runId) ?? 0) : x.runId;
      return { key: x.key, label: `${tag} ${x.exchange} · ${x.strategy}` };
    });
}

function zeroTotals(): TrafficSums {
  return { bytesUp: 0, bytesDown: 0, rawBytes: 0, requests: 0, storagePico: 0, durationMs: 0, parts: 0 };
}

/** A bar being summed: per worker column, its sums over the fold's bins it covers. */
interface DrawBin {
  start: number;
  firstRound: number;
  lastRound: number;
  sums: { [K in keyof TrafficSums]: number[] };
}

/** The fold's bins grouped into at most `maxBars` bars, and the workers' series over them. */
function drawBins(
  exchange: ExchangeRecord,
  maxBars: number,
): { bars: TrafficBars; workers: TrafficWorkerSeries[]; roundsPerBar: number; rounds: number } {
  const bins = exchange.bins;
  let width = exchange.binWidth;
  const span = (w: number) =>
    bins.length === 0 ? 0 : Math.floor(bins[bins.length - 1].start / w) - Math.floor(bins[0].start / w) + 1;
  while (span(width) > maxBars) {
    width *= 2;
  }
  const columns = exchange.workers.length;
  const drawn: DrawBin[] = [];
  for (const bin of bins) {
    const start = Math.floor(bin.start / width) * width;
    let last = drawn[drawn.length - 1];
    if (!last || last.start !== start) {
      last = { start, firstRound: bin.firstRound, lastRound: bin.lastRound, sums: emptyColumns(columns) };
      drawn.push(last);
    }
    addBin(last, bin);
  }
  const order = exchange.workers
    .map((w, column) => ({ w, column }))
    .sort((a, b) => a.w.rank - b.w.rank || (a.w.id < b.w.id ? -1 : 1));
  const workers = order.map(({ w }) => emptySeries(w));
  const bars = emptyBars();
  let rounds = 0;
  for (const d of drawn) {
    const s = d.sums;
    // A worker takes part in a round once: the most parts of a worker is the rounds the bar stands for.
    const n = Math.max(1, ...s.parts);
    rounds += Math.max(...s.parts, 0);
    bars.x.push(d.start + (width - 1) / 2);
    bars.width.push(width * (width === 1 ? 0.8 : 0.92));
    bars.firstRound.push(d.firstRound);
    bars.lastRound.push(d.lastRound);
    bars.rounds.push(n);
    let up = 0;
    let down = 0;
    let raw = 0;
    let slowest = 0;
    order.forEach(({ column }, i) => {
      const series = workers[i];
      const parts = s.parts[column];
      series.bytesUp.push(s.bytesUp[column] / n);
      series.bytesDown.push(s.bytesDown[column] / n);
      series.bytes.push((s.bytesUp[column] + s.bytesDown[column]) / n);
      series.ratio.push(compressionRatio(s.rawBytes[column], s.bytesUp[column] + s.bytesDown[column]));
      series.requests.push(s.requests[column] / n);
      series.storageUsd.push(picoToUsd(s.storagePico[column]) / n);
      const ms = parts > 0 ? s.durationMs[column] / parts : 0;
      series.durationMs.push(ms);
      up += s.bytesUp[column];
      down += s.bytesDown[column];
      raw += s.rawBytes[column];
      slowest = Math.max(slowest, ms);
    });
    bars.bytes.push((up + down) / n);
    bars.ratio.push(compressionRatio(raw, up + down));
    bars.durationMs.push(slowest);
  }
  return { bars, workers, roundsPerBar: width, rounds };
}

function emptyColumns(columns: number): DrawBin['sums'] {
  const zeros = () => new Array<number>(columns).fill(0);
  return {
    bytesUp: zeros(),
    bytesDown: zeros(),
    rawBytes: zeros(),
    requests: zeros(),
    storagePico: zeros(),
    durationMs: zeros(),
    parts: zeros(),
  };
}

function addBin(into: DrawBin, bin: RoundBin): void {
  into.firstRound = Math.min(into.firstRound, bin.firstRound);
  into.lastRound = Math.max(into.lastRound, bin.lastRound);
  const s = into.sums;
  for (let c = 0; c < bin.parts.length; c++) {
    s.bytesUp[c] += bin.bytesUp[c];
    s.bytesDown[c] += bin.bytesDown[c];
    s.rawBytes[c] += bin.rawBytes[c];
    s.requests[c] += bin.requests[c];
    s.storagePico[c] += bin.storagePico[c];
    s.durationMs[c] += bin.durationMs[c];
    s.parts[c] += bin.parts[c];
  }
}

function emptySeries(w: ExchangeWorker): TrafficWorkerSeries {
  return {
    id: w.id,
    rank: w.rank,
    label: nodeLabel(w.id),
    bytes: [],
    bytesUp: [],
    bytesDown: [],
    ratio: [],
    requests: [],
    storageUsd: [],
    durationMs: [],
  };
}
