/**
 * One worker's part of one round: its traffic, its clock (deadline,
 * straggler report), and the moves every strategy makes: gather the
 * contributions under a prefix, wait for one key, reduce and publish a mean
 * exactly once.
 *
 * Polling a set of keys costs, per poll, one LIST of their common prefix
 * or one GET per key still missing (a GET that finds its key also brings
 * its body, which is needed anyway). The exchange takes whichever is fewer
 * requests at the store's prices ({@link PollPlan.listInGets}): with the
 * embedded store and Redis it lists as soon as two keys are missing; with
 * S3, where a LIST costs as much as twelve and a half GETs, it gets each
 * missing key while few are missing. Waiting for one key is always a GET.
 */
import type { ExchangeRoundData } from './events';
import type { ExchangeStrategy } from '../../telemetry/protocol/events';
import type { Codec } from '../codecs';
import type { ObjectStore } from '../store/object-store';
import { ExchangeRoundGoneError, MissingWork } from './errors';
import type { Cleanups } from './cleanups';
import type { FeedbackSlot } from './feedback';
import type { ExchangeKeys } from './keys';
import type { PollPlan, ResolvedOptions } from './options';
import type { PieceRange } from './packed';
import { Contribution, meanOf } from './reduce';
import { RoundTraffic } from './traffic';
import { RoundWaiter, WaitWatch } from './wait';

/** What a round needs of its exchange. */
export interface ExchangeCore {
  readonly options: ResolvedOptions;
  readonly keys: ExchangeKeys;
  readonly store: ObjectStore;
  readonly plan: PollPlan;
  /** The residual called `name`, or undefined when the codec has no error feedback. */
  feedbackSlot(name: string): FeedbackSlot | undefined;
  /** Sends an event (`exchange-straggler`...). */
  emit(type: string, data: { [key: string]: unknown }): void;
  /** Removals the round does not wait for (awaited before the exchange's next call and at close). */
  readonly cleanups: Cleanups;
  /**
   * Bytes this worker wrote that stay in the store until the run's keys are
   * removed (the means it published, a pair's vectors): a retried worker
   * replays its rounds from them.
   */
  readonly kept: { bytes: number };
}

/** What {@link Round.reduceAndPublish} reduces and where it publishes it. */
export interface Reduction {
  /** The edge of the exchange graph the traffic counts for. */
  node: string;
  meanKey: string;
  /** One per worker (summed in rank order). */
  contributions: Contribution[];
  /** Floats in each contribution and in the mean. */
  floats: number;
  /** The reducer's error-feedback residual (`down:ar`...). */
  slotName: string;
  /** For messages: `shard 2 of round 3 of exchange x`. */
  where: string;
  /** The round reduced, when not the call's (a parameter server may reduce an earlier one). */
  reduced?: number;
  /** The contributions' keys read from the store, removed once the mean is published. */
  consumed: string[];
}

/** A key a round waits for: whose it is, along which edge it is read, how many floats it holds. */
export interface WantedKey {
  key: string;
  rank: number;
  node: string;
  floats: number;
  /** The part of the object to read (a piece of a packed contribution); the whole object when absent. */
  range?: PieceRange;
}

/** The result of {@link Round.collect}: the stop key's body, or every wanted key's (by key). */
export type Collected = { stopped: Uint8Array } | { found: Map<string, Uint8Array> };

/** One worker's part of one round (a parameter server's push and pull are two calls of one round). */
export class Round {
  readonly traffic: RoundTraffic;
  readonly codec: Codec;
  private clock: RoundWaiter | undefined;
  private callStartedMs = 0;
  private busyMs = 0;
  private stragglerReported = false;

  constructor(
    readonly core: ExchangeCore,
    readonly strategy: ExchangeStrategy,
    readonly round: number,
  ) {
    this.codec = core.options.codec;
    this.traffic = new RoundTraffic(core.store);
  }

  /**
   * Starts a call of the round: its waits share one deadline, `roundTimeoutS`
   * from now, and stop when `signal` aborts. Stragglers are reported once
   * per round, not per call.
   */
  begin(signal: AbortSignal | undefined): void {
    const { run, rank, roundTimeoutS, stragglerS } = this.core.options;
    this.callStartedMs = performance.now();
    this.clock = new RoundWaiter({
      exchange: run,
      round: this.round,
      rank,
      roundTimeoutS,
      stragglerS,
      initialMs: this.core.plan.initialMs,
      capMs: this.core.plan.capMs,
      watchedCapMs: this.core.plan.watchedCapMs,
      watchAfterMs: this.core.plan.watchAfterMs,
      signal,
      onStraggler: (ranks) => {
        if (!this.stragglerReported) {
          this.stragglerReported = true;
          this.core.emit('exchange-straggler', { exchange: run, round: this.round, ranks, rank });
        }
      },
    });
  }

  /** Ends a call: its time counts in the round's duration. */
  end(): void {
    this.busyMs += performance.now() - this.callStartedMs;
  }

  /** The current call's clock. */
  get waiter(): RoundWaiter {
    if (!this.clock) {
      throw new Error('Round.begin() must be called before waiting');
    }
    return this.clock;
  }

  /** Store call options of this round. */
  get call(): { signal?: AbortSignal } {
    return { signal: this.waiter.signal };
  }

  /** The store along the edge towards `node` (counted for the round and the edge). */
  via(node: string): ObjectStore {
    return this.traffic.via(node);
  }

  /**
   * Waits until every key of `wanted` (all under `prefix`) is in the store,
   * or until the `stop` key is (then the others are not needed: e.g. the
   * round's mean, found by a retry; under `prefix` or not). Each key is read along its own edge.
   * `action` says, for messages, what the ranks of missing keys did not do;
   * `explain`, when given, looks further into who is to blame (e.g. the
   * senders a missing mean still waits for).
   */
  async collect(
    prefix: string,
    wanted: WantedKey[],
    stop: Omit<WantedKey, 'rank'> | undefined,
    action: string,
    explain?: (missing: MissingWork) => Promise<MissingWork>,
  ): Promise<Collected> {
    const found = new Map<string, Uint8Array>();
    const fetch = async (want: Omit<WantedKey, 'rank'>): Promise<void> => {
      const body = await this.read(want.node, want.key, want.range);
      if (body) {
        this.traffic.moved(want.floats);
        found.set(want.key, body);
      }
    };
    const missingNow = (): MissingWork => ({
      ranks: [...new Set(wanted.filter((w) => !found.has(w.key)).map((w) => w.rank))].sort((a, b) => a - b),
      action,
    });
    return this.waiter.until<Collected>(
      async () => {
        const missing = wanted.filter((w) => !found.has(w.key));
        const lookFor = stop ? [stop, ...missing] : missing;
        let listed: Set<string> | undefined;
        if (lookFor.length > this.core.plan.listInGets) {
          listed = new Set(await this.via(lookFor[0].node).list(prefix, this.call));
        }
        // A key outside the prefix (a stop key kept elsewhere) is not in the listing: it is read.
        await Promise.all(
          lookFor.filter((w) => !listed || listed.has(w.key) || !w.key.startsWith(prefix)).map(fetch),
        );
        const stopped = stop && found.get(stop.key);
        if (stopped) {
          return { done: true, value: { stopped } };
        }
        const still = missingNow();
        if (still.ranks.length === 0) {
          return { done: true, value: { found } };
        }
        return explain ? { done: false } : { done: false, missing: still };
      },
      async () => (explain ? explain(missingNow()) : missingNow()),
      this.watching(prefix),
    );
  }

  /**
   * The object under `key`, or its part `range` (a piece of a packed
   * contribution), read along the edge towards `node`; undefined when absent.
   */
  async read(node: string, key: string, range?: PieceRange): Promise<Uint8Array | undefined> {
    const store = this.via(node);
    if (!range) {
      return store.get(key, this.call);
    }
    if (!store.getRange) {
      throw new Error('unreachable: a piece is read by range only from a store that reads ranges');
    }
    return store.getRange(key, range.offset, range.length, this.call);
  }

  /**
   * A watch of the keys directly under `prefix` (or beside `key`) in the
   * exchange's store; undefined when the store cannot watch (its waits then
   * poll at the store's usual pace, not the watched one).
   */
  private watching(prefixOrKey: string): WaitWatch | undefined {
    const watch = this.core.store.watch?.bind(this.core.store);
    return watch && ((onChange) => watch(prefixOrKey, onChange));
  }

  /** Waits until `key` is in the store (one GET a poll) and returns it; `describe` says who is late. */
  async waitFor(
    node: string,
    key: string,
    floats: number,
    describe: () => Promise<MissingWork>,
  ): Promise<Uint8Array> {
    const store = this.via(node);
    return this.waiter.until<Uint8Array>(
      async () => {
        const body = await store.get(key, this.call);
        if (body) {
          this.traffic.moved(floats);
          return { done: true, value: body };
        }
        return { done: false };
      },
      describe,
      this.watching(key),
    );
  }

  /**
   * Reduces the contributions to their mean, encodes it (with the
   * reducer's residual under error feedback) and publishes it if nobody did
   * yet. Resolves to the bytes under the mean's key afterwards: this
   * worker's, or those of whoever published first. The worker that
   * publishes then removes the contributions it read from the store (in the
   * background: see {@link Cleanups}): the published mean is all a later
   * call (a retry) of the round needs, so a long run keeps one object a
   * round, not one a worker.
   */
  async reduceAndPublish(reduction: Reduction): Promise<Uint8Array> {
    const { node, meanKey, floats, where } = reduction;
    const { bytes, published } = await this.putOnce(
      node,
      meanKey,
      this.encodedMean(reduction),
      floats,
      `${where} was reduced by another worker but its mean is gone from the store`,
    );
    if (published) {
      const store = this.via(node);
      // Counted now (the store view counts a request when it is made), finished in the background.
      this.core.cleanups.add(Promise.all(reduction.consumed.map((key) => store.delete(key, this.call))));
    }
    return bytes;
  }

  /**
   * Puts `bytes` under `key` unless something is there already (an earlier
   * call of the round, or another worker), and resolves to what is there
   * afterwards: this worker's bytes when it `published` them (then counted
   * as kept), else the bytes found. `gone` says, for the error, what was
   * there and vanished.
   */
  async putOnce(
    node: string,
    key: string,
    bytes: Uint8Array,
    floats: number,
    gone: string,
  ): Promise<{ bytes: Uint8Array; published: boolean }> {
    const store = this.via(node);
    this.traffic.moved(floats);
    if (await store.putIfAbsent(key, bytes, this.call)) {
      this.core.kept.bytes += bytes.byteLength;
      return { bytes, published: true };
    }
    const existing = await store.get(key, this.call);
    if (!existing) {
      throw new ExchangeRoundGoneError(`${gone}; rerun the exchange from an earlier round`);
    }
    this.traffic.moved(floats);
    return { bytes: existing, published: false };
  }

  /**
   * The contributions' mean, encoded as it is published: with the reducer's
   * residual `slotName` under error feedback. Every worker that encodes the
   * same contributions with the same residual gets the same bytes.
   */
  encodedMean(
    reduction: Pick<Reduction, 'contributions' | 'floats' | 'slotName' | 'where' | 'reduced'>,
  ): Uint8Array {
    const { contributions, floats, slotName, where } = reduction;
    const mean = meanOf(this.codec, contributions, floats, where);
    const slot = this.core.feedbackSlot(slotName);
    const reduced = reduction.reduced ?? this.round;
    const [bytes] = slot ? slot.encode(this.codec, mean, reduced, [[0, floats]]) : [this.codec.encode(mean)];
    return bytes;
  }

  /** Lists `prefix` and returns which of `ranks` have no contribution key there (ascending). */
  async absentRanks(
    node: string,
    prefix: string,
    keyOf: (rank: number) => string,
    ranks: number[],
  ): Promise<number[]> {
    const listed = new Set(await this.via(node).list(prefix, this.call));
    return ranks.filter((rank) => !listed.has(keyOf(rank)));
  }

  /** The round's telemetry, as the worker measured it. */
  data(): ExchangeRoundData {
    const { run, rank, workers, codec } = this.core.options;
    const { total } = this.traffic;
    return {
      exchange: run,
      round: this.round,
      workerId: `worker:${rank}`,
      rank,
      workers,
      strategy: this.strategy,
      codec: codec.name,
      store: this.core.store.kind,
      bytesUp: total.bytesUp,
      bytesDown: total.bytesDown,
      rawBytes: this.traffic.rawBytes,
      requests: { ...total.requests },
      durationMs: Math.round(this.busyMs * 1000) / 1000,
      links: this.traffic.linkBytes(),
    };
  }
}
