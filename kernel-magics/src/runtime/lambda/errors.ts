/**
 * The Lambda backend's errors, each saying what is missing and the command
 * that fixes it. Messages never hold credentials: they name the settings,
 * never their secret values.
 */
import type { LambdaSettings } from './config';
import { memoryAlias } from './config';

/** Raised when `--backend lambda` is used before the runner is configured. */
export class LambdaConfigError extends Error {
  override readonly name = 'LambdaConfigError';
}

/** What an Invoke was sent to (for messages). */
export interface InvokeTarget {
  settings: LambdaSettings;
  memoryMb: number;
}

/** An Invoke that failed for a reason of the platform's or the account's, as the cell shows it. */
export interface InvokeFailure {
  name: string;
  message: string;
}

/** The failure of an Invoke that threw (not a function error: those are outcomes). */
export function describeInvokeError(error: unknown, target: InvokeTarget): InvokeFailure {
  const { settings, memoryMb } = target;
  const name = errorName(error);
  const detail = error instanceof Error ? error.message : String(error);
  const fn = `${settings.functionName}:${memoryAlias(memoryMb)}`;
  const where = settings.endpoint ?? `AWS Lambda in ${settings.region}`;
  if (name === 'ResourceNotFoundException') {
    return {
      name: 'LambdaRunnerNotDeployed',
      message:
        `The runner ${fn} is not deployed at ${where} (${detail}). Run \`%serverless deploy --memory ${memoryMb}\` ` +
        `(or \`npx serverless-kernel deploy --region ${settings.region} --function ${settings.functionName} ` +
        `--bucket ${settings.bucket} --memory ${memoryMb}\`), or check --function and --region.`,
    };
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(detail)) {
    return {
      name: 'LambdaCredentialsMissing',
      message:
        'No AWS credentials were found (the AWS SDK looks in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ' +
        'AWS_PROFILE and ~/.aws, then the instance role). Run `aws configure` or set AWS_PROFILE in the ' +
        'environment Jupyter starts from, then restart the kernel. (serverless-offline accepts any credentials: ' +
        'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to any value.)',
    };
  }
  if (
    name === 'AccessDeniedException' ||
    name === 'UnrecognizedClientException' ||
    name === 'InvalidSignatureException'
  ) {
    return {
      name: 'LambdaAccessDenied',
      message:
        `AWS refused to invoke ${fn} (${name}: ${detail}). The credentials need lambda:InvokeFunction on ` +
        `arn:aws:lambda:${settings.region}:<account>:function:${settings.functionName}:*; ` +
        'grant it, or use a profile that has it (AWS_PROFILE).',
    };
  }
  if (isConnectionRefused(error)) {
    return {
      name: 'LambdaUnreachable',
      message:
        `Cannot reach the Lambda API at ${where} (${detail}). ` +
        (settings.endpoint
          ? 'Start the local runner with `npm run offline` (it prints the %serverless config line to use).'
          : 'Check the network and --region.'),
    };
  }
  return {
    name: name || 'LambdaInvokeError',
    message: `Invoking ${fn} at ${where} failed: ${name}: ${detail}`,
  };
}

function errorName(error: unknown): string {
  return typeof error === 'object' && error !== null && 'name' in error
    ? String((error as { name: unknown }).name)
    : '';
}

/** Whether the error is a refused connection (nothing was sent). */
export function isConnectionRefused(error: unknown): boolean {
  for (let current: unknown = error; typeof current === 'object' && current !== null;) {
    if ((current as { code?: unknown }).code === 'ECONNREFUSED') {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
