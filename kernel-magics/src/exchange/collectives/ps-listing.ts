/**
 * What one LIST of a parameter-server round shows: which shards have their
 * mean, and who has pushed each shard. Every decision the parameter server
 * makes about a round (complete? who is late?) is read from one of these,
 * so a poll costs one LIST per round looked at.
 */
import { MissingWork } from './errors';
import { ListedPart, parseListed } from './keys';
import type { Round } from './round';

/** One round's parts in the store. */
export class RoundListing {
  /** Shards whose mean is published. */
  readonly means = new Set<number>();
  /** Per shard, the ranks whose contribution is there. */
  readonly senders = new Map<number, Set<number>>();
  /** The ranks whose packed contribution (to every shard) is there. */
  readonly packed = new Set<number>();

  constructor(
    readonly round: number,
    private readonly shards: number,
    private readonly workers: number,
  ) {}

  /** Lists round `k` (one LIST request, counted for `round`). */
  static async read(round: Round, k: number): Promise<RoundListing> {
    const { shards, workers } = round.core.options;
    const prefix = round.core.keys.round('ps', k);
    const listing = new RoundListing(k, shards, workers);
    for (const key of await round.via('ps:0').list(prefix, round.call)) {
      const part: ListedPart | undefined = parseListed('ps', prefix, key);
      if (!part) {
        continue;
      }
      if ('packed' in part) {
        listing.packed.add(part.packed);
      } else if ('mean' in part) {
        listing.means.add(part.shard);
      } else {
        let senders = listing.senders.get(part.shard);
        if (!senders) {
          senders = new Set();
          listing.senders.set(part.shard, senders);
        }
        senders.add(part.rank);
      }
    }
    return listing;
  }

  /** Worker `rank`'s contribution to shard `s` is there (on its own or packed). */
  sent(s: number, rank: number): boolean {
    return this.packed.has(rank) || (this.senders.get(s)?.has(rank) ?? false);
  }

  /** Every worker's contribution to shard `s` is there. */
  allSent(s: number): boolean {
    for (let rank = 0; rank < this.workers; rank += 1) {
      if (!this.sent(s, rank)) {
        return false;
      }
    }
    return true;
  }

  /** Worker `rank` has pushed the round: each shard has its contribution, or its mean (contributions are removed once reduced). */
  pushedBy(rank: number): boolean {
    for (let s = 0; s < this.shards; s += 1) {
      if (!this.means.has(s) && !this.sent(s, rank)) {
        return false;
      }
    }
    return true;
  }

  /** Every worker has pushed the round. */
  complete(): boolean {
    for (let s = 0; s < this.shards; s += 1) {
      if (!this.means.has(s) && !this.allSent(s)) {
        return false;
      }
    }
    return true;
  }

  /** The workers that have not pushed the round (ascending). */
  unpushed(): number[] {
    return Array.from({ length: this.workers }, (_, i) => i).filter((rank) => !this.pushedBy(rank));
  }

  /** Who holds the round up: the workers that have not pushed it, else the owners of the shards not reduced. */
  missing(): MissingWork {
    const unsent = this.unpushed();
    if (unsent.length > 0) {
      return { ranks: unsent, action: `push round ${this.round}` };
    }
    const owners = new Set<number>();
    for (let s = 0; s < this.shards; s += 1) {
      if (!this.means.has(s)) {
        owners.add(s % this.workers);
      }
    }
    return { ranks: [...owners].sort((a, b) => a - b), action: `reduce their shards of round ${this.round}` };
  }
}
