/**
 * The telemetry hub's bounded history: events in three lanes, each a ring of
 * its own size. `exchange-round` events (one per worker per round: a long
 * data-parallel training emits tens of thousands) go to their own lane, so
 * they push out older exchange rounds only, never the runs' and
 * invocations' events a panel needs to draw them; `training-epoch` events
 * go to a third, so neither of the others pushes out a training's epochs
 * (the training chart of a panel opened late). A replay merges the lanes
 * back into `seq` order.
 */
import type { TelemetryEvent } from './protocol';

/** A ring of at most `capacity` items: once full, a push replaces the oldest. */
export class Ring<T> {
  private readonly items: T[] = [];
  /** Once full: the index of the oldest item. */
  private start = 0;
  /** Items pushed out. */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a ring's capacity must be a whole number >= 1, got ${capacity}`);
    }
  }

  push(item: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
    this.dropped += 1;
  }

  get size(): number {
    return this.items.length;
  }

  /** The items, oldest first. */
  toArray(): T[] {
    return this.start === 0
      ? this.items.slice()
      : [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }
}

/** Bounds of a {@link TelemetryHistory}. */
export interface HistoryLimits {
  /** Events other than `exchange-round` and `training-epoch` kept. */
  maxEvents: number;
  /** `exchange-round` events kept. */
  maxExchangeEvents: number;
  /** `training-epoch` events kept. */
  maxTrainingEvents: number;
}

/** The events a hub keeps for replay, in three bounded lanes. */
export class TelemetryHistory {
  private readonly main: Ring<TelemetryEvent>;
  private readonly exchange: Ring<TelemetryEvent>;
  private readonly training: Ring<TelemetryEvent>;

  constructor(limits: HistoryLimits) {
    this.main = new Ring(limits.maxEvents);
    this.exchange = new Ring(limits.maxExchangeEvents);
    this.training = new Ring(limits.maxTrainingEvents);
  }

  /** Keeps `event` (events come in `seq` order). */
  keep(event: TelemetryEvent): void {
    this.laneOf(event).push(event);
  }

  /** How many of the oldest events of any lane were dropped. */
  get dropped(): number {
    return this.main.dropped + this.exchange.dropped + this.training.dropped;
  }

  /** Events kept. */
  get size(): number {
    return this.main.size + this.exchange.size + this.training.size;
  }

  /** The kept events of every lane, in `seq` order. */
  events(): TelemetryEvent[] {
    return mergeBySeq(mergeBySeq(this.main.toArray(), this.exchange.toArray()), this.training.toArray());
  }

  private laneOf(event: TelemetryEvent): Ring<TelemetryEvent> {
    switch (event.type) {
      case 'exchange-round':
        return this.exchange;
      case 'training-epoch':
        return this.training;
      default:
        return this.main;
    }
  }
}

/** Two lists in `seq` order merged into one (one of them as is when the other is empty). */
function mergeBySeq(a: TelemetryEvent[], b: TelemetryEvent[]): TelemetryEvent[] {
  if (b.length === 0) {
    return a;
  }
  if (a.length === 0) {
    return b;
  }
  const merged: TelemetryEvent[] = new Array<TelemetryEvent>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    merged[k++] = a[i].seq < b[j].seq ? a[i++] : b[j++];
  }
  while (i < a.length) {
    merged[k++] = a[i++];
  }
  while (j < b.length) {
    merged[k++] = b[j++];
  }
  return merged;
}
