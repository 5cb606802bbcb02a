/**
 * What travels between the kernel and the runner function: one JSON event
 * per attempt and one JSON response. Binary parts (captures, the element,
 * the result) travel as base64 inline, or as an S3 object when the request
 * or the response would pass Lambda's payload limit. Nothing here carries
 * credentials: the runner reads S3 with its own execution role.
 */
import type { MimeBundle, JsonObject } from '../../kernel/messages';
import type { InvocationEvent } from '../../output/sink';
import type { StoreRequests } from '../../exchange/store/object-store';
import type { RemoteError } from '../backend';

/** The protocol version; a runner refuses an event of another one. */
export const RUNNER_PROTOCOL = 1;

/**
 * An object in the payload bucket: an `s3://` store URL (bucket, prefix,
 * region, and the endpoint when it is not AWS's: s3rver in tests) and a key
 * in that store. Both sides open it as an ObjectStore (exchange/store), so
 * a spilled payload is checksummed, and its requests counted, as the
 * store's own objects are.
 */
export interface StoredRef {
  store: string;
  key: string;
}

/** Bytes, inline (base64) or in the payload bucket. */
export type Payload = { b64: string } | { stored: StoredRef };

/** The event of one attempt. */
export interface RunnerEvent {
  protocol: typeof RUNNER_PROTOCOL;
  id: string;
  runId: string;
  index?: number;
  attempt: number;
  /** The bundled program (its imports inside); `source` inline or in S3 by hash. */
  program: { hash: string; filename: string; source: Payload };
  captures: { hash: string; bytes: Payload };
  element?: Payload;
  memoryMb: number;
  timeoutS: number;
  /** The store URL the program's exchange and models use, without credentials. */
  store?: string;
  /** Where the runner puts a response too large to return (a key under SPILL_PREFIX). */
  spill: StoredRef;
}

/** Output of the program, in the order it was made. */
export type RunnerOutput =
  | { kind: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { kind: 'display'; data: MimeBundle; metadata: JsonObject; displayId?: string; update?: boolean }
  | { kind: 'clear'; wait: boolean }
  | { kind: 'event'; event: InvocationEvent };

/** How the program's attempt ended, as the runner saw it. */
export type RunnerOutcome =
  | { status: 'ok'; result: Payload }
  | { status: 'error'; error: RemoteError }
  | { status: 'timeout' | 'out-of-memory' | 'crashed' | 'cancelled'; message: string };

/** Code an earlier invocation of this environment left behind failed (see backend.ts LateErrorInfo). */
export interface RunnerLateError {
  invocationId: string;
  attempt: number;
  error: RemoteError;
}

/** The runner's answer. */
export interface RunnerResponse {
  protocol: typeof RUNNER_PROTOCOL;
  outcome: RunnerOutcome;
  output: RunnerOutput[];
  /** Bytes of output dropped over the runner's output limit. */
  droppedOutputBytes: number;
  /** Requests the runner made to the payload bucket for this attempt (billed to the run). */
  payloadRequests: StoreRequests;
  lateErrors: RunnerLateError[];
  /** The runner's own figures (the REPORT line's win when there is one). */
  figures: {
    /** The execution environment (the Lambda sandbox) that ran it. */
    environmentId: string;
    /** Whether the program's process was started for this attempt. */
    cold: boolean;
    initMs: number;
    durationMs: number;
    maxMemoryUsedMb?: number;
  };
}

/** A response too large to return: it is in S3. */
export interface SpilledResponse {
  protocol: typeof RUNNER_PROTOCOL;
  spilled: StoredRef;
}

/** Whether a parsed payload is a spilled response. */
export function isSpilled(value: RunnerResponse | SpilledResponse): value is SpilledResponse {
  return 'spilled' in value;
}
