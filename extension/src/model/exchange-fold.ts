/**
 * Folds `exchange-round` events into {@link ExchangeRecord}s: per event, its
 * worker's sums, its round's bin and the edges of its links, copying each
 * container and record on its first write in a fold (a fold never changes
 * the state it was given, and shares what its events did not touch). The
 * bounds of `./exchange-state` are applied event by event, so folding the
 * same events gives the same records however they were batched.
 */
import { usdToPico } from '../telemetry';
import type { ExchangeRoundEvent } from '../telemetry';
import { type Mutable, ownField } from './draft';
import {
  binCapacity,
  edgeKey,
  EXCHANGE_LIMITS,
  ExchangeEdge,
  ExchangeLimits,
  ExchangeRecord,
  exchangeKey,
  ExchangeWorker,
  RoundBin,
  TrafficSums,
  ZERO_SUMS,
} from './exchange-state';

/** The per-worker columns of a {@link RoundBin}. */
const COLUMNS = [
  'bytesUp',
  'bytesDown',
  'rawBytes',
  'requests',
  'storagePico',
  'durationMs',
  'parts',
] as const;

type Column = (typeof COLUMNS)[number];

/** A bin this draft owns: its columns writable. */
type OwnedBin = Mutable<Omit<RoundBin, Column>> & { [C in Column]: number[] };

/** The exchanges of a state being folded. */
export class ExchangeDraft {
  constructor(
    private readonly base: ReadonlyMap<string, ExchangeRecord>,
    /** Exchanges dropped before this fold. */
    public dropped: number,
    private readonly limits: ExchangeLimits = EXCHANGE_LIMITS,
  ) {}

  /** The exchanges folded so far. */
  get exchanges(): ReadonlyMap<string, ExchangeRecord> {
    return this.map ?? this.base;
  }

  /** Folds one event. */
  apply(e: ExchangeRoundEvent): void {
    const rec = this.record(e);
    rec.strategy = e.strategy;
    rec.codec = e.codec;
    rec.store = e.store;
    rec.workerCount = Math.max(rec.workerCount, e.workers);
    rec.lastSeq = e.seq;
    rec.firstTime = Math.min(rec.firstTime, e.time);
    rec.lastTime = Math.max(rec.lastTime, e.time);
    rec.firstRound = Math.min(rec.firstRound, e.round);
    rec.lastRound = Math.max(rec.lastRound, e.round);
    const pico = usdToPico(e.storageUsd);
    addEvent(this.own(rec, 'totals'), e, pico);
    const columns = rec.workers.length;
    const column = this.worker(rec, e, pico);
    const bin = this.bin(rec, e.round, e.time);
    const width = rec.workers.length;
    if (bin.parts.length < width) {
      // Every column of a bin has the same length: pad them together.
      for (const name of COLUMNS) {
        pad(bin[name], width);
      }
    }
    bin.bytesUp[column] += e.bytesUp;
    bin.bytesDown[column] += e.bytesDown;
    bin.rawBytes[column] += e.rawBytes;
    bin.requests[column] += e.requests;
    bin.storagePico[column] += pico;
    bin.durationMs[column] += e.durationMs;
    bin.parts[column] += 1;
    this.links(rec, e);
    if (width !== columns || bin.parts[column] === 1) {
      // A new worker or a new bin: the bins may be over the limit.
      this.bound(rec);
    }
  }

  private map: Map<string, ExchangeRecord> | undefined;
  /** Records, containers and bins this draft copied or made, free to mutate. */
  private readonly owned = new Set<object>();
  /** The edges this draft owns, per exchange key, worker and node. */
  private readonly edgeCache = new Map<string, Map<string, Map<string, Mutable<ExchangeEdge>>>>();
  /** The last record folded into (most events follow one of the same exchange). */
  private last: Mutable<ExchangeRecord> | undefined;
  /** The column of each worker id, per exchange key (built once per fold and exchange). */
  private readonly columns = new Map<string, Map<string, number>>();

  /** The event's exchange, owned (made, or copied on first write). */
  private record(e: ExchangeRoundEvent): Mutable<ExchangeRecord> {
    const last = this.last;
    if (last && last.runId === e.runId && last.exchange === e.exchange) {
      return last;
    }
    const key = exchangeKey(e.runId, e.exchange);
    this.map ??= new Map(this.base);
    const known = this.map.get(key);
    if (known && this.owned.has(known)) {
      this.last = known as Mutable<ExchangeRecord>;
      return this.last;
    }
    if (!known && this.map.size >= this.limits.maxExchanges) {
      // The oldest first seen goes (a Map iterates in insertion order).
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.columns.delete(oldest);
      this.edgeCache.delete(oldest);
      this.dropped += 1;
    }
    const rec: Mutable<ExchangeRecord> = known
      ? { ...known }
      : {
          key,
          runId: e.runId,
          exchange: e.exchange,
          strategy: e.strategy,
          codec: e.codec,
          store: e.store,
          workerCount: e.workers,
          firstSeq: e.seq,
          lastSeq: e.seq,
          firstTime: e.time,
          lastTime: e.time,
          firstRound: e.round,
          lastRound: e.round,
          workers: [],
          binWidth: 1,
          bins: [],
          totals: ZERO_SUMS,
          edges: new Map(),
          droppedLinks: 0,
        };
    this.owned.add(rec);
    this.map.set(key, rec);
    this.last = rec;
    return rec;
  }

  /** Adds the event to its worker's sums; returns the worker's column. */
  private worker(rec: Mutable<ExchangeRecord>, e: ExchangeRoundEvent, pico: number): number {
    let index = this.columns.get(rec.key);
    if (!index) {
      index = new Map(rec.workers.map((w, i) => [w.id, i]));
      this.columns.set(rec.key, index);
    }
    const workers = this.ownArray(rec, 'workers');
    let column = index.get(e.workerId);
    if (column === undefined) {
      column = workers.length;
      const worker: ExchangeWorker = { id: e.workerId, rank: e.rank, ...ZERO_SUMS };
      this.owned.add(worker);
      workers.push(worker);
      index.set(e.workerId, column);
    } else if (!this.owned.has(workers[column])) {
      workers[column] = { ...workers[column] };
      this.owned.add(workers[column]);
    }
    addEvent(workers[column] as Mutable<ExchangeWorker>, e, pico);
    return column;
  }

  /** The bin of `round`, owned (made when new, in its place by start). */
  private bin(rec: Mutable<ExchangeRecord>, round: number, time: number): OwnedBin {
    const bins = this.ownArray(rec, 'bins');
    const start = Math.floor(round / rec.binWidth) * rec.binWidth;
    // Rounds mostly come in order: look from the end.
    let at = bins.length - 1;
    while (at >= 0 && bins[at].start > start) {
      at -= 1;
    }
    if (at >= 0 && bins[at].start === start) {
      const bin = this.ownBin(bins, at);
      bin.firstRound = Math.min(bin.firstRound, round);
      bin.lastRound = Math.max(bin.lastRound, round);
      bin.firstTime = Math.min(bin.firstTime, time);
      bin.lastTime = Math.max(bin.lastTime, time);
      return bin;
    }
    const bin = this.newBin(start, round, time);
    bins.splice(at + 1, 0, bin);
    return bin;
  }

  /** Adds the event's links to the exchange's edges. */
  private links(rec: Mutable<ExchangeRecord>, e: ExchangeRoundEvent): void {
    if (e.links.length === 0) {
      return;
    }
    let edges = rec.edges as Map<string, ExchangeEdge>;
    if (!this.owned.has(edges)) {
      edges = new Map(edges);
      this.owned.add(edges);
      rec.edges = edges;
    }
    // The worker's edges owned by this draft, by node: most links find theirs here, with no key to build.
    let byWorker = this.edgeCache.get(rec.key);
    if (!byWorker) {
      byWorker = new Map();
      this.edgeCache.set(rec.key, byWorker);
    }
    let mine = byWorker.get(e.workerId);
    if (!mine) {
      mine = new Map();
      byWorker.set(e.workerId, mine);
    }
    for (const link of e.links) {
      let edge = mine.get(link.node);
      if (!edge) {
        const key = edgeKey(e.workerId, link.node);
        const known = edges.get(key);
        if (!known && edges.size >= this.limits.maxEdges) {
          rec.droppedLinks += 1;
          continue;
        }
        edge = known
          ? { ...known }
          : { worker: e.workerId, node: link.node, bytesUp: 0, bytesDown: 0, parts: 0 };
        edges.set(key, edge);
        mine.set(link.node, edge);
      }
      edge.bytesUp += link.bytesUp;
      edge.bytesDown += link.bytesDown;
      edge.parts += 1;
    }
  }

  /** Pairs neighbouring bins up (doubling the width) while there are more than the exchange may keep. */
  private bound(rec: Mutable<ExchangeRecord>): void {
    const capacity = binCapacity(rec.workers.length, this.limits);
    while (rec.bins.length > capacity) {
      const width = rec.binWidth * 2;
      const merged: OwnedBin[] = [];
      for (const bin of rec.bins) {
        const start = Math.floor(bin.start / width) * width;
        const last = merged[merged.length - 1];
        if (last && last.start === start) {
          mergeInto(last, bin);
        } else {
          const copy = this.copyBin(bin);
          copy.start = start;
          merged.push(copy);
        }
      }
      this.owned.add(merged);
      rec.bins = merged;
      rec.binWidth = width;
    }
  }

  private newBin(start: number, round: number, time: number): OwnedBin {
    const bin: OwnedBin = {
      start,
      firstRound: round,
      lastRound: round,
      firstTime: time,
      lastTime: time,
      bytesUp: [],
      bytesDown: [],
      rawBytes: [],
      requests: [],
      storagePico: [],
      durationMs: [],
      parts: [],
    };
    this.owned.add(bin);
    return bin;
  }

  private copyBin(bin: RoundBin): OwnedBin {
    const copy: OwnedBin = {
      ...bin,
      bytesUp: bin.bytesUp.slice(),
      bytesDown: bin.bytesDown.slice(),
      rawBytes: bin.rawBytes.slice(),
      requests: bin.requests.slice(),
      storagePico: bin.storagePico.slice(),
      durationMs: bin.durationMs.slice(),
      parts: bin.parts.slice(),
    };
    this.owned.add(copy);
    return copy;
  }

  private ownBin(bins: RoundBin[], at: number): OwnedBin {
    const bin = bins[at];
    if (this.owned.has(bin)) {
      return bin as OwnedBin;
    }
    const copy = this.copyBin(bin);
    bins[at] = copy;
    return copy;
  }

  /** The object `record[key]`, copied once by this draft so it can be mutated. */
  private own<R, K extends keyof R>(record: R, key: K): Mutable<R[K]> {
    return ownField(this.owned, record, key);
  }

  /** The array `record[key]`, copied once by this draft so it can be mutated. */
  private ownArray<K extends 'workers' | 'bins'>(
    record: Mutable<ExchangeRecord>,
    key: K,
  ): ExchangeRecord[K] extends readonly (infer T)[] ? T[] : never {
    type Out = ExchangeRecord[K] extends readonly (infer T)[] ? T[] : never;
    const value = record[key];
    if (this.owned.has(value)) {
      return value as Out;
    }
    const copy = value.slice() as Out;
    this.owned.add(copy);
    record[key] = copy as ExchangeRecord[K];
    return copy;
  }
}

/** Adds an event's figures to `sums` (`pico`: its storage cost in pico-dollars). */
function addEvent(sums: Mutable<TrafficSums>, e: ExchangeRoundEvent, pico: number): void {
  sums.bytesUp += e.bytesUp;
  sums.bytesDown += e.bytesDown;
  sums.rawBytes += e.rawBytes;
  sums.requests += e.requests;
  sums.storagePico += pico;
  sums.durationMs += e.durationMs;
  sums.parts += 1;
}

/** Pads `values` with zeros to `length`. */
function pad(values: number[], length: number): void {
  while (values.length < length) {
    values.push(0);
  }
}

/** Adds `from`'s sums into `into` (an owned bin of the same or a wider range). */
function mergeInto(into: OwnedBin, from: RoundBin): void {
  into.firstRound = Math.min(into.firstRound, from.firstRound);
  into.lastRound = Math.max(into.lastRound, from.lastRound);
  into.firstTime = Math.min(into.firstTime, from.firstTime);
  into.lastTime = Math.max(into.lastTime, from.lastTime);
  for (const name of COLUMNS) {
    const target = into[name];
    const source = from[name];
    for (let i = 0; i < source.length; i++) {
      const value = i < target.length ? target[i] : 0;
      target[i] = value + source[i];
    }
  }
}
