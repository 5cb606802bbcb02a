/**
 * Carries out a deploy plan: each step through the SDK, waiting (bounded)
 * for the function to be ready after every change, retrying (bounded) the
 * creation of a function whose new role IAM has not yet propagated.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CreateAliasCommand,
  CreateFunctionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';

import { RUNNER_DEFAULTS } from './config';
import {
  awsCall,
  CallContext,
  DeployClients,
  FUNCTION_READY_MAX_WAIT_S,
  UPLOAD_TIMEOUT_MS,
  waitForFunction,
} from './deploy-calls';
import { DeployAbortedError, DeployError, isAwsError, RoleNotAssumableError } from './deploy-errors';
import { provideRole } from './deploy-role';
import { describeStep } from './deploy-steps';
import type { DeployPlan, DeployStep } from './deploy-types';

/** How often, and how far apart, CreateFunction is tried while IAM propagates a new role. */
export const ROLE_PROPAGATION_RETRY = { attempts: 10, delayMs: 3000 };

/** Lambda's answer to CreateFunction with a role IAM has not propagated yet. */
const ROLE_NOT_YET_ASSUMABLE = /cannot be assumed by Lambda/i;

/** What a deploy reports while it runs. */
export interface DeployProgress {
  /** The step, when the report is its start. */
  step?: DeployStep;
  text: string;
}

/** Bounds of a deploy (tests shorten them). */
export interface ApplyOptions {
  /** Most time to wait for the function to be ready after one change, s. */
  maxWaitS?: number;
  rolePropagation?: { attempts: number; delayMs: number };
}

/** What the deploy left: each memory size's alias and its version. */
export interface DeployResult {
  functionName: string;
  aliases: { alias: string; memoryMb: number; version: string }[];
  /** Something was written. */
  changed: boolean;
}

/** What the steps share while they run. */
interface ApplyState {
  clients: DeployClients;
  plan: DeployPlan;
  context: CallContext;
  onProgress: (progress: DeployProgress) => void;
  options: Required<ApplyOptions>;
  roleArn?: string;
  /** The version published for each memory size. */
  versions: Map<number, string>;
}

/** Sleeps, or throws DeployAbortedError when the deploy is interrupted. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    throw new DeployAbortedError(
      'The deploy was interrupted; what was done stays. Run deploy again to finish it.',
    );
  }
}

/** CreateFunction, retried while Lambda cannot assume the role yet (a new role takes IAM a while). */
async function createFunction(state: ApplyState, memoryMb: number): Promise<void> {
  const { plan, context, clients } = state;
  const role = state.roleArn;
  if (role === undefined) {
    throw new DeployError('No role for the new function: pass --role <ARN>, or deploy again to create one.');
  }
  const { attempts, delayMs } = state.options.rolePropagation;
  for (let attempt = 1; ; attempt++) {
    try {
      await awsCall(
        'lambda:CreateFunction',
        context,
        (abortSignal) =>
          clients.lambda.send(
            new CreateFunctionCommand({
              FunctionName: plan.functionName,
              Runtime: RUNNER_DEFAULTS.runtime,
              Handler: RUNNER_DEFAULTS.handler,
              Role: role,
              Code: { ZipFile: plan.package.zip },
              PackageType: 'Zip',
              Architectures: [plan.arch],
              MemorySize: memoryMb,
              Timeout: RUNNER_DEFAULTS.timeoutS,
              EphemeralStorage: { Size: RUNNER_DEFAULTS.ephemeralStorageMb },
              Description: 'serverless-kernel runner',
              Publish: false,
            }),
            { abortSignal },
          ),
        UPLOAD_TIMEOUT_MS,
      );
      break;
    } catch (error) {
      if (!(
        isAwsError(error, 'InvalidParameterValueException') && ROLE_NOT_YET_ASSUMABLE.test(error.message)
      )) {
        throw error;
      }
      if (attempt >= attempts) {
        throw new RoleNotAssumableError(
          `Lambda could still not assume the role ${role} after ${attempts} attempts over ` +
            `${(((attempts - 1) * delayMs) / 1000).toFixed(0)} s (IAM propagates new roles slowly). ` +
            'Deploy again in a minute; if this persists, check that the role trusts lambda.amazonaws.com.',
        );
      }
      state.onProgress({
        text: `IAM has not propagated the role yet; trying again (${attempt}/${attempts - 1})`,
      });
      await pause(delayMs, context.signal);
    }
  }
  await waitForFunction(clients.lambda, plan.functionName, 'active', context, state.options.maxWaitS);
}

async function updateCode(state: ApplyState): Promise<void> {
  const { plan, context, clients } = state;
  await awsCall(
    'lambda:UpdateFunctionCode',
    context,
    (abortSignal) =>
      clients.lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: plan.functionName,
          ZipFile: plan.package.zip,
          Architectures: [plan.arch],
          Publish: false,
        }),
        { abortSignal },
      ),
    UPLOAD_TIMEOUT_MS,
  );
  await waitForFunction(clients.lambda, plan.functionName, 'updated', context, state.options.maxWaitS);
}

async function updateConfiguration(
  state: ApplyState,
  memoryMb: number,
  roleArn: string | undefined,
): Promise<void> {
  const { plan, context, clients } = state;
  await awsCall('lambda:UpdateFunctionConfiguration', context, (abortSignal) =>
    clients.lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: plan.functionName,
        Runtime: RUNNER_DEFAULTS.runtime,
        Handler: RUNNER_DEFAULTS.handler,
        MemorySize: memoryMb,
        Timeout: RUNNER_DEFAULTS.timeoutS,
        EphemeralStorage: { Size: RUNNER_DEFAULTS.ephemeralStorageMb },
        // The runner reads nothing from its environment, and credentials must never be put there.
        Environment: { Variables: {} },
        ...(roleArn !== undefined ? { Role: roleArn } : {}),
      }),
      { abortSignal },
    ),
  );
  await waitForFunction(clients.lambda, plan.functionName, 'updated', context, state.options.maxWaitS);
}

/** PublishVersion, only of the package's code (Lambda refuses when $LATEST's differs). */
async function publishVersion(state: ApplyState, memoryMb: number): Promise<void> {
  const { plan, context, clients } = state;
  const published = await awsCall('lambda:PublishVersion', context, (abortSignal) =>
    clients.lambda.send(
      new PublishVersionCommand({
        FunctionName: plan.functionName,
        CodeSha256: plan.package.sha256,
        Description: `serverless-kernel runner, ${memoryMb} MB`,
      }),
      { abortSignal },
    ),
  );
  if (published.Version === undefined) {
    throw new DeployError(`Lambda published no version of ${plan.functionName}: deploy again.`);
  }
  if (published.State !== undefined && published.State !== 'Active') {
    const wait = { publishedVersion: published.Version };
    await waitForFunction(clients.lambda, plan.functionName, wait, context, state.options.maxWaitS);
  }
  state.versions.set(memoryMb, published.Version);
}

async function setAlias(state: ApplyState, step: Extract<DeployStep, { kind: 'set-alias' }>): Promise<void> {
  const { plan, context, clients } = state;
  const version = state.versions.get(step.memoryMb);
  if (version === undefined) {
    throw new DeployError(`No version was published for ${step.memoryMb} MB: deploy again.`);
  }
  const input = { FunctionName: plan.functionName, Name: step.alias, FunctionVersion: version };
  if (step.fromVersion === undefined) {
    await awsCall('lambda:CreateAlias', context, (abortSignal) =>
      clients.lambda.send(
        new CreateAliasCommand({ ...input, Description: `serverless-kernel runner, ${step.memoryMb} MB` }),
        { abortSignal },
      ),
    );
  } else {
    await awsCall('lambda:UpdateAlias', context, (abortSignal) =>
      clients.lambda.send(new UpdateAliasCommand(input), { abortSignal }),
    );
  }
}

async function runStep(state: ApplyState, step: DeployStep): Promise<void> {
  switch (step.kind) {
    case 'provide-role':
      state.roleArn = await provideRole(
        state.clients,
        {
          name: step.roleName,
          existingArn: step.existingArn,
          bucket: state.plan.bucket,
          region: state.plan.region,
        },
        state.context,
      );
      return;
    case 'create-function':
      state.roleArn = step.roleArn ?? state.roleArn;
      return createFunction(state, step.memoryMb);
    case 'update-code':
      return updateCode(state);
    case 'update-configuration':
      return updateConfiguration(state, step.memoryMb, step.roleArn);
    case 'publish-version':
      return publishVersion(state, step.memoryMb);
    case 'set-alias':
      return setAlias(state, step);
  }
}

/**
 * Carries out `plan`'s steps in order, reporting each; an interrupted or
 * failed deploy leaves what it did, and running it again goes on from there
 * (every step is planned from what the account holds).
 * @throws DeployError subclasses naming what is missing and what to do.
 */
export async function applyDeploy(
  clients: DeployClients,
  plan: DeployPlan,
  signal: AbortSignal,
  onProgress: (progress: DeployProgress) => void,
  options: ApplyOptions = {},
): Promise<DeployResult> {
  const state: ApplyState = {
    clients,
    plan,
    context: { signal, targets: plan.targets },
    onProgress,
    options: {
      maxWaitS: options.maxWaitS ?? FUNCTION_READY_MAX_WAIT_S,
      rolePropagation: options.rolePropagation ?? ROLE_PROPAGATION_RETRY,
    },
    versions: new Map(),
  };
  if (plan.latestBusy !== undefined && plan.steps.length > 0) {
    onProgress({
      text: `waiting for ${plan.functionName} to finish its ${plan.latestBusy === 'pending' ? 'creation' : 'update'}`,
    });
    const wait = plan.latestBusy === 'pending' ? 'active' : 'updated';
    await waitForFunction(clients.lambda, plan.functionName, wait, state.context, state.options.maxWaitS);
  }
  for (const step of plan.steps) {
    onProgress({ step, text: describeStep(step, plan) });
    await runStep(state, step);
  }
  return {
    functionName: plan.functionName,
    changed: plan.steps.length > 0,
    aliases: plan.aliases.map(({ alias, memoryMb, version }) => ({
      alias,
      memoryMb,
      version: state.versions.get(memoryMb) ?? version ?? '',
    })),
  };
}
