/**
 * Items grouped by the AbortSignal they were submitted with, one abort
 * listener per signal: a map of 1,000 elements shares one signal, so it
 * costs one listener, not 1,000.
 */

/** Something submitted with a signal. */
export interface Abortable {
  readonly signal: AbortSignal;
}

/** The items of each signal, until they end. */
export class AbortGroups<T extends Abortable> {
  private readonly groups = new Map<AbortSignal, { items: Set<T>; onAbort(): void }>();

  /** Calls `onAbort` with the items of a signal still tracked when it aborts. */
  constructor(private readonly onAbort: (items: T[]) => void) {}

  /** Tracks an item until `untrack`. */
  track(item: T): void {
    let group = this.groups.get(item.signal);
    if (!group) {
      const items = new Set<T>();
      group = { items, onAbort: () => this.onAbort([...items]) };
      this.groups.set(item.signal, group);
      item.signal.addEventListener('abort', group.onAbort, { once: true });
    }
    group.items.add(item);
  }

  /** Stops tracking an item (it ended); a signal without items loses its listener. */
  untrack(item: T): void {
    const group = this.groups.get(item.signal);
    if (group?.items.delete(item) && group.items.size === 0) {
      item.signal.removeEventListener('abort', group.onAbort);
      this.groups.delete(item.signal);
    }
  }

  /** Every item tracked. */
  all(): T[] {
    return [...this.groups.values()].flatMap((group) => [...group.items]);
  }
}
