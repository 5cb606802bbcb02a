/**
 * A parameter server made of store objects: a vector is cut into S shards
 * (`ps:0` ... `ps:<S-1>`, the nodes of the exchange graph); a worker pushes
 * its shards of each round's gradient, and pulls the shard means.
 *
 * Who reduces. Shard s is owned by worker s mod W, which reduces it in
 * round order whenever it pushes, pulls or waits, as soon as its
 * contributions are all there:
 * - with error feedback (`topk`), always: a shard's mean is encoded with a
 *   residual that must evolve round after round in one place (close waits
 *   until the rounds the owner pushed are reduced);
 * - with a stateless codec (`none`, `fp16`) and staleness 0: push is a
 *   barrier, so every owner is waiting in its push when the round
 *   completes, and the shards are reduced at once, in parallel, by
 *   different workers. No claim is needed, so no two workers reduce one
 *   shard even on a store whose put-if-absent is not atomic across
 *   processes (s3rver), and no worker reads the whole round alone.
 * With a stateless codec and staleness > 0, an owner may be far ahead or
 * busy between calls, so shard s of round r is reduced by the worker that
 * first finds all its contributions: each worker lists the round right
 * after its push, so the last to push reduces (of workers that push last
 * together, the one that creates the shard's claim key).
 * With synchronous rounds (staleness 0), a codec of fixed lengths (`none`,
 * `fp16`) and a store that reads ranges, a push is one object: the
 * worker's shards packed end to end, each reducer reading its shard's part
 * by range (see `packed.ts`); the worker removes it once it has pulled the
 * round (every shard's mean is then published). Otherwise each shard's part
 * is an object, removed by the shard's reducer.
 * Either way the mean is published with `putIfAbsent`, so it is written
 * once whatever happens, and a worker pulling a round whose contributions
 * are all there but whose mean is not takes a stateless reduction over
 * after a quarter of `stragglerS` (its reducer may have died).
 *
 * Staleness s (bounded, SSP):
 * - `push(v, { round: r })` writes the worker's shards of round r, then
 *   waits until every worker has pushed round r - s (nothing to wait for
 *   when r - s < 0). With s = 0, push is a barrier on round r; with s > 0 a
 *   worker runs at most s rounds ahead of the slowest.
 * - `pull({ round: r })` resolves to the mean of round k (a Float32Array
 *   with `round: k`), where k is the
 *   newest round in [max(0, r - s), r] that every worker has pushed; it
 *   waits until round max(0, r - s) is, then for k's mean. With s = 0, k is
 *   r. A worker that pulls round r twice, or skips a round, gets the newest
 *   such round each time: apply a mean only when its `round` is new to you.
 */
import { describeRanks, ExchangeMismatchError, ExchangeRoundGoneError, MissingWork } from './errors';
import { PackedLayout } from './packed';
import { RoundListing } from './ps-listing';
import { Contribution, decodeChecked, shardBounds } from './reduce';
import { ExchangeCore, Round } from './round';

/** The body of a claim: empty, its existence is what counts (and it moves no bytes). */
const CLAIM = new Uint8Array(0);

/** What `pull` resolves to. */
/**
 * What a pull gives: the element-wise mean of every worker's push of a
 * round, as a Float32Array (like `allreduce`'s), which also says which round
 * it is of (see the staleness rules): `mean.round`, or `const { round, mean }
 * = await ex.pull(...)`.
 */
export type PulledMean = Float32Array & {
  /** The round the mean is of. */
  readonly round: number;
  /** The mean itself (this same array), for destructuring. */
  readonly mean: Float32Array;
};

/** Marks `mean` as the mean of round `round`. */
function pulled(mean: Float32Array, round: number): PulledMean {
  return Object.assign(mean, { round, mean });
}

/** One worker's side of the parameter server. */
export class ParameterServer {
  /** Rounds pushed and not pulled yet (their traffic is reported with the pull). */
  private readonly pending = new Map<number, Round>();
  /** With error feedback: the next round to reduce, per shard this worker owns. */
  private readonly nextToServe = new Map<number, number>();
  private pushedLength: number | undefined;
  private lastPushed = -1;
  /** This worker's encoded shards of round {@link lastPushed} (its part of a reduction it does, not read back). */
  private lastPieces: Uint8Array[] = [];
  private firstPushed: number | undefined;
  /** Where each shard's part is in a packed push; undefined when pushes are not packed (or none was made yet). */
  private layout: PackedLayout | undefined;
  /** Rounds this worker pushed packed and has not removed yet. */
  private readonly packedPushes = new Set<number>();

  constructor(
    private readonly core: ExchangeCore,
    private readonly report: (round: Round) => void,
  ) {}

  private get options() {
    return this.core.options;
  }

  /** Pushes this worker's shards of round `r`, then waits as the staleness bound says. */
  async push(v: Float32Array, r: number, signal: AbortSignal | undefined): Promise<void> {
    const round = this.roundOf(r);
    round.begin(signal);
    try {
      const { codec, shards, staleness } = this.options;
      if (this.pushedLength !== undefined && this.pushedLength !== v.length) {
        throw new ExchangeMismatchError(
          `push: this exchange's vectors have ${this.pushedLength} floats, this one ${v.length}: push vectors of one length`,
        );
      }
      const bounds = shardBounds(v.length, shards);
      const up = this.core.feedbackSlot('up');
      const pieces = up
        ? up.encode(codec, v, r, bounds)
        : bounds.map(([a, b]) => codec.encode(v.subarray(a, b)));
      this.layout = this.packable() ? PackedLayout.of(codec, bounds) : undefined;
      if (this.layout) {
        const parts = pieces.map((bytes, s) => ({ node: `ps:${s}`, bytes: bytes.byteLength }));
        const key = this.core.keys.packed('ps', r, this.options.rank);
        await round.traffic.putShared(key, this.layout.pack(pieces), parts, round.call);
        this.packedPushes.add(r);
      } else {
        await Promise.all(
          pieces.map((bytes, s) =>
            round.via(`ps:${s}`).put(this.contributionKey(r, s, this.options.rank), bytes, round.call),
          ),
        );
      }
      round.traffic.moved(v.length);
      this.pushedLength = v.length;
      if (r >= this.lastPushed) {
        this.lastPushed = r;
        this.lastPieces = pieces;
      }
      this.firstPushed ??= r;
      const listings = new Map<number, RoundListing>();
      if (this.ownersReduce) {
        await this.serve(round, listings);
      } else {
        await this.reduceComplete(round, r, await this.list(round, r, listings), pieces);
      }
      const target = r - staleness;
      if (target >= 0) {
        await this.waitPushed(round, target);
      }
    } finally {
      round.end();
    }
  }

  /** The newest complete round in [max(0, r - staleness), r], and its mean. */
  async pull(r: number, signal: AbortSignal | undefined): Promise<PulledMean> {
    const round = this.roundOf(r);
    round.begin(signal);
    try {
      const lowest = Math.max(0, r - this.options.staleness);
      const chosen = await round.waiter.until<{ k: number; listing: RoundListing }>(
        async () => {
          const listings = new Map<number, RoundListing>();
          if (this.ownersReduce) {
            await this.serve(round, listings);
          }
          for (let k = r; k >= lowest; k -= 1) {
            const listing = await this.list(round, k, listings);
            if (listing.complete()) {
              return { done: true, value: { k, listing } };
            }
          }
          return { done: false };
        },
        () => this.whoIsMissing(round, lowest),
      );
      const mean = await this.fetchMeans(round, chosen.k, chosen.listing);
      if (this.packedPushes.delete(chosen.k)) {
        // Every shard of round k has its mean: no reducer reads this worker's push of it again.
        const key = this.core.keys.packed('ps', chosen.k, this.options.rank);
        this.core.cleanups.add(round.via('ps:0').delete(key, round.call));
      }
      return pulled(mean, chosen.k);
    } finally {
      round.end();
      this.pending.delete(r);
      this.report(round);
    }
  }

  /** Reports rounds pushed but never pulled (when the exchange closes). */
  flush(): void {
    for (const [r, round] of [...this.pending].sort((a, b) => a[0] - b[0])) {
      this.pending.delete(r);
      this.report(round);
    }
  }

  /**
   * With error feedback, before the exchange closes: reduces the rounds of
   * the shards this worker owns, up to the last round it pushed, waiting
   * (up to `roundTimeoutS`) for slower workers to push them; other workers
   * may still pull those rounds. Nothing to do otherwise. Reductions done
   * here are reported as one more event of the last round pushed.
   */
  async finish(signal: AbortSignal | undefined): Promise<void> {
    if (!this.options.codec.errorFeedback || this.lastPushed < 0) {
      return;
    }
    const round = new Round(this.core, 'parameter-server', this.lastPushed);
    round.begin(signal);
    try {
      await round.waiter.until<void>(
        async () => {
          await this.serve(round, new Map());
          const behind = [...this.nextToServe.values()].some((next) => next <= this.lastPushed);
          return behind ? { done: false } : { done: true, value: undefined };
        },
        () => this.whoIsMissing(round, Math.min(...this.nextToServe.values())),
      );
    } finally {
      round.end();
      if (round.traffic.total.bytesUp + round.traffic.total.bytesDown > 0) {
        this.report(round);
      }
    }
  }

  /**
   * Whether pushes are packed (see the module comment; the codec's lengths
   * are checked by {@link PackedLayout.of}): only with synchronous rounds,
   * where a worker's pull of a round tells it that its push of the round
   * is no longer needed.
   */
  private packable(): boolean {
    return this.options.staleness === 0 && this.core.store.getRange !== undefined;
  }

  /** Whether shards are reduced by their owners (see the module comment), not by whoever completes them. */
  private get ownersReduce(): boolean {
    return this.options.codec.errorFeedback || this.options.staleness === 0;
  }

  private roundOf(r: number): Round {
    // A round pushed and never pulled is reported once a later round starts.
    for (const [older, round] of [...this.pending].sort((a, b) => a[0] - b[0])) {
      if (older < r) {
        this.pending.delete(older);
        this.report(round);
      }
    }
    let round = this.pending.get(r);
    if (!round) {
      round = new Round(this.core, 'parameter-server', r);
      this.pending.set(r, round);
    }
    return round;
  }

  private contributionKey(r: number, s: number, rank: number): string {
    return this.core.keys.contribution('ps', r, s, rank);
  }

  private where(r: number, s: number): string {
    return `shard ${s} of round ${r} of exchange ${this.options.run}`;
  }

  /** One LIST of round `k` (once per poll: `cache`). */
  private async list(round: Round, k: number, cache: Map<number, RoundListing>): Promise<RoundListing> {
    let listing = cache.get(k);
    if (!listing) {
      listing = await RoundListing.read(round, k);
      cache.set(k, listing);
    }
    return listing;
  }

  /** Waits until every worker has pushed round `target` (all its shards, or their means exist). */
  private async waitPushed(round: Round, target: number): Promise<void> {
    await round.waiter.until<void>(
      async () => {
        const listings = new Map<number, RoundListing>();
        if (this.ownersReduce) {
          await this.serve(round, listings);
        }
        const absent = (await this.list(round, target, listings)).unpushed();
        return absent.length === 0
          ? { done: true, value: undefined }
          : { done: false, missing: { ranks: absent, action: `push round ${target}` } };
      },
      () => this.whoIsMissing(round, target),
    );
  }

  private ranks(): number[] {
    return Array.from({ length: this.options.workers }, (_, i) => i);
  }

  /** Who holds up round `k`: the workers that have not pushed it, else the owners that have not reduced it. */
  private async whoIsMissing(round: Round, k: number): Promise<MissingWork> {
    return (await RoundListing.read(round, k)).missing();
  }

  /** Stateless codecs: reduces the shards of round `r` whose contributions are all there and whose mean is not. */
  private async reduceComplete(
    round: Round,
    r: number,
    listing: RoundListing,
    mine: Uint8Array[],
  ): Promise<void> {
    const ready = [];
    for (let s = 0; s < this.options.shards; s += 1) {
      if (!listing.means.has(s) && listing.allSent(s)) {
        ready.push(s);
      }
    }
    await Promise.all(
      ready.map(async (s) => {
        // Workers that push last together all see the shard complete: one claims it, the others leave it.
        if (await round.via(`ps:${s}`).putIfAbsent(this.core.keys.claim(r, s), CLAIM, round.call)) {
          await this.reduceShard(round, r, s, mine[s]);
        }
      }),
    );
  }

  /**
   * Reduces, in round order, every round of the shards this worker owns
   * whose contributions are all there, up to the last round it pushed
   * ({@link ownersReduce}). A round found reduced already (by an earlier
   * attempt, or a takeover) is skipped.
   */
  private async serve(round: Round, listings: Map<number, RoundListing>): Promise<void> {
    const { shards, workers, rank, staleness } = this.options;
    const owned = [];
    for (let s = rank; s < shards; s += workers) {
      owned.push(s);
    }
    for (const s of owned) {
      if (!this.nextToServe.has(s)) {
        const slot = this.core.feedbackSlot(`down:ps:${s}`);
        // An earlier attempt that died may have left rounds just before this one unreduced.
        const start =
          slot && slot.round >= 0 ? slot.round + 1 : Math.max(0, (this.firstPushed ?? 0) - staleness - 1);
        this.nextToServe.set(s, start);
      }
    }
    for (;;) {
      const k = Math.min(...owned.map((s) => this.nextToServe.get(s) as number));
      if (owned.length === 0 || k > this.lastPushed) {
        return;
      }
      const listing = await this.list(round, k, listings);
      let stuck = false;
      for (const s of owned.filter((s) => this.nextToServe.get(s) === k)) {
        if (listing.means.has(s)) {
          this.nextToServe.set(s, k + 1);
        } else if (listing.allSent(s)) {
          await this.reduceShard(round, k, s, k === this.lastPushed ? this.lastPieces[s] : undefined);
          listing.means.add(s);
          this.nextToServe.set(s, k + 1);
        } else {
          stuck = true;
        }
      }
      if (stuck) {
        return;
      }
    }
  }

  /**
   * Reads shard `s`'s contributions of round `k` and publishes their mean
   * (once: see {@link Round.reduceAndPublish}). A contribution gone means
   * another worker published the mean meanwhile (and removed them): its
   * mean is the result.
   */
  private async reduceShard(round: Round, k: number, s: number, mine?: Uint8Array): Promise<Uint8Array> {
    const node = `ps:${s}`;
    const { rank, codec } = this.options;
    const floats = this.shardLength(s);
    const meanKey = this.core.keys.mean('ps', k, s);
    const { layout } = this;
    const keys = this.ranks().map((i) =>
      layout ? this.core.keys.packed('ps', k, i) : this.contributionKey(k, s, i),
    );
    const read = await Promise.all(
      this.ranks().map(async (i) => {
        if (i === rank && mine) {
          return { rank: i, bytes: mine };
        }
        const bytes = await round.read(node, keys[i], layout?.range(s));
        if (bytes) {
          round.traffic.moved(floats ?? codec.floats(bytes));
        }
        return { rank: i, bytes };
      }),
    );
    const contributions = read.filter((c): c is Contribution => c.bytes !== undefined);
    if (contributions.length < read.length) {
      const published = await round.via(node).get(meanKey, round.call);
      if (!published) {
        const gone = read.filter((c) => !c.bytes).map((c) => c.rank);
        throw new ExchangeRoundGoneError(
          `${describeRanks(gone)}'s part of ${this.where(k, s)} is gone from the store and the shard has no mean; ` +
            'rerun the exchange from an earlier round',
        );
      }
      round.traffic.moved(floats ?? codec.floats(published));
      return published;
    }
    return round.reduceAndPublish({
      node,
      meanKey,
      contributions,
      floats: floats ?? codec.floats(contributions[0].bytes),
      slotName: `down:ps:${s}`,
      where: this.where(k, s),
      reduced: k,
      // A packed push holds the other shards too: its writer removes it once it has pulled the round.
      consumed: layout ? [] : keys,
    });
  }

  /** Shard `s`'s length, when this worker has pushed (else it is read from the bytes). */
  private shardLength(s: number): number | undefined {
    if (this.pushedLength === undefined) {
      return undefined;
    }
    const [start, end] = shardBounds(this.pushedLength, this.options.shards)[s];
    return end - start;
  }

  /** The means of round `k`'s shards, waiting for (or taking over) reductions still under way. */
  private async fetchMeans(round: Round, k: number, listing: RoundListing): Promise<Float32Array> {
    const { shards, codec, stragglerS } = this.options;
    const takeoverMs = (stragglerS * 1000) / 4;
    // Reading packed pushes needs their layout, known once this worker has pushed a vector itself.
    const canTakeOver =
      !codec.errorFeedback && (this.pushedLength !== undefined || listing.packed.size === 0);
    const decoded = await Promise.all(
      Array.from({ length: shards }, async (_, s) => {
        const node = `ps:${s}`;
        const key = this.core.keys.mean('ps', k, s);
        const floats = this.shardLength(s);
        let bytes: Uint8Array;
        let downloaded = true;
        if (listing.means.has(s)) {
          const got = await round.via(node).get(key, round.call);
          if (!got) {
            throw new ExchangeRoundGoneError(`the mean of ${this.where(k, s)} is gone from the store`);
          }
          bytes = got;
        } else {
          const waitStarted = Date.now();
          const owner = s % this.options.workers;
          bytes = await round.waiter.until<Uint8Array>(
            async () => {
              if (this.ownersReduce && owner === this.options.rank) {
                await this.serve(round, new Map());
              }
              const got = await round.via(node).get(key, round.call);
              if (got) {
                return { done: true, value: got };
              }
              if (canTakeOver && Date.now() - waitStarted >= takeoverMs) {
                downloaded = false;
                return { done: true, value: await this.reduceShard(round, k, s) };
              }
              return { done: false };
            },
            async () => ({
              ranks: codec.errorFeedback ? [owner] : [],
              action: `reduce ${this.where(k, s)} (every worker pushed it)`,
            }),
          );
        }
        const length = floats ?? codec.floats(bytes);
        if (downloaded) {
          round.traffic.moved(length);
        }
        return decodeChecked(codec, bytes, length, `the mean of ${this.where(k, s)}`);
      }),
    );
    const out = new Float32Array(decoded.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of decoded) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
