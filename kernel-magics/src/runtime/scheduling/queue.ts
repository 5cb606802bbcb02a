/**
 * A backend's FIFO queue of invocations waiting for a concurrency slot.
 * Items that stopped waiting (cancelled while queued) are dropped when
 * reached, so cancelling one is O(1).
 */

/** Something that can wait in the queue. */
export interface Queueable {
  /** Whether it still waits (false once it was taken or ended). */
  readonly queued: boolean;
  /** Marks it waiting again (put back at the head). */
  requeue(): void;
}

/** A FIFO queue. */
export class WorkQueue<T extends Queueable> {
  private items: T[] = [];

  /** Queues an item. */
  add(item: T): void {
    this.items.push(item);
  }

  /** The first item still waiting, left in the queue. */
  first(): T | undefined {
    while (this.items.length > 0 && !this.items[0].queued) {
      this.items.shift();
    }
    return this.items[0];
  }

  /** Takes the first item still waiting. */
  take(): T | undefined {
    const item = this.first();
    if (item) {
      this.items.shift();
    }
    return item;
  }

  /** Puts items back at the head, in order (handed to an environment that never started them). */
  putBack(items: T[]): void {
    for (const item of items) {
      item.requeue();
    }
    this.items = [...items, ...this.items];
  }

  /** How many items wait. */
  count(): number {
    return this.items.filter((item) => item.queued).length;
  }

  /** The queue's length, counting items that stopped waiting and were not dropped yet. */
  get length(): number {
    return this.items.length;
  }

  /** Drops the items that stopped waiting. */
  compact(): void {
    this.items = this.items.filter((item) => item.queued);
  }
}
