/**
 * Where an exchange keeps things in the store. Everything lives under
 * `exchange/<cellRunId>/<run>/`, so the kernel removes a cell run's
 * exchanges with one prefix when the run ends:
 * - `ar/<round>/from-<rank>`, `ar/<round>/mean`: all-reduce contributions and the leader's mean;
 * - `sr/<round>/from-<rank>`, `sr/<round>/mean/<shard>`: scatter-reduce with a codec of fixed
 *   lengths, a worker's pieces of every other shard packed in one object (see `packed.ts`), and the
 *   means side by side, so that gathering them lists one folder;
 * - `sr/<round>/<shard>/from-<rank>`: scatter-reduce with a codec of varying lengths (`topk`), one
 *   object per piece;
 * - `ps/<round>/<shard>/from-<rank>`, `ps/<round>/<shard>/mean`, `ps/<round>/<shard>/claim`: parameter server;
 *   `ps/<round>/from-<rank>` a worker's push of every shard packed in one object (synchronous rounds, a
 *   codec of fixed lengths);
 * - `state/<rank>`: a worker's error-feedback residuals, written when it closes.
 * Round first, then shard: one LIST of a round's prefix shows every part of it.
 */

const FROM = 'from-';

/** The keys of one exchange. */
export class ExchangeKeys {
  /** `exchange/<cellRunId>/<run>` */
  readonly base: string;

  constructor(cellRunId: string, run: string) {
    this.base = `exchange/${cellRunId}/${run}`;
  }

  /** The prefix of a round of `kind` (`ar`, `sr`, `ps`), ending in `/`. */
  round(kind: RoundKind, round: number): string {
    return `${this.base}/${kind}/${round}/`;
  }

  /** The prefix of one shard of a round, ending in `/` (`ar` has one shard, with no segment of its own). */
  shard(kind: RoundKind, round: number, shard: number): string {
    return kind === 'ar' ? this.round(kind, round) : `${this.round(kind, round)}${shard}/`;
  }

  /** A worker's contribution to a shard of a round. */
  contribution(kind: RoundKind, round: number, shard: number, rank: number): string {
    return `${this.shard(kind, round, shard)}${FROM}${rank}`;
  }

  /** A worker's packed contribution to a round (every shard's piece but its own, in one object). */
  packed(kind: RoundKind, round: number, rank: number): string {
    return `${this.round(kind, round)}${FROM}${rank}`;
  }

  /** The reduced mean of a shard of a round. */
  mean(kind: RoundKind, round: number, shard: number): string {
    return kind === 'sr' ? `${this.srMeans(round)}${shard}` : `${this.shard(kind, round, shard)}mean`;
  }

  /** The prefix of a scatter-reduce round's means, ending in `/`. */
  srMeans(round: number): string {
    return `${this.round('sr', round)}mean/`;
  }

  /** A parameter-server shard's reduction claim: the worker that creates it reduces the shard. */
  claim(round: number, shard: number): string {
    return `${this.shard('ps', round, shard)}claim`;
  }

  /** A worker's saved error-feedback state. */
  state(rank: number): string {
    return `${this.base}/state/${rank}`;
  }
}

/** The collective a round belongs to, as a key segment. */
export type RoundKind = 'ar' | 'sr' | 'ps';

/**
 * What a listed key under a round is: a contribution (with its shard and
 * rank), a mean (with its shard), or a packed contribution to every shard
 * (with its rank).
 */
export type ListedPart = { shard: number; rank: number } | { shard: number; mean: true } | { packed: number };

/** Parses a key listed under `roundPrefix` of an `ar` or `ps` round (undefined for keys that are neither). */
export function parseListed(kind: RoundKind, roundPrefix: string, key: string): ListedPart | undefined {
  if (!key.startsWith(roundPrefix)) {
    return undefined;
  }
  const parts = key.slice(roundPrefix.length).split('/');
  if (kind !== 'ar' && parts.length === 1) {
    const rank = parts[0].startsWith(FROM) ? Number(parts[0].slice(FROM.length)) : NaN;
    return Number.isSafeInteger(rank) ? { packed: rank } : undefined;
  }
  const shard = kind === 'ar' ? 0 : Number(parts.shift());
  if (!Number.isSafeInteger(shard) || parts.length !== 1) {
    return undefined;
  }
  if (parts[0] === 'mean') {
    return { shard, mean: true };
  }
  if (parts[0].startsWith(FROM)) {
    const rank = Number(parts[0].slice(FROM.length));
    return Number.isSafeInteger(rank) ? { shard, rank } : undefined;
  }
  return undefined;
}
