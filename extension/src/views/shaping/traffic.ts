/**
 * The gradient traffic view as data: bytes moved per exchange round, per
 * worker and per store, and the throughput of each round; an empty state
 * until a run exchanges anything.
 */
import type { ExchangeRecord, TelemetryState } from '../../model/state';
import { runTag } from './common';

/** One exchange round of a run (its workers' parts summed). */
export interface TrafficRound {
  readonly runId: string;
  /** `[n] r<round>`: the run's tag and the round number. */
  readonly label: string;
  readonly round: number;
  /** Epoch ms of its first event. */
  readonly time: number;
  /** Workers that took part (0 when the round is not per worker). */
  readonly workers: number;
  /** The stores it went through, comma-separated. */
  readonly stores: string;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** The longest part, ms (the workers' parts run side by side). */
  readonly durationMs: number;
  /** (up + down) bytes per second of `durationMs`; 0 when it took no time. */
  readonly throughputBps: number;
}

/** Bytes moved by one worker or through one store. */
export interface TrafficTotal {
  /** The worker id (`''` for parts not per worker) or the store. */
  readonly key: string;
  readonly label: string;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Exchange events counted. */
  readonly parts: number;
}

/** What the traffic view draws. */
export interface TrafficShape {
  /** True until some run exchanged something: show {@link TRAFFIC_EMPTY_TEXT} instead. */
  readonly empty: boolean;
  readonly rounds: TrafficRound[];
  readonly byWorker: TrafficTotal[];
  readonly byStore: TrafficTotal[];
  readonly totals: { bytesUp: number; bytesDown: number; rounds: number };
  /** The rounds as columns, for a chart of bytes and throughput per round. */
  readonly series: {
    label: string[];
    time: number[];
    bytesUp: number[];
    bytesDown: number[];
    throughputBps: number[];
  };
}

/** What the traffic view says before any exchange. */
export const TRAFFIC_EMPTY_TEXT =
  'No gradient traffic yet. It shows here when workers exchange gradients or state through a store ' +
  '(data-parallel training with the ModelStore).';

/** Shapes the traffic of `state`, of one run when `runId` is given. */
export function trafficShape(state: TelemetryState, runId?: string): TrafficShape {
  const tags = new Map<string, string>();
  let place = 0;
  for (const run of state.runs.values()) {
    place += 1;
    tags.set(run.runId, runTag(run, place));
  }
  interface Acc {
    first: ExchangeRecord;
    workers: Set<string>;
    stores: Set<string>;
    up: number;
    down: number;
    ms: number;
  }
  const rounds = new Map<string, Acc>();
  const workers = new Map<string, { up: number; down: number; parts: number }>();
  const stores = new Map<string, { up: number; down: number; parts: number }>();
  const total = (map: typeof workers, key: string, e: ExchangeRecord) => {
    const t = map.get(key) ?? { up: 0, down: 0, parts: 0 };
    t.up += e.bytesUp;
    t.down += e.bytesDown;
    t.parts += 1;
    map.set(key, t);
  };
  for (const e of state.exchanges) {
    if (runId && e.runId !== runId) {
      continue;
    }
    const key = `${e.runId}\u0000${e.round}`;
    let acc = rounds.get(key);
    if (!acc) {
      acc = { first: e, workers: new Set(), stores: new Set(), up: 0, down: 0, ms: 0 };
      rounds.set(key, acc);
    }
    if (e.workerId !== undefined) {
      acc.workers.add(e.workerId);
    }
    acc.stores.add(e.store);
    acc.up += e.bytesUp;
    acc.down += e.bytesDown;
    acc.ms = Math.max(acc.ms, e.durationMs);
    total(workers, e.workerId ?? '', e);
    total(stores, e.store, e);
  }
  const shaped: TrafficRound[] = [...rounds.values()].map((acc) => ({
    runId: acc.first.runId,
    label: `${tags.get(acc.first.runId) ?? acc.first.runId} r${acc.first.round}`,
    round: acc.first.round,
    time: acc.first.time,
    workers: acc.workers.size,
    stores: [...acc.stores].join(', '),
    bytesUp: acc.up,
    bytesDown: acc.down,
    durationMs: acc.ms,
    throughputBps: acc.ms > 0 ? ((acc.up + acc.down) * 1000) / acc.ms : 0,
  }));
  const totals = (map: typeof workers, label: (key: string) => string): TrafficTotal[] =>
    [...map].map(([key, t]) => ({
      key,
      label: label(key),
      bytesUp: t.up,
      bytesDown: t.down,
      parts: t.parts,
    }));
  return {
    empty: shaped.length === 0,
    rounds: shaped,
    byWorker: totals(workers, (key) => (key === '' ? 'whole rounds' : key)),
    byStore: totals(stores, (key) => key),
    totals: {
      bytesUp: shaped.reduce((sum, r) => sum + r.bytesUp, 0),
      bytesDown: shaped.reduce((sum, r) => sum + r.bytesDown, 0),
      rounds: shaped.length,
    },
    series: {
      label: shaped.map((r) => r.label),
      time: shaped.map((r) => r.time),
      bytesUp: shaped.map((r) => r.bytesUp),
      bytesDown: shaped.map((r) => r.bytesDown),
      throughputBps: shaped.map((r) => r.throughputBps),
    },
  };
}
