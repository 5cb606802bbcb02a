/** Bounded waits: every wait in the runtime ends, by its event, an abort or a deadline. */

/** Resolves after `ms`, or at once when one of `signals` aborts. */
export function pause(ms: number, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const signal of signals) {
        signal.removeEventListener('abort', done);
      }
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const signal of signals) {
      signal.addEventListener('abort', done, { once: true });
    }
  });
}

/** Resolves when `promise` settles or after `ms`, whichever is first. */
export async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
