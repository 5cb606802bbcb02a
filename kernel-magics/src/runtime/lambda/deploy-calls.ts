/**
 * How the deploy talks to AWS: every call with its IAM action (for error
 * messages and the dry run's list), a time bound of its own and the deploy's
 * AbortSignal; the SDK's waiters bounded the same way.
 */
import type { IAMClient } from '@aws-sdk/client-iam';
import {
  GetFunctionCommandOutput,
  LambdaClient,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  waitUntilPublishedVersionActive,
} from '@aws-sdk/client-lambda';

import { DeployWaitTimeoutError, FunctionUpdateFailedError, toDeployError } from './deploy-errors';

/** The SDK clients a deploy uses (injected: tests record their commands). */
export interface DeployClients {
  lambda: LambdaClient;
  iam: IAMClient;
}

/** Most time one AWS call may take, ms, beside the clients' own socket timeouts. */
export const CALL_TIMEOUT_MS = 60_000;

/** Most time a call that uploads the package may take, ms (up to 50 MB on a slow uplink). */
export const UPLOAD_TIMEOUT_MS = 600_000;

/** Most time a deploy waits for the function to become ready after one change, s. */
export const FUNCTION_READY_MAX_WAIT_S = 300;

/** Polling delays of the waiters, s (the SDK's defaults start at 1 s and grow to 300 s). */
const WAITER_DELAYS_S = { minDelay: 1, maxDelay: 5 };

/** What every call of one deploy shares. */
export interface CallContext {
  signal: AbortSignal;
  /** Where each service's calls go, for messages: `AWS Lambda in eu-west-1`, or the endpoint. */
  targets: { lambda: string; iam: string };
}

/** Where an action's call goes (`iam:GetRole` goes to IAM). */
function targetOf(action: string, context: CallContext): string {
  return action.startsWith('iam:') ? context.targets.iam : context.targets.lambda;
}

/** A signal that fires on the deploy's signal or after a time bound; dispose it when done. */
interface BoundedSignal {
  signal: AbortSignal;
  timedOut(): boolean;
  dispose(): void;
}

function boundedSignal(outer: AbortSignal, timeoutMs: number, what: string): BoundedSignal {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`${what} took over ${timeoutMs} ms`));
  }, timeoutMs);
  const onAbort = (): void => controller.abort(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  if (outer.aborted) {
    onAbort();
  }
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      outer.removeEventListener('abort', onAbort);
    },
  };
}

/**
 * Runs one AWS call with an abort signal that fires on the deploy's signal
 * or after `timeoutMs`; maps its failure to a typed error (see
 * {@link toDeployError}), or rethrows the SDK's error for the caller to read
 * (a ResourceNotFoundException is an answer, not a failure).
 */
export async function awsCall<T>(
  action: string,
  context: CallContext,
  run: (abortSignal: AbortSignal) => Promise<T>,
  timeoutMs = CALL_TIMEOUT_MS,
): Promise<T> {
  const bound = boundedSignal(context.signal, timeoutMs, action);
  try {
    if (context.signal.aborted) {
      throw context.signal.reason;
    }
    return await run(bound.signal);
  } catch (error) {
    throw toDeployError(error, {
      action,
      target: targetOf(action, context),
      timedOut: bound.timedOut(),
      aborted: context.signal.aborted,
    });
  } finally {
    bound.dispose();
  }
}

/** What a waiter's failure carries: the last GetFunction (or GetFunctionConfiguration) answer. */
interface WaiterResult {
  reason?: Partial<GetFunctionCommandOutput> & { StateReason?: string; LastUpdateStatusReason?: string };
}

/** The reason Lambda gave for a failed state, from a waiter's error (its message is the result as JSON). */
function failureReason(error: Error): string {
  try {
    const reason = (JSON.parse(error.message) as WaiterResult).reason;
    const configuration = reason?.Configuration ?? reason;
    return configuration?.LastUpdateStatusReason ?? configuration?.StateReason ?? error.message;
  } catch {
    return error.message;
  }
}

/** Which of the SDK's waiters, and what it waits for, in words. */
export type FunctionWait = 'active' | 'updated' | { publishedVersion: string };

/**
 * Waits until the function (or a published version) is ready, polling with
 * the SDK's waiter at most `maxWaitS`.
 * @throws DeployWaitTimeoutError past `maxWaitS`; FunctionUpdateFailedError when Lambda reports a failure.
 */
export async function waitForFunction(
  lambda: LambdaClient,
  functionName: string,
  wait: FunctionWait,
  context: CallContext,
  maxWaitS = FUNCTION_READY_MAX_WAIT_S,
): Promise<void> {
  const what =
    typeof wait === 'object' ? `version ${wait.publishedVersion} of ${functionName}` : functionName;
  const action = typeof wait === 'object' ? 'lambda:GetFunctionConfiguration' : 'lambda:GetFunction';
  const run = (abortSignal: AbortSignal): Promise<unknown> => {
    const params = { client: lambda, maxWaitTime: maxWaitS, abortSignal, ...WAITER_DELAYS_S };
    if (wait === 'active') {
      return waitUntilFunctionActiveV2(params, { FunctionName: functionName });
    }
    if (wait === 'updated') {
      return waitUntilFunctionUpdatedV2(params, { FunctionName: functionName });
    }
    return waitUntilPublishedVersionActive(params, {
      FunctionName: functionName,
      Qualifier: wait.publishedVersion,
    });
  };
  // The waiter polls with the clients' own timeouts; this bound also covers a poll that never answers.
  const bound = boundedSignal(context.signal, maxWaitS * 1000 + CALL_TIMEOUT_MS, action);
  try {
    await run(bound.signal);
  } catch (error) {
    const failed = {
      action,
      target: targetOf(action, context),
      timedOut: false,
      aborted: context.signal.aborted,
    };
    const name = error instanceof Error ? error.name : '';
    if (context.signal.aborted || !(error instanceof Error)) {
      throw toDeployError(error, failed);
    }
    if (name === 'TimeoutError' || name === 'AbortError' || bound.timedOut()) {
      throw new DeployWaitTimeoutError(
        `${what} was still not ready after ${maxWaitS} s. Run deploy again: it goes on from where it stopped.`,
      );
    }
    throw new FunctionUpdateFailedError(
      `Lambda could not get ${what} ready: ${failureReason(error)}. Fix the cause, then deploy again.`,
    );
  } finally {
    bound.dispose();
  }
}
