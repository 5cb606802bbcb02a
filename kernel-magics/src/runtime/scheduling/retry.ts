/**
 * The one retry policy of every backend: what is retried, how often, and
 * how long to wait between attempts. Bounded by construction: at most
 * MAX_RETRIES retries, each after a capped exponential backoff.
 */
import type { AttemptStatus } from '../backend';

/** The most retries any invocation gets, whatever it asks for. */
export const MAX_RETRIES = 10;

/**
 * What is retried: only crashes (the environment died for no reason of the
 * program's: a signal, a lost channel, a throttled or failed platform call).
 * Errors thrown by the program are its answer; timeouts and out-of-memory are
 * deterministic resource limits that a retry with the same limits would hit
 * again, so they are reported at once.
 */
export const RETRIED_STATUSES: readonly AttemptStatus[] = ['crashed'];

/** A backend's backoff between attempts. */
export interface Backoff {
  /** Delay before the first retry, ms; doubles per retry. */
  baseMs: number;
  /** Longest delay, ms. */
  maxMs: number;
}

/**
 * How long to wait before retrying after attempt `attempt` (1-based) ended
 * with `status`, or undefined when the invocation ends with it: not a
 * retried status, or `retries` used up. The wait is {@link backoffDelay}'s.
 */
export function retryDelay(
  status: AttemptStatus,
  attempt: number,
  retries: number,
  backoff: Backoff,
  random: () => number = Math.random,
): number | undefined {
  const allowed = Number.isFinite(retries) ? Math.min(MAX_RETRIES, Math.max(0, Math.floor(retries))) : 0;
  if (!RETRIED_STATUSES.includes(status) || attempt > allowed) {
    return undefined;
  }
  return backoffDelay(attempt, backoff, random);
}

/**
 * The wait after failed attempt `attempt` (1-based): `baseMs` doubled per
 * attempt up to `maxMs`, with "equal jitter" (half the delay fixed, half
 * random), so that retries of a burst that failed together do not hit the
 * platform together again. Every retry of the runtime waits this way.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const delay = Math.min(backoff.maxMs, backoff.baseMs * 2 ** (attempt - 1));
  return delay * (0.5 + random() / 2);
}
