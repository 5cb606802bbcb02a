/**
 * The retry policy of the Invoke call itself (not of the program it runs):
 * which failures of the request are worth sending again, and how long to
 * wait. Retried: throttles (HTTP 429, honouring the service's Retry-After),
 * the service's transient faults (5xx), and connections that failed before
 * the request was sent. Never retried: the caller's mistakes (4xx), an abort,
 * and a connection lost after the request was sent (the function may be
 * running: the caller decides). Bounded: at most INVOKE_MAX_ATTEMPTS
 * attempts, each wait capped at INVOKE_MAX_DELAY_MS.
 */
import { type Backoff, backoffDelay } from '../scheduling/retry';

/** The most times one Invoke request is sent, throttles and faults included. */
export const INVOKE_MAX_ATTEMPTS = 8;

/** The longest wait before sending an Invoke again, ms, whatever the service asks. */
export const INVOKE_MAX_DELAY_MS = 20_000;

/** The backoff between Invoke attempts (doubling from `baseMs`, equal jitter). */
export const INVOKE_BACKOFF: Backoff = { baseMs: 100, maxMs: INVOKE_MAX_DELAY_MS };

/** The throttle the Invoke API answers with HTTP 429 (its `Reason` says which limit). */
export const THROTTLE_ERROR_NAME = 'TooManyRequestsException';

/**
 * Service faults Lambda answers with 5xx that a retry cannot fix: the
 * function's configuration (its KMS key, VPC, runtime or package) is wrong
 * until someone changes it.
 */
export const PERMANENT_SERVER_FAULTS: readonly string[] = [
  'EC2AccessDeniedException',
  'ENILimitReachedException',
  'InvalidRuntimeException',
  'InvalidSecurityGroupIDException',
  'InvalidSubnetIDException',
  'InvalidZipFileException',
  'KMSAccessDeniedException',
  'KMSDisabledException',
  'KMSInvalidStateException',
  'KMSNotFoundException',
  'SubnetIPAddressLimitReachedException',
];

/** Service faults that are throttles too (Lambda throttled by EC2 while setting the function up). */
const SERVER_THROTTLES: readonly string[] = ['EC2ThrottledException'];

/**
 * Codes of connections that failed before any of the request was sent:
 * refused, unreachable, or a name that did not resolve for now.
 */
export const PRE_SEND_CONNECTION_CODES: readonly string[] = [
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
];

/** The SDK's own message when its connection timeout passed before the socket connected. */
const SDK_CONNECT_TIMEOUT = /did not establish a connection/;

/**
 * Node's message of a connection that failed before sending (`connect
 * ECONNREFUSED 127.0.0.1:9`, `getaddrinfo EAI_AGAIN host`), which is all
 * that is left when the SDK wraps an error from another realm (a vm
 * context, as under jest) in a plain Error: "AWS SDK error wrapper for ...".
 */
const PRE_SEND_MESSAGE = new RegExp(
  `^(?:AWS SDK error wrapper for )?(?:\\w*Error: )?(?:connect|getaddrinfo) (?:${PRE_SEND_CONNECTION_CODES.join('|')}|ETIMEDOUT)\\b`,
);

/**
 * How long to wait before sending the Invoke again after attempt `attempt`
 * (1-based) failed with `error`, ms; undefined to give up: the error is not
 * retried, or the attempts are used up. A throttle waits at least its
 * `retryAfterSeconds` (up to the cap), plus the backoff, so that the
 * invocations a burst throttled together do not come back together.
 */
export function invokeRetryDelay(
  error: unknown,
  attempt: number,
  random: () => number = Math.random,
): number | undefined {
  if (!Number.isFinite(attempt) || attempt >= INVOKE_MAX_ATTEMPTS || !isRetriedInvokeError(error)) {
    return undefined;
  }
  const backoff = backoffDelay(Math.max(1, Math.floor(attempt)), INVOKE_BACKOFF, random);
  const asked = describeThrottle(error)?.retryAfterMs ?? 0;
  return Math.min(INVOKE_MAX_DELAY_MS, asked + backoff);
}

/** Whether a failed Invoke is worth sending again (see the module's comment). */
export function isRetriedInvokeError(error: unknown): boolean {
  if (!isObject(error) || error.name === 'AbortError') {
    return false;
  }
  if (describeThrottle(error) !== undefined) {
    return true;
  }
  const fault = error.$fault;
  const status = httpStatus(error);
  if (fault === 'server' || (fault === undefined && status !== undefined && status >= 500)) {
    return !PERMANENT_SERVER_FAULTS.includes(String(error.name));
  }
  return fault === undefined && failedBeforeSending(error);
}

/**
 * What throttled an Invoke, for the panel ("throttled:
 * ConcurrentInvocationLimitExceeded") and the retry's wait; undefined when
 * `error` is not a throttle.
 */
export function describeThrottle(error: unknown): { reason: string; retryAfterMs?: number } | undefined {
  if (!isObject(error)) {
    return undefined;
  }
  const name = typeof error.name === 'string' ? error.name : '';
  const throttled =
    name === THROTTLE_ERROR_NAME || SERVER_THROTTLES.includes(name) || httpStatus(error) === 429;
  if (!throttled) {
    return undefined;
  }
  const reason = typeof error.Reason === 'string' && error.Reason !== '' ? error.Reason : name || 'HTTP 429';
  const retryAfterMs = secondsToMs(error.retryAfterSeconds);
  return retryAfterMs === undefined ? { reason } : { reason, retryAfterMs };
}

/** `retryAfterSeconds` (the Retry-After header, a string of seconds) in ms; undefined unless a number >= 0. */
function secondsToMs(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^\s*\d+(?:\.\d+)?\s*$/.test(text)) {
    return undefined;
  }
  return Number(text) * 1000;
}

/** Whether a network error happened before any of the request was sent. */
function failedBeforeSending(error: Record<string, unknown>): boolean {
  if (typeof error.code === 'string' && PRE_SEND_CONNECTION_CODES.includes(error.code)) {
    return true;
  }
  // Node reports a failed connect with syscall `connect` (a connect that timed out included).
  if (error.syscall === 'connect') {
    return true;
  }
  const message = typeof error.message === 'string' ? error.message : '';
  if (
    (error.name === 'TimeoutError' && SDK_CONNECT_TIMEOUT.test(message)) ||
    PRE_SEND_MESSAGE.test(message)
  ) {
    return true;
  }
  // Trying several addresses, Node gathers their failures in an AggregateError.
  const causes = error.errors;
  return (
    Array.isArray(causes) &&
    causes.length > 0 &&
    causes.every((cause) => isObject(cause) && failedBeforeSending(cause))
  );
}

function httpStatus(error: Record<string, unknown>): number | undefined {
  const metadata = error.$metadata;
  const status = isObject(metadata) ? metadata.httpStatusCode : undefined;
  return typeof status === 'number' ? status : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
