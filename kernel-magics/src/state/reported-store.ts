/**
 * The store the model store works through inside an invocation: each call's
 * requests go to the kernel as a `store-requests` event right after the
 * call, which bills them to the run at the store's prices (as the exchange's
 * are, through its round events). Outside an invocation nobody receives the
 * event, and nothing is billed.
 */
import { emitEvent } from '../output/events';
import { MeteredStore } from '../exchange/store/metered';
import type { StoreCallOptions } from '../exchange/store/object-store';

/** The event kind the kernel bills. */
export const STORE_REQUESTS_EVENT = 'store-requests';

/** A metered store that reports each call's requests to the kernel. */
export class ReportedStore extends MeteredStore {
  override async put(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<void> {
    return this.reporting(() => super.put(key, body, options));
  }

  override async putIfAbsent(key: string, body: Uint8Array, options?: StoreCallOptions): Promise<boolean> {
    return this.reporting(() => super.putIfAbsent(key, body, options));
  }

  override async get(key: string, options?: StoreCallOptions): Promise<Uint8Array | undefined> {
    return this.reporting(() => super.get(key, options));
  }

  override async list(prefix: string, options?: StoreCallOptions): Promise<string[]> {
    return this.reporting(() => super.list(prefix, options));
  }

  override async delete(key: string, options?: StoreCallOptions): Promise<void> {
    return this.reporting(() => super.delete(key, options));
  }

  override async deletePrefix(prefix: string, options?: StoreCallOptions): Promise<number> {
    return this.reporting(() => super.deletePrefix(prefix, options));
  }

  private async reporting<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } finally {
      const { requests } = this.take();
      if (requests.put + requests.get + requests.list + requests.delete > 0) {
        emitEvent(STORE_REQUESTS_EVENT, { store: this.kind, ...requests });
      }
    }
  }
}
