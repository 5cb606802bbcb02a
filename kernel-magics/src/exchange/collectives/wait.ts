/**
 * Waiting for other workers through the store: polls with exponential
 * backoff (from the store kind's first pause to its cap), bounded by
 * the round timeout, stopped at once by an abort, and reporting stragglers
 * once per round when the wait grows long.
 */
import { ExchangeTimeoutError, MissingWork } from './errors';
import { POLL_GROWTH } from './options';

/**
 * Resolves after `ms`, or as soon as the function `onWake` receives is
 * called, or rejects with the signal's reason as soon as it aborts; the
 * timer and the abort listener are cleared either way.
 */
export function sleep(ms: number, signal?: AbortSignal, onWake?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => {
      done();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    onWake?.(() => {
      done();
      resolve();
    });
  });
}

/** Starts watching for changes that may end a wait; returns what stops it (see ObjectStore.watch). */
export type WaitWatch = (onChange: () => void) => () => void;

/** What one poll found: the awaited value, or not yet (with, when known cheaply, who is missing). */
export type PollResult<T> = { done: true; value: T } | { done: false; missing?: MissingWork };

/** Settings of one round's waits. */
export interface RoundWaitSettings {
  exchange: string;
  round: number;
  rank: number;
  roundTimeoutS: number;
  stragglerS: number;
  initialMs: number;
  capMs: number;
  /** The longest pause while the store watches the awaited keys (a change wakes the wait sooner). */
  watchedCapMs: number;
  /**
   * How long a wait polls before it starts watching (0, the default: at
   * once). A watch costs more to set up than the few polls of a short wait;
   * it pays in long ones (a straggler), where it replaces most polls.
   */
  watchAfterMs?: number;
  signal?: AbortSignal;
  /** Called once per round when a wait has lasted `stragglerS`, with the ranks missing. */
  onStraggler(ranks: number[]): void;
}

/**
 * The clock of one worker's round: every wait in the round shares its
 * deadline and its once-only straggler report.
 */
export class RoundWaiter {
  private readonly started = Date.now();
  private stragglerReported = false;

  constructor(readonly settings: RoundWaitSettings) {}

  /** The round's signal (an interrupt); checked before and during every wait. */
  get signal(): AbortSignal | undefined {
    return this.settings.signal;
  }

  /**
   * Calls `poll` until it is done, pausing from the first pause, growing, up to the cap
   * between calls. When the straggler time passes, reports the missing ranks
   * once; when the round timeout passes, throws an {@link ExchangeTimeoutError}
   * naming them. `describe` says who is missing when a poll did not. With
   * `watch`, once the wait has lasted `watchAfterMs`, a change the store
   * reports wakes the pause at once, and pauses grow to the watched cap
   * instead (polls stay the safety net).
   */
  async until<T>(
    poll: () => Promise<PollResult<T>>,
    describe: () => Promise<MissingWork>,
    watch?: WaitWatch,
  ): Promise<T> {
    const {
      roundTimeoutS,
      stragglerS,
      initialMs,
      capMs,
      watchedCapMs,
      watchAfterMs = 0,
      signal,
    } = this.settings;
    const deadline = this.started + roundTimeoutS * 1000;
    const waitStarted = Date.now();
    // Set by the watch: a change since the last poll began (the next poll runs at once).
    let changed = false;
    let wake: (() => void) | undefined;
    let stopWatching: (() => void) | undefined;
    const startWatching = (): void => {
      stopWatching = watch?.(() => {
        changed = true;
        wake?.();
      });
    };
    if (watchAfterMs <= 0) {
      startWatching();
    }
    let pause = initialMs;
    try {
      for (;;) {
        signal?.throwIfAborted();
        changed = false;
        const result = await poll();
        if (result.done) {
          return result.value;
        }
        const now = Date.now();
        if (now >= deadline) {
          const missing = result.missing ?? (await describe());
          const { exchange, round, rank } = this.settings;
          throw new ExchangeTimeoutError(exchange, round, rank, roundTimeoutS, missing);
        }
        if (!this.stragglerReported && now - this.started >= stragglerS * 1000) {
          this.stragglerReported = true;
          const missing = result.missing ?? (await describe());
          this.settings.onStraggler(missing.ranks);
        }
        if (watch && !stopWatching && now - waitStarted >= watchAfterMs) {
          startWatching();
          // A change between the last poll and the watch's start: the next poll, at once, sees it.
          changed = true;
        }
        if (!changed) {
          await sleep(Math.min(pause, Math.max(1, deadline - now)), signal, (resolve) => (wake = resolve));
          wake = undefined;
        }
        pause = Math.min(pause * POLL_GROWTH, stopWatching ? watchedCapMs : capMs);
      }
    } finally {
      stopWatching?.();
    }
  }
}
