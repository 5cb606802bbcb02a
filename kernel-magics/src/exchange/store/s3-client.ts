/**
 * The settings of the S3 store's client: every request bounded (a
 * connection timeout, a timeout per attempt, a few attempts with the SDK's
 * standard backoff, which retries throttling such as 503 SlowDown, 5xx and
 * network errors), credentials from the AWS SDK's default chain only.
 */
import type { S3ClientConfig } from '@aws-sdk/client-s3';

import type { S3StoreSpec } from './url';

/** Attempts of one request, the first included. */
export const S3_MAX_ATTEMPTS = 4;
/** How long opening a connection may take, ms. */
export const S3_CONNECT_TIMEOUT_MS = 3_000;

/** What the client settings take besides the spec. */
export interface S3ClientOptions {
  /**
   * Where AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and
   * AWS_REGION are read from; default: the SDK's own chain (which reads the
   * process's environment, then profiles and roles).
   */
  env?: NodeJS.ProcessEnv;
  /** Attempts per request (default {@link S3_MAX_ATTEMPTS}). */
  maxAttempts?: number;
}

/** The client settings of a spec (see the module comment). */
export function s3ClientConfig(spec: S3StoreSpec, options: S3ClientOptions = {}): S3ClientConfig {
  const env = options.env ?? process.env;
  const accessKeyId = options.env?.AWS_ACCESS_KEY_ID;
  const secretAccessKey = options.env?.AWS_SECRET_ACCESS_KEY;
  return {
    region: spec.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: spec.endpoint,
    forcePathStyle: spec.endpoint !== undefined,
    followRegionRedirects: spec.endpoint === undefined,
    // The chain reads the process's environment; an explicit env stands in for that step only.
    credentials:
      accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey, sessionToken: options.env?.AWS_SESSION_TOKEN || undefined }
        : undefined,
    maxAttempts: options.maxAttempts ?? S3_MAX_ATTEMPTS,
    retryMode: 'standard',
    // The store checks bodies itself (SHA-256 in the metadata); CRC32 stays on where S3 requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      connectionTimeout: S3_CONNECT_TIMEOUT_MS,
      requestTimeout: spec.timeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: spec.timeoutMs,
    },
  };
}
