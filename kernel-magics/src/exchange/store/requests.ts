/**
 * How many provider requests a store call makes, by store kind: what the
 * stores batch by and what the meter counts, in one place so they agree.
 * S3 bills per request (a ListObjectsV2 page, a DeleteObjects batch); Redis
 * and the embedded store bill nothing per request, their counts are calls.
 */
import type { StoreKind } from './object-store';

/** Keys per ListObjectsV2 page (S3's maximum and default). */
export const S3_LIST_PAGE = 1000;
/** Keys per DeleteObjects request (S3's maximum). */
export const S3_DELETE_BATCH = 1000;
/** Keys per UNLINK command of a Redis prefix delete. */
export const REDIS_UNLINK_BATCH = 500;
/** The COUNT hint of each Redis SCAN step. */
export const REDIS_SCAN_COUNT = 1000;

/** List requests of a listing that found `keys` keys. */
export function listRequests(kind: StoreKind, keys: number): number {
  return kind === 's3' ? Math.max(1, Math.ceil(keys / S3_LIST_PAGE)) : 1;
}

/** Delete requests of a prefix delete that removed `keys` keys. */
export function deleteRequests(kind: StoreKind, keys: number): number {
  switch (kind) {
    case 's3':
      return Math.ceil(keys / S3_DELETE_BATCH);
    case 'redis':
      return Math.ceil(keys / REDIS_UNLINK_BATCH);
    case 'embedded':
      return keys;
  }
}
