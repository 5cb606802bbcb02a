/**
 * Why a deploy of the runner stopped, as typed errors whose message names
 * what is missing and the command that fixes it; and the mapping from the
 * AWS SDK's errors (credentials, region, permissions, network) to them.
 */

/** A deploy that cannot go on; the message says what to do. */
export class DeployError extends Error {
  override readonly name: string = 'DeployError';
}

/** No AWS credentials in the SDK's default provider chain. */
export class MissingCredentialsError extends DeployError {
  override readonly name = 'MissingCredentialsError';
}

/** AWS refused the credentials (unknown key, bad signature, expired token). */
export class InvalidCredentialsError extends DeployError {
  override readonly name = 'InvalidCredentialsError';
}

/** No region to deploy to. */
export class MissingRegionError extends DeployError {
  override readonly name = 'MissingRegionError';
}

/** The caller's identity lacks an IAM action the deploy needs. */
export class PermissionDeniedError extends DeployError {
  override readonly name = 'PermissionDeniedError';
  constructor(
    /** The IAM action to grant, e.g. `lambda:CreateFunction`. */
    readonly action: string,
    message: string,
  ) {
    super(message);
  }
}

/** The Lambda or IAM endpoint did not answer. */
export class EndpointUnreachableError extends DeployError {
  override readonly name = 'EndpointUnreachableError';
}

/** Lambda still could not assume a new role after the bounded retries. */
export class RoleNotAssumableError extends DeployError {
  override readonly name = 'RoleNotAssumableError';
}

/** The function did not become ready within the deploy's bound. */
export class DeployWaitTimeoutError extends DeployError {
  override readonly name = 'DeployWaitTimeoutError';
}

/** Lambda reported a failed update or creation of the function. */
export class FunctionUpdateFailedError extends DeployError {
  override readonly name = 'FunctionUpdateFailedError';
}

/** The deploy was interrupted; what was done stays done. */
export class DeployAbortedError extends DeployError {
  override readonly name = 'DeployAbortedError';
}

/** The deploy's inputs are unusable (memory sizes, names). */
export class DeployInputError extends DeployError {
  override readonly name = 'DeployInputError';
}

/**
 * Whether `error` is the AWS error `name` (by name, not class: an SDK
 * client installed twice has two classes of each error).
 */
export function isAwsError(error: unknown, name: string): error is Error {
  return error instanceof Error && error.name === name;
}

/** What a failed call was. */
export interface FailedCall {
  /** The IAM action of the call, e.g. `lambda:GetFunction`. */
  action: string;
  /** Where it went: `AWS Lambda in eu-west-1`, or the endpoint URL. */
  target: string;
  /** The call ran past its own time bound. */
  timedOut: boolean;
  /** The deploy's signal was aborted. */
  aborted: boolean;
}

/** The fields of an SDK error this mapping reads. */
interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Network failures: the endpoint is not there, or answers nothing. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Error names AWS gives to credentials it does not accept. */
const REJECTED_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
]);

const DENIED = new Set(['AccessDeniedException', 'AccessDenied']);

const GRANT_HINT = '`serverless-kernel deploy --dry-run` lists every action a deploy needs';

/** The action AWS names in an access-denied message ("not authorized to perform: iam:PassRole"). */
function deniedAction(message: string): string | undefined {
  return /not authorized to perform:?\s+([a-z0-9-]+:[A-Za-z0-9]+)/.exec(message)?.[1];
}

/**
 * The typed error for a failed AWS call, or the SDK's own error when it is
 * about the request itself (its message then says what AWS refused).
 */
export function toDeployError(error: unknown, call: FailedCall): Error {
  if (call.aborted) {
    return new DeployAbortedError(
      `The deploy was interrupted during ${call.action}; what was done stays. Run deploy again to finish it.`,
    );
  }
  const sdk = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const message = sdk.message ?? String(error);
  if (sdk.name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new MissingCredentialsError(
      `No AWS credentials found (environment, ~/.aws, SSO, instance role). Run \`aws configure\` ` +
        '(or `aws sso login`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), then deploy again.',
    );
  }
  if (/Region is missing/i.test(message)) {
    return new MissingRegionError(
      'No AWS region: pass --region (or set AWS_REGION, or run `aws configure set region <region>`).',
    );
  }
  if (sdk.name !== undefined && REJECTED_CREDENTIALS.has(sdk.name)) {
    return new InvalidCredentialsError(
      `AWS rejected the credentials during ${call.action} (${sdk.name}: ${message}). ` +
        'Run `aws configure` (or `aws sso login` for expired SSO sessions), then deploy again.',
    );
  }
  if (sdk.name !== undefined && DENIED.has(sdk.name)) {
    const action = deniedAction(message) ?? call.action;
    return new PermissionDeniedError(
      action,
      `Permission denied: your AWS identity may not ${action} (${message}). Grant "${action}" in its IAM ` +
        `policy (${GRANT_HINT}), then deploy again.`,
    );
  }
  if (
    call.timedOut ||
    (sdk.code !== undefined && NETWORK_CODES.has(sdk.code)) ||
    sdk.name === 'TimeoutError'
  ) {
    const why = call.timedOut ? 'no answer in time' : (sdk.code ?? sdk.name);
    return new EndpointUnreachableError(
      `Cannot reach ${call.target} (${why}) for ${call.action}. Check --endpoint (is the emulator running?) ` +
        'or your network and proxy settings, then deploy again.',
    );
  }
  return error instanceof Error ? error : new DeployError(message);
}
