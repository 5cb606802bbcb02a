/**
 * The Lambda client of a backend's settings: credentials from the AWS SDK's
 * default chain only, one attempt per send (the backend retries, and shows
 * what it retried), connections bounded in time.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';

import type { LambdaSettings } from './config';

/** How long opening a connection to the Lambda API may take, ms. */
export const LAMBDA_CONNECT_TIMEOUT_MS = 5_000;

/** A client for `settings` (the caller destroys it). */
export function lambdaClient(settings: LambdaSettings): LambdaClient {
  return new LambdaClient({
    region: settings.region,
    endpoint: settings.endpoint,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: LAMBDA_CONNECT_TIMEOUT_MS },
  });
}
