/**
 * Settings, limits and defaults of the AWS Lambda backend, named so that
 * messages, docs and tests quote the same numbers.
 */
import type { Arch } from '../../cost/prices';

/** Where the Lambda backend sends invocations (`%serverless config --backend lambda ...`). */
export interface LambdaSettings {
  /** AWS region of the runner function and the bucket. */
  region: string;
  /** The runner function's name (deployed by `%serverless deploy`). */
  functionName: string;
  /** Bucket for payloads over the invoke limit (and the S3 store when it names none). */
  bucket: string;
  /** A Lambda API endpoint other than AWS's (serverless-offline in tests), `http(s)://host:port`. */
  endpoint?: string;
  /** An S3 endpoint other than AWS's (s3rver in tests), `http(s)://host:port`; path-style requests. */
  s3Endpoint?: string;
  /** The runner's architecture: its price per GB-second depends on it. */
  arch: Arch;
  /**
   * How attempts are invoked: `on` with InvokeWithResponseStream (output
   * reaches the cell as it is made), `off` with a synchronous Invoke (output
   * arrives with the result), `auto` (the default when absent) streaming
   * until the endpoint says it has no such operation (serverless-offline),
   * then synchronously for these settings.
   */
  stream?: StreamMode;
}

/** `%serverless config --stream`. */
export type StreamMode = 'auto' | 'on' | 'off';

/** The stream modes, for the option's choices. */
export const STREAM_MODES: readonly StreamMode[] = ['auto', 'on', 'off'];

/** Lambda's limits (ENVIRONMENT.md, "AWS Lambda facts"). */
export const LAMBDA_LIMITS = {
  /** A synchronous invoke's request and response payload, bytes, each way. */
  syncPayloadBytes: 6_291_456,
  /** Function timeout, s. */
  maxTimeoutS: 900,
  /** Configurable memory, MB. */
  memoryMb: { min: 128, max: 10_240 },
  /** A deployment package, zipped, bytes (direct upload). */
  zippedCodeBytes: 50 * 1024 * 1024,
  /** A deployment package, unzipped, bytes. */
  unzippedCodeBytes: 250 * 1024 * 1024,
  /** `LogType: 'Tail'` returns at most this much of the log, bytes. */
  logTailBytes: 4096,
} as const;

/** The runner function as `%serverless deploy` creates it. */
export const RUNNER_DEFAULTS = {
  /** The managed runtime. */
  runtime: 'nodejs20.x',
  /**
   * `file.export` of the handler inside the deployment package: the
   * streaming one (the buffered `handler.handler` is serverless-offline's).
   */
  handler: 'handler.streamingHandler',
  /** The function's own timeout: the most any cell may ask for (cells' `--timeout` is enforced inside). */
  timeoutS: LAMBDA_LIMITS.maxTimeoutS,
  /** /tmp, MB. */
  ephemeralStorageMb: 1024,
  arch: 'x86_64' as Arch,
} as const;

/**
 * The alias the backend invokes for a cell's `--memory`: one published
 * version of the runner per memory size (Lambda bills and sizes CPU by the
 * function's configured memory, which a request cannot change).
 */
export function memoryAlias(memoryMb: number): string {
  return `m${memoryMb}`;
}

/** Bytes of the request envelope kept free under the payload limit (JSON framing, ids, settings). */
export const ENVELOPE_RESERVE_BYTES = 64 * 1024;

/** Key prefix of spilled payloads in the bucket; a run's are deleted when it ends. */
export const SPILL_PREFIX = 'serverless-kernel/payloads/';

/** Key prefix of bundled programs in the bucket, by content hash (uploaded once). */
export const PROGRAM_PREFIX = 'serverless-kernel/programs/';
