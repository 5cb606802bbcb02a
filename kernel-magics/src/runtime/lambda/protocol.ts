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
    /** CPU time the program's process used, ms. */
    cpuMs?: number;
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

/**
 * One line of a streamed answer (the runner's `streamingHandler`): NDJSON,
 * each output item as the program makes it, then the response, whose
 * `output` is empty since every item went before it.
 */
export type RunnerFrame = { output: RunnerOutput } | { response: RunnerResponse | SpilledResponse };

/** A frame as the runner writes it: one JSON line. */
export function encodeFrame(frame: RunnerFrame): string {
  return `${JSON.stringify(frame)}\n`;
}

/** Raised for a streamed answer that is not a sequence of runner frames (or ends inside one). */
export class RunnerFrameError extends Error {
  override readonly name = 'RunnerFrameError';
}

/**
 * Reads runner frames from chunks cut anywhere (inside a line, inside a
 * UTF-8 character). A body that is one JSON response without framing (a
 * runner whose handler is not streamified answers so, as does a synchronous
 * Invoke of a buffered one) reads as that response's frame, at the end.
 */
export class RunnerFrameReader {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private pending = '';
  private framed = false;

  /**
   * The frames completed by `chunk`.
   *
   * @throws RunnerFrameError for bytes that are not UTF-8 or a line that is not a frame.
   */
  push(chunk: Uint8Array): RunnerFrame[] {
    this.pending += this.decode(chunk, true);
    const frames: RunnerFrame[] = [];
    for (let end = this.pending.indexOf('\n'); end >= 0; end = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 1);
      if (line.trim() !== '') {
        frames.push(toFrame(line));
        this.framed = true;
      }
    }
    return frames;
  }

  /**
   * The frames left when the body ended: none after a complete framed body,
   * the whole response for an unframed one.
   *
   * @throws RunnerFrameError when the body ends inside a line (a truncated answer).
   */
  end(): RunnerFrame[] {
    const rest = this.pending + this.decode(new Uint8Array(), false);
    this.pending = '';
    if (rest.trim() === '') {
      return [];
    }
    if (!this.framed) {
      const whole = parseLine(rest);
      if (typeof whole === 'object' && whole !== null && 'protocol' in whole) {
        return [{ response: whole as RunnerResponse | SpilledResponse }];
      }
    }
    throw new RunnerFrameError(
      `The runner's streamed answer ended inside a line (${rest.length} characters unread): ` +
        'the invocation was cut off; run the cell again.',
    );
  }

  private decode(chunk: Uint8Array, stream: boolean): string {
    try {
      return this.decoder.decode(chunk, { stream });
    } catch {
      throw new RunnerFrameError("The runner's streamed answer is not UTF-8: is --function the runner?");
    }
  }
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

function toFrame(line: string): RunnerFrame {
  const value = parseLine(line);
  if (typeof value === 'object' && value !== null && ('output' in value || 'response' in value)) {
    return value as RunnerFrame;
  }
  if (typeof value === 'object' && value !== null && 'protocol' in value) {
    // A plain response followed by a newline: one frame all the same.
    return { response: value as RunnerResponse | SpilledResponse };
  }
  throw new RunnerFrameError(
    `The runner streamed a line that is not a runner frame (${line.slice(0, 80)}): ` +
      'is --function the runner? Deploy it with %serverless deploy.',
  );
}
