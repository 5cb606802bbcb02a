/**
 * What a store's use costs, in whole pico-dollars (the cost module's unit,
 * so sums are exact), by store kind:
 * - S3 Standard bills requests: PUT, COPY, POST and LIST at one price, GET
 *   at another, DELETE free (the price table in `cost/prices.ts`);
 * - Redis bills the node, by the hour, whatever the requests: the URL's
 *   `?usdPerHour=` (0 unless given) times how long it was used;
 * - the embedded store costs nothing.
 * Storage (GB-months) is not priced here: an exchange's objects live for
 * seconds.
 */
import { billStorage, CostModelError } from '../../cost/meter';
import { DEFAULT_PRICES, PriceTable } from '../../cost/prices';
import { picoToUsd, usdToPico } from '../../telemetry/protocol/money';
import type { StoreKind, StoreUsage } from './object-store';
import type { StoreSpec } from './url';

/** A price, in USD and in the whole pico-dollars it was computed in. */
export interface StoreCost {
  usd: number;
  pico: number;
}

const MS_PER_HOUR = 3_600_000n;

/** What the requests of `usage` cost on a store of `kind`. */
export function priceStoreRequests(
  kind: StoreKind,
  usage: StoreUsage,
  prices: PriceTable = DEFAULT_PRICES,
): StoreCost {
  if (kind !== 's3') {
    return { usd: 0, pico: 0 };
  }
  const { put, get, list } = usage.requests;
  const bill = billStorage({ putRequests: put + list, getRequests: get }, prices);
  return { usd: bill.usd, pico: bill.pico };
}

/**
 * What keeping the store for `ms` costs: a Redis node's hourly price for
 * that time (rounded to the nearest pico-dollar); nothing for the others.
 *
 * @throws CostModelError when `ms` is negative or not finite.
 */
export function priceStoreTime(spec: StoreSpec, ms: number): StoreCost {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new CostModelError(`A duration must be a finite number of ms >= 0, got ${ms}`);
  }
  if (spec.kind !== 'redis' || spec.usdPerHour === 0) {
    return { usd: 0, pico: 0 };
  }
  const product = BigInt(usdToPico(spec.usdPerHour)) * BigInt(Math.round(ms));
  const pico = Number((product + MS_PER_HOUR / 2n) / MS_PER_HOUR);
  return { usd: picoToUsd(pico), pico };
}
