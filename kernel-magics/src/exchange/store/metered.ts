/**
 * A store that counts what its calls cost the provider: requests by kind
 * (as S3 bills them) and bytes moved, so an exchange round or a run can be
 * priced ({@link priceStoreRequests}) and shown in telemetry.
 *
 * Counted per call that resolved (a call that rejects is not counted: the
 * meter cannot know whether the provider billed it, nor the SDK's retries):
 * - put and putIfAbsent: one put, the body's bytes up (a put-if-absent
 *   that found the key sent its body too);
 * - get and getRange: one get, the bytes read down (none when absent);
 * - list: its pages ({@link listRequests}: 1,000 keys a page on S3);
 * - delete: one delete;
 * - deletePrefix: its listing's pages, plus its delete requests
 *   ({@link deleteRequests}: one DeleteObjects per 1,000 keys on S3).
 */
import { emptyUsage, ObjectStore, StoreCallOptions, StoreUsage } from './object-store';
import { deleteRequests, listRequests } from './requests';

/** Wraps any store and counts its calls in a {@link StoreUsage}. */
export class MeteredStore implements ObjectStore {
  private counted: StoreUsage = emptyUsage();
  /**
   * The inner store's watch (not a request: nothing is counted); absent
   * when the inner store cannot watch, so that waiters know to poll.
   */
  readonly watch?: (prefix: string, onChange: () => void) => () => void;
  /** The inner store's ranged get, counted as a get; absent when the inner store has none. */
  readonly getRange?: ObjectStore['getRange'];

  constructor(readonly inner: ObjectStore) {
    this.watch = inner.watch?.bind(inner);
    const ranged = inner.getRange?.bind(inner);
    this.getRange =
      ranged &&
      ((key, offset, length, options) => this.countedGet(() => ranged(key, offset, length, options)));
  }

  get kind() {
    return this.inner.kind;
  }

  get location(): string {
    return this.inner.location;
  }

  /** What the calls so far moved (a copy). */
  usage(): StoreUsage {
    return copyUsage(this.counted);
  }

  /** Starts counting from zero. */
  reset(): void {
    this.counted = emptyUsage();
  }

  /** What the calls since the last take (or reset) moved; counting restarts from zero. */
  take(): StoreUsage {
    const taken = this.counted;
    this.counted = emptyUsage();
    return taken;
  }

  put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void> {
    return this.counting(async () => {
      await this.inner.put(key, body, options);
      this.counted.requests.put += 1;
      this.counted.bytesUp += body.byteLength;
    });
  }

  putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    return this.counting(async () => {
      const written = await this.inner.putIfAbsent(key, body, options);
      this.counted.requests.put += 1;
      this.counted.bytesUp += body.byteLength;
      return written;
    });
  }

  get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    return this.countedGet(() => this.inner.get(key, options));
  }

  list(prefix: string, options?: StoreCallOptions): Promise<string[]> {
    return this.counting(async () => {
      const keys = await this.inner.list(prefix, options);
      this.counted.requests.list += listRequests(this.kind, keys.length);
      return keys;
    });
  }

  delete(key: string, options?: StoreCallOptions): Promise<void> {
    return this.counting(async () => {
      await this.inner.delete(key, options);
      this.counted.requests.delete += 1;
    });
  }

  deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number> {
    return this.counting(async () => {
      const removed = await this.inner.deletePrefix(prefix, options);
      this.counted.requests.list += listRequests(this.kind, removed);
      this.counted.requests.delete += deleteRequests(this.kind, removed);
      return removed;
    });
  }

  /** A get or a ranged get, counted as one get of the bytes it read. */
  private countedGet(read: () => Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined> {
    return this.counting(async () => {
      const body = await read();
      this.counted.requests.get += 1;
      this.counted.bytesDown += body?.byteLength ?? 0;
      return body;
    });
  }

  /** Runs one counted call; a subclass may do more around it (report what it counted). */
  protected counting<T>(call: () => Promise<T>): Promise<T> {
    return call();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** `a + b`, field by field. */
export function addUsage(a: StoreUsage, b: StoreUsage): StoreUsage {
  return {
    requests: {
      put: a.requests.put + b.requests.put,
      get: a.requests.get + b.requests.get,
      list: a.requests.list + b.requests.list,
      delete: a.requests.delete + b.requests.delete,
    },
    bytesUp: a.bytesUp + b.bytesUp,
    bytesDown: a.bytesDown + b.bytesDown,
  };
}

/** All requests of a usage, of every kind (what `exchange-round` telemetry's `requests` counts). */
export function totalRequests(usage: StoreUsage): number {
  const { put, get, list, delete: deletes } = usage.requests;
  return put + get + list + deletes;
}

function copyUsage(usage: StoreUsage): StoreUsage {
  return { requests: { ...usage.requests }, bytesUp: usage.bytesUp, bytesDown: usage.bytesDown };
}
