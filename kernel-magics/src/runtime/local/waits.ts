/** Bounded waits: every wait in the runtime ends, by its event, an abort or a deadline. */

/** Resolves when `promise` settles or after `ms`, whichever is first. */
export async function atMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
