/**
 * What an object store's requests cost, by store kind: S3 bills PUT, COPY,
 * POST and LIST at one price and GET at another (DELETE is free); Redis is
 * billed by the node-hour, not per request (see the store's own pricing);
 * the embedded store is free.
 */
import type { StoreRequests } from '../exchange/store/object-store';
import { billStorage, StorageBill } from './meter';
import { PriceTable } from './prices';

/** The bill of `requests` made to a store of kind `kind` (`embedded`, `redis`, `s3`). */
export function billStoreRequests(kind: string, requests: StoreRequests, prices: PriceTable): StorageBill {
  if (kind !== 's3') {
    return { usd: 0, pico: 0 };
  }
  return billStorage({ putRequests: requests.put + requests.list, getRequests: requests.get }, prices);
}
