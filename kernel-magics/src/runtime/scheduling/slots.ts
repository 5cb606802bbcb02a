/**
 * A concurrency limit as a FIFO of waiters: `acquire` resolves when one of
 * `limit` slots is free (in arrival order), or false when its signal aborts
 * first. Raising the limit admits waiters at once.
 */

/** Slots of a concurrency limit. */
export class Slots {
  private held = 0;
  private readonly waiters: { admit: () => void }[] = [];

  constructor(private limit: number) {}

  /** Slots in use. */
  get inUse(): number {
    return this.held;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** The limit. */
  get size(): number {
    return this.limit;
  }

  /** Waits for a slot: true once held (release it), false when `signal` aborted first (nothing held). */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) {
      return Promise.resolve(false);
    }
    if (this.held < this.limit && this.waiters.length === 0) {
      this.held += 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const waiter = {
        admit: () => {
          signal.removeEventListener('abort', onAbort);
          this.held += 1;
          resolve(true);
        },
      };
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) {
          this.waiters.splice(at, 1);
        }
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Frees a slot held by `acquire`. */
  release(): void {
    this.held = Math.max(0, this.held - 1);
    this.admit();
  }

  /** Sets the limit; waiters are admitted while slots are free. */
  resize(limit: number): void {
    this.limit = limit;
    this.admit();
  }

  private admit(): void {
    while (this.held < this.limit && this.waiters.length > 0) {
      this.waiters.shift()?.admit();
    }
  }
}
