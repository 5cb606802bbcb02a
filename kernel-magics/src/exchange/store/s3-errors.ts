/**
 * S3 SDK errors as store errors: what failed, after how many attempts, and
 * what to do. Kept apart from the store so it needs no SDK at run time (it
 * reads the fields every SDK v3 error carries).
 */
import { reasonOf } from './calls';
import { StoreError, StoreErrorInfo, StoreTimeoutError, StoreUnavailableError } from './errors';

/** The fields of an AWS SDK v3 error this module reads. */
interface SdkErrorFields {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

/** The HTTP status of an SDK error (undefined when no response came). */
export function httpStatusOf(error: unknown): number | undefined {
  return (error as SdkErrorFields | undefined)?.$metadata?.httpStatusCode;
}

/** The S3 error code (`NoSuchKey`, `SlowDown`...) or the error's name. */
export function s3CodeOf(error: unknown): string {
  const fields = (error as SdkErrorFields | undefined) ?? {};
  return fields.Code ?? fields.name ?? 'Error';
}

const NETWORK_CODES =
  /^(ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNABORTED)$/;
const CREDENTIAL_CODES =
  /^(AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|InvalidToken|CredentialsProviderError)$/;

/** What a store needs to describe a failure. */
export interface S3FailureContext {
  info: StoreErrorInfo;
  /** `S3 bucket b (prefix p/) at http://...`. */
  where: string;
  /** The bound of one attempt, ms. */
  timeoutMs: number;
}

/** Maps an SDK error (after the SDK's own retries) to a typed store error. */
export function s3Failure(context: S3FailureContext, error: unknown): StoreError {
  const { info, where, timeoutMs } = context;
  const fields = (error as SdkErrorFields | undefined) ?? {};
  const call = `${info.operation}${info.key !== undefined ? ` ${info.key}` : ''}`;
  const status = httpStatusOf(error);
  const code = s3CodeOf(error);
  const attempts = fields.$metadata?.attempts;
  const tries = attempts !== undefined && attempts > 1 ? ` after ${attempts} attempts` : '';
  const reason = reasonOf(error);
  const options = { cause: error };

  if (status === undefined) {
    if (fields.name === 'TimeoutError' && !/without establishing a connection/i.test(reason)) {
      return new StoreTimeoutError(
        `${call}: ${where} did not answer within ${timeoutMs} ms${tries}: the server is overloaded or ` +
          'unreachable (check it, or raise ?timeoutMs= on the store URL)',
        info,
        options,
      );
    }
    if (
      (fields.code !== undefined && NETWORK_CODES.test(fields.code)) ||
      fields.name === 'TimeoutError' ||
      /socket hang up|ECONNREFUSED|ECONNRESET|getaddrinfo/i.test(reason)
    ) {
      return new StoreUnavailableError(
        `${call}: cannot reach ${where} (${reason})${tries}. Start the S3 server there (s3rver for tests), ` +
          'or check the store URL (`%serverless config --store`)',
        info,
        options,
      );
    }
  }
  if (CREDENTIAL_CODES.test(code) || status === 403) {
    return new StoreError(
      `${call}: ${where} refused the credentials (${code}: ${reason}). Credentials come from the AWS SDK's ` +
        'default chain: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) where the kernel and ' +
        'its workers run',
      info,
      options,
    );
  }
  if (code === 'NoSuchBucket') {
    return new StoreError(
      `${call}: the bucket of ${where} does not exist: create it, or fix the store URL (\`%serverless config --store\`)`,
      info,
      options,
    );
  }
  if (status !== undefined && status >= 500) {
    const slowDown = code === 'SlowDown' || status === 503;
    return new StoreUnavailableError(
      `${call}: ${where} answered ${status} ${code}${tries}` +
        (slowDown
          ? ': the request rate is over what the bucket accepts; retry later, or spread the keys over more prefixes'
          : ': a server error; retry later'),
      info,
      options,
    );
  }
  return new StoreError(
    `${call} on ${where} failed: ${code}${status !== undefined ? ` (HTTP ${status})` : ''}: ${reason}`,
    info,
    options,
  );
}
