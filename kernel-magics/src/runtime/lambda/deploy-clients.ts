/**
 * The SDK clients a deploy uses, with time bounds on every request (the
 * deploy adds its own per call) and credentials from the SDK's default
 * provider chain only.
 */
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';

import type { LambdaSettings } from './config';
import type { DeployClients } from './deploy-calls';

/** Time bounds and attempts of the deploy's HTTP requests. */
export const DEPLOY_CLIENT_LIMITS = {
  /** Most time to open a connection, ms. */
  connectionTimeoutMs: 5_000,
  /** Most time a socket may sit idle during a request, ms. */
  requestTimeoutMs: 30_000,
  /** Attempts of a request the SDK retries (throttling, 5xx, network), first included. */
  maxAttempts: 3,
};

/**
 * Clients for `settings`' region; with `settings.endpoint`, both go there
 * (an emulator serves Lambda and IAM on one endpoint). Destroy them after
 * the deploy: their sockets keep a process alive.
 */
export function createDeployClients(settings: LambdaSettings): DeployClients & { destroy(): void } {
  const common = {
    region: settings.region,
    maxAttempts: DEPLOY_CLIENT_LIMITS.maxAttempts,
    requestHandler: {
      connectionTimeout: DEPLOY_CLIENT_LIMITS.connectionTimeoutMs,
      requestTimeout: DEPLOY_CLIENT_LIMITS.requestTimeoutMs,
    },
    ...(settings.endpoint !== undefined ? { endpoint: settings.endpoint } : {}),
  };
  const lambda = new LambdaClient(common);
  const iam = new IAMClient(common);
  return {
    lambda,
    iam,
    destroy: () => {
      lambda.destroy();
      iam.destroy();
    },
  };
}
