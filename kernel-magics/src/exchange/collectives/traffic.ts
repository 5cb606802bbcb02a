/**
 * Counting what one worker's round moves through the store: requests by
 * kind, bytes up and down, and the same bytes per edge of the exchange graph
 * (`worker:0`, `ps:2`...). A {@link CountingStore} is an {@link ObjectStore}
 * view that counts into one or more {@link StoreUsage} tallies and forwards
 * to the real store; the round asks for one view per edge.
 *
 * This is the exchange's own minimal counter; a store-level meter (one that
 * counts every caller's traffic for billing) can wrap the real store
 * underneath without changing anything here.
 */
import { emptyUsage, ObjectStore, StoreCallOptions, StoreUsage } from '../store/object-store';

/** Bytes one worker sent towards a node of the exchange graph and received from it. */
export interface LinkBytes {
  bytesUp: number;
  bytesDown: number;
}

/** An ObjectStore that counts each call into `tallies`, then forwards it. Closing the view does not close the store. */
export class CountingStore implements ObjectStore {
  readonly kind: ObjectStore['kind'];
  readonly location: string;
  /** The store's ranged get, counted as a get; absent when the store has none. */
  readonly getRange?: ObjectStore['getRange'];

  constructor(
    private readonly inner: ObjectStore,
    private readonly tallies: StoreUsage[],
  ) {
    this.kind = inner.kind;
    this.location = inner.location;
    const ranged = inner.getRange?.bind(inner);
    this.getRange =
      ranged &&
      ((key, offset, length, options) => this.countedGet(() => ranged(key, offset, length, options)));
  }

  async put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void> {
    this.count('put', body.byteLength, 0);
    await this.inner.put(key, body, options);
  }

  async putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    this.count('put', body.byteLength, 0);
    return this.inner.putIfAbsent(key, body, options);
  }

  get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    return this.countedGet(() => this.inner.get(key, options));
  }

  async list(prefix: string, options?: StoreCallOptions): Promise<string[]> {
    this.count('list', 0, 0);
    return this.inner.list(prefix, options);
  }

  async delete(key: string, options?: StoreCallOptions): Promise<void> {
    this.count('delete', 0, 0);
    await this.inner.delete(key, options);
  }

  async deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number> {
    this.count('list', 0, 0);
    const removed = await this.inner.deletePrefix(prefix, options);
    for (let i = 0; i < removed; i += 1) {
      this.count('delete', 0, 0);
    }
    return removed;
  }

  async close(): Promise<void> {
    // A view: the store belongs to whoever opened it.
  }

  /** A get or a ranged get: counted when made, its bytes when they arrive. */
  private async countedGet(read: () => Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined> {
    this.count('get', 0, 0);
    const body = await read();
    this.count(undefined, 0, body?.byteLength ?? 0);
    return body;
  }

  private count(request: keyof StoreUsage['requests'] | undefined, up: number, down: number): void {
    for (const tally of this.tallies) {
      if (request) {
        tally.requests[request] += 1;
      }
      tally.bytesUp += up;
      tally.bytesDown += down;
    }
  }
}

/** One worker's traffic in one round. */
export class RoundTraffic {
  /** Everything the round moved. */
  readonly total: StoreUsage = emptyUsage();
  /** What `bytesUp + bytesDown` would have been with no codec (4 bytes a float of every vector moved). */
  rawBytes = 0;
  private readonly links = new Map<string, StoreUsage>();
  private readonly views = new Map<string, CountingStore>();

  constructor(private readonly store: ObjectStore) {}

  /** The store as seen along the edge towards `node`: what goes through it counts for the round and the edge. */
  via(node: string): ObjectStore {
    let view = this.views.get(node);
    if (!view) {
      view = new CountingStore(this.store, [this.total, this.link(node)]);
      this.views.set(node, view);
    }
    return view;
  }

  /**
   * Puts one object that carries parts for several nodes (each reads its
   * own by range): one request for the round, and each part's bytes on the
   * edge towards its node, so that the graph shows where the bytes go.
   */
  async putShared(
    key: string,
    body: Uint8Array,
    parts: Array<{ node: string; bytes: number }>,
    options?: StoreCallOptions,
  ): Promise<void> {
    this.total.requests.put += 1;
    this.total.bytesUp += body.byteLength;
    for (const { node, bytes } of parts) {
      this.link(node).bytesUp += bytes;
    }
    await this.store.put(key, body, options);
  }

  /** Records that a vector of `floats` floats moved (for {@link rawBytes}). */
  moved(floats: number): void {
    this.rawBytes += floats * 4;
  }

  private link(node: string): StoreUsage {
    let link = this.links.get(node);
    if (!link) {
      link = emptyUsage();
      this.links.set(node, link);
    }
    return link;
  }

  /** The edges used, in the order first used. */
  linkBytes(): Array<{ node: string } & LinkBytes> {
    return [...this.links].map(([node, usage]) => ({
      node,
      bytesUp: usage.bytesUp,
      bytesDown: usage.bytesDown,
    }));
  }
}
