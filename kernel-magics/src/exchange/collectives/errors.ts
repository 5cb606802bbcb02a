/**
 * Typed errors of the exchange. Each names the exchange, the round and the
 * workers involved, and says what to do.
 */

/** Base of every exchange error. */
export class ExchangeError extends Error {
  override name = 'ExchangeError';
}

/** Options of `exchange.open` (or of a call) that cannot be used; the message says the accepted values. */
export class ExchangeConfigError extends TypeError {
  override name = 'ExchangeConfigError';
}

/** Workers disagree: vectors of different lengths, or bytes another codec made. */
export class ExchangeMismatchError extends ExchangeError {
  override name = 'ExchangeMismatchError';
}

/** A round whose result is needed again but is no longer in the store. */
export class ExchangeRoundGoneError extends ExchangeError {
  override name = 'ExchangeRoundGoneError';
}

/** What a timed-out wait was missing. */
export interface MissingWork {
  /** The ranks that had not done `action` when the wait ended (ascending). */
  ranks: number[];
  /** What they had not done, in words: `send round 3`, `reduce shard 2 of round 3`... */
  action: string;
}

/**
 * A round did not complete within `roundTimeoutS`: some workers never sent
 * their part (or a reducer never reduced). The message names them.
 */
export class ExchangeTimeoutError extends ExchangeError {
  override name = 'ExchangeTimeoutError';
  /** The workers that were missing. */
  readonly ranks: number[];

  constructor(
    readonly exchange: string,
    readonly round: number,
    readonly rank: number,
    readonly timeoutS: number,
    missing: MissingWork,
  ) {
    super(
      `exchange ${exchange}: ${describeRanks(missing.ranks)} did not ${missing.action} within ${timeoutS} s ` +
        `(worker ${rank} waited); check their output above, or raise roundTimeoutS`,
    );
    this.ranks = missing.ranks;
  }
}

/** `worker 2`, `workers 2, 5`, or `a worker` when nobody could be named. */
export function describeRanks(ranks: number[]): string {
  if (ranks.length === 0) {
    return 'a worker';
  }
  return `${ranks.length === 1 ? 'worker' : 'workers'} ${ranks.join(', ')}`;
}
