/**
 * The store the model store works through inside an invocation: each call's
 * requests go to the kernel as a `store-requests` event right after the
 * call, which bills them to the run at the store's prices (as the exchange's
 * are, through its round events). Outside an invocation nobody receives the
 * event, and nothing is billed.
 */
import { emitEvent } from '../output/events';
import { MeteredStore } from '../exchange/store/metered';

/** The event kind the kernel bills. */
export const STORE_REQUESTS_EVENT = 'store-requests';

/** A metered store that reports each call's requests to the kernel. */
export class ReportedStore extends MeteredStore {
  protected override async counting<T>(call: () => Promise<T>): Promise<T> {
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
