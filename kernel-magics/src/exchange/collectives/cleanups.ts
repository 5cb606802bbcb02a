/**
 * Removing what nothing needs any more (the contributions a published mean
 * was reduced from) in the background: a round does not wait for its
 * deletes; they overlap with the rest of the round and with the next call,
 * which waits only for the removals of the calls before the previous one
 * (so at most two calls' removals are ever in flight), and close waits for
 * all of them. A removal that fails only leaves garbage for the run's
 * cleanup (the kernel removes a cell run's keys when it ends), so failures
 * are dropped here.
 */
export class Cleanups {
  /** Each removal running, with the call it was started in. */
  private readonly pending = new Map<Promise<void>, number>();
  private call = 0;

  /** Runs `work` in the background; its failure is ignored. */
  add(work: Promise<unknown>): void {
    const tracked: Promise<void> = work
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => this.pending.delete(tracked));
    this.pending.set(tracked, this.call);
  }

  /** Starts a call: resolves once the removals started before the previous call are done. */
  async nextCall(): Promise<void> {
    const older = [...this.pending].filter(([, call]) => call < this.call).map(([work]) => work);
    this.call += 1;
    await Promise.all(older);
  }

  /** Resolves once nothing added is still running. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) {
      await Promise.all([...this.pending.keys()]);
    }
  }
}
