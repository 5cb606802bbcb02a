/**
 * The telemetry hub's bounded history: events in two lanes, each a ring of
 * its own size. `exchange-round` events (one per worker per round: a long
 * data-parallel training emits tens of thousands) go to their own lane, so
 * they push out older exchange rounds only, never the runs' and
 * invocations' events a panel needs to draw them. A replay merges the lanes
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
  /** Events other than `exchange-round` kept. */
  maxEvents: number;
  /** `exchange-round` events kept. */
  maxExchangeEvents: number;
}

/** The events a hub keeps for replay, in two bounded lanes. */
export class TelemetryHistory {
  private readonly main: Ring<TelemetryEvent>;
  private readonly exchange: Ring<TelemetryEvent>;

  constructor(limits: HistoryLimits) {
    this.main = new Ring(limits.maxEvents);
    this.exchange = new Ring(limits.maxExchangeEvents);
  }

  /** Keeps `event` (events come in `seq` order). */
  keep(event: TelemetryEvent): void {
    (event.type === 'exchange-round' ? this.exchange : this.main).push(event);
  }

  /** How many of the oldest events of either lane were dropped. */
  get dropped(): number {
    return this.main.dropped + this.exchange.dropped;
  }

  /** Events kept. */
  get size(): number {
    return this.main.size + this.exchange.size;
  }

  /** The kept events of both lanes, in `seq` order. */
  events(): TelemetryEvent[] {
    const a = this.main.toArray();
    const b = this.exchange.toArray();
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
}
