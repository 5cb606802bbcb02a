/**
 * Bytes between the kernel and the runner: inline as base64 while they fit
 * Lambda's payload limit, else as an object in the payload bucket. Both
 * sides read and write the bucket through the process's shared S3 store
 * (exchange/store), which checksums every object and bounds every request.
 */
import { sharedStore } from '../../exchange/store/shared';
import type { LambdaSettings } from './config';
import type { Payload, StoredRef } from './protocol';

/** Base64 length of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The `s3://` store URL of the payload bucket under `prefix` (no credentials: they come from the SDK's chain). */
export function payloadStoreUrl(bucket: string, region: string, endpoint?: string): string {
  const query = new URLSearchParams({ region });
  if (endpoint !== undefined) {
    query.set('endpoint', endpoint);
  }
  return `s3://${bucket}?${query.toString()}`;
}

/** The payload bucket's store URL for Lambda settings. */
export function settingsStoreUrl(settings: Pick<LambdaSettings, 'bucket' | 'region' | 's3Endpoint'>): string {
  return payloadStoreUrl(settings.bucket, settings.region, settings.s3Endpoint);
}

/** Raised when a stored payload is gone (deleted with its run, or never written). */
export class PayloadMissingError extends Error {
  override readonly name = 'PayloadMissingError';
}

/** The bytes of a payload, from the bucket when they are stored there. */
export async function readPayload(payload: Payload, signal?: AbortSignal): Promise<Uint8Array> {
  if ('b64' in payload) {
    return Buffer.from(payload.b64, 'base64');
  }
  const bytes = await sharedStore(payload.stored.store).get(payload.stored.key, { signal });
  if (bytes === undefined) {
    throw new PayloadMissingError(
      `the payload ${payload.stored.key} is not in ${payload.stored.store}: it was deleted (its run ended) ` +
        'or never written. Run the cell again.',
    );
  }
  return bytes;
}

/** Stores `bytes` under `ref` and returns the payload naming it. */
export async function storePayload(
  bytes: Uint8Array,
  ref: StoredRef,
  signal?: AbortSignal,
): Promise<Payload> {
  await sharedStore(ref.store).put(ref.key, bytes, { signal });
  return { stored: ref };
}

/** `bytes` inline when their base64 fits `inlineLimit` bytes, else stored under `ref`. */
export async function toPayload(
  bytes: Uint8Array,
  inlineLimit: number,
  ref: StoredRef,
  signal?: AbortSignal,
): Promise<Payload> {
  if (base64Length(bytes.byteLength) <= inlineLimit) {
    return { b64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  }
  return storePayload(bytes, ref, signal);
}
