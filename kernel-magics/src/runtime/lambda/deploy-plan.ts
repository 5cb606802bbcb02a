/**
 * What a deploy of the runner would change, read from the account without
 * writing anything: the function, its code and configuration, and one
 * published version per memory size behind the alias `m<MB>`. The plan is
 * what `--dry-run` prints and what {@link applyDeploy} carries out.
 */
import {
  FunctionConfiguration,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';

import type { Arch } from '../../cost/prices';
import { LAMBDA_LIMITS, LambdaSettings, memoryAlias, RUNNER_DEFAULTS } from './config';
import { awsCall, CallContext, DeployClients } from './deploy-calls';
import { DeployInputError, isAwsError } from './deploy-errors';
import { findRole, runnerRoleName } from './deploy-role';
import { describeStep, iamActionsOf } from './deploy-steps';
import type { DeployOptions, DeployPlan, DeployStep, PlannedAlias } from './deploy-types';
import type { RunnerPackage } from './package';

/** $LATEST as the plan follows it through the steps. */
interface LatestState {
  sha256: string;
  arch: Arch;
  configuration: FunctionConfiguration;
}

/** The memory sizes, checked and each once. @throws DeployInputError */
function checkedMemorySizes(sizes: readonly number[]): number[] {
  const { min, max } = LAMBDA_LIMITS.memoryMb;
  const bad = sizes.filter((mb) => !Number.isInteger(mb) || mb < min || mb > max);
  if (sizes.length === 0 || bad.length > 0) {
    throw new DeployInputError(
      `Memory sizes must be whole numbers of MB from ${min} to ${max}` +
        (bad.length > 0 ? ` (not ${bad.join(', ')})` : ' (none given)') +
        ', e.g. --memory 1024,2048.',
    );
  }
  return [...new Set(sizes)];
}

function archOf(configuration: FunctionConfiguration): Arch {
  return configuration.Architectures?.[0] === 'arm64' ? 'arm64' : 'x86_64';
}

/** The configuration $LATEST has once the runner is configured for `memoryMb`. */
function runnerConfiguration(
  memoryMb: number,
  roleArn: string | undefined,
  arch: Arch,
): FunctionConfiguration {
  return {
    Runtime: RUNNER_DEFAULTS.runtime,
    Handler: RUNNER_DEFAULTS.handler,
    Timeout: RUNNER_DEFAULTS.timeoutS,
    MemorySize: memoryMb,
    EphemeralStorage: { Size: RUNNER_DEFAULTS.ephemeralStorageMb },
    Architectures: [arch],
    Role: roleArn,
  };
}

/**
 * How `current` differs from the runner's configuration for `memoryMb`, in
 * words; the role only when the user names one.
 */
export function configurationChanges(
  current: FunctionConfiguration,
  memoryMb: number,
  roleArn: string | undefined,
): string[] {
  const changes: string[] = [];
  const compare = (what: string, from: unknown, to: unknown, unit = ''): void => {
    if (from !== to) {
      changes.push(`${what} ${String(from ?? 'unset')} -> ${String(to)}${unit}`);
    }
  };
  compare('memory', current.MemorySize, memoryMb, ' MB');
  compare('runtime', current.Runtime, RUNNER_DEFAULTS.runtime);
  compare('handler', current.Handler, RUNNER_DEFAULTS.handler);
  compare('timeout', current.Timeout, RUNNER_DEFAULTS.timeoutS, ' s');
  // Lambda gives a function 512 MB of /tmp when it names none.
  compare('/tmp', current.EphemeralStorage?.Size ?? 512, RUNNER_DEFAULTS.ephemeralStorageMb, ' MB');
  const variables = Object.keys(current.Environment?.Variables ?? {});
  if (variables.length > 0) {
    // The runner takes nothing from its environment, and secrets must never sit there.
    changes.push(`remove environment variables ${variables.join(', ')}`);
  }
  if (roleArn !== undefined) {
    compare('role', current.Role, roleArn);
  }
  return changes;
}

/** GetFunction, or undefined when there is no such function. */
async function readFunction(
  clients: DeployClients,
  functionName: string,
  context: CallContext,
): Promise<FunctionConfiguration | undefined> {
  try {
    const { Configuration } = await awsCall('lambda:GetFunction', context, (abortSignal) =>
      clients.lambda.send(new GetFunctionCommand({ FunctionName: functionName }), { abortSignal }),
    );
    return Configuration;
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) {
      return undefined;
    }
    throw error;
  }
}

/** The alias's version and that version's configuration, or undefined when there is no such alias. */
async function readAlias(
  clients: DeployClients,
  functionName: string,
  alias: string,
  context: CallContext,
): Promise<{ version: string; configuration: FunctionConfiguration } | undefined> {
  let version: string | undefined;
  try {
    const found = await awsCall('lambda:GetAlias', context, (abortSignal) =>
      clients.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }), { abortSignal }),
    );
    version = found.FunctionVersion;
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) {
      return undefined;
    }
    throw error;
  }
  if (version === undefined) {
    return undefined;
  }
  const configuration = await awsCall('lambda:GetFunctionConfiguration', context, (abortSignal) =>
    clients.lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: version }),
      { abortSignal },
    ),
  );
  return { version, configuration };
}

/** Where calls go, in words. */
export function deployTargets(settings: LambdaSettings): CallContext['targets'] {
  return settings.endpoint !== undefined
    ? { lambda: `the Lambda endpoint ${settings.endpoint}`, iam: `the IAM endpoint ${settings.endpoint}` }
    : { lambda: `AWS Lambda in ${settings.region}`, iam: 'AWS IAM' };
}

/**
 * The steps that bring each alias to a version with the package and the
 * runner's configuration, following $LATEST through them (memory sizes
 * that match $LATEST's go first: they need no configuration change).
 */
function aliasSteps(
  latest: LatestState,
  aliases: PlannedAlias[],
  pkg: RunnerPackage,
  arch: Arch,
  roleArn: string | undefined,
): DeployStep[] {
  const steps: DeployStep[] = [];
  const pending = aliases
    .filter((alias) => !alias.upToDate)
    .sort(
      (a, b) =>
        Number(b.memoryMb === latest.configuration.MemorySize) -
        Number(a.memoryMb === latest.configuration.MemorySize),
    );
  for (const alias of pending) {
    if (latest.sha256 !== pkg.sha256 || latest.arch !== arch) {
      steps.push({ kind: 'update-code', fromSha256: latest.sha256, fromArch: latest.arch });
      latest.sha256 = pkg.sha256;
      latest.arch = arch;
    }
    const changes = configurationChanges(latest.configuration, alias.memoryMb, roleArn);
    if (changes.length > 0) {
      steps.push({ kind: 'update-configuration', memoryMb: alias.memoryMb, roleArn, changes });
      latest.configuration = runnerConfiguration(alias.memoryMb, roleArn ?? latest.configuration.Role, arch);
    }
    steps.push({ kind: 'publish-version', memoryMb: alias.memoryMb });
    steps.push({
      kind: 'set-alias',
      alias: alias.alias,
      memoryMb: alias.memoryMb,
      fromVersion: alias.version,
    });
  }
  return steps;
}

/** The steps that create the function (and its role when none is named). */
async function creationSteps(
  clients: DeployClients,
  settings: LambdaSettings,
  memoryMb: number,
  roleArn: string | undefined,
  context: CallContext,
): Promise<DeployStep[]> {
  if (roleArn !== undefined) {
    return [{ kind: 'create-function', memoryMb, roleArn }];
  }
  const roleName = runnerRoleName(settings.functionName);
  const existingArn = await findRole(clients, roleName, context);
  return [
    { kind: 'provide-role', roleName, existingArn },
    { kind: 'create-function', memoryMb },
  ];
}

/**
 * Reads the function, its aliases and (when it must be created without a
 * named role) the runner's role, and plans the changes; writes nothing.
 * @throws DeployInputError for unusable memory sizes; the typed errors of {@link toDeployError}.
 */
export async function planDeploy(
  clients: DeployClients,
  settings: LambdaSettings,
  opts: DeployOptions,
  signal: AbortSignal = new AbortController().signal,
): Promise<DeployPlan> {
  const memorySizes = checkedMemorySizes(opts.memorySizes);
  const context: CallContext = { signal, targets: deployTargets(settings) };
  const arch = settings.arch;
  const current = await readFunction(clients, settings.functionName, context);
  const aliases: PlannedAlias[] = [];
  let steps: DeployStep[] = [];
  let latest: LatestState;
  if (current === undefined) {
    steps = await creationSteps(clients, settings, memorySizes[0], opts.roleArn, context);
    latest = {
      sha256: opts.package.sha256,
      arch,
      configuration: runnerConfiguration(memorySizes[0], opts.roleArn, arch),
    };
    aliases.push(
      ...memorySizes.map((memoryMb) => ({ alias: memoryAlias(memoryMb), memoryMb, upToDate: false })),
    );
  } else {
    latest = { sha256: current.CodeSha256 ?? '', arch: archOf(current), configuration: current };
    for (const memoryMb of memorySizes) {
      const alias = memoryAlias(memoryMb);
      const found = await readAlias(clients, settings.functionName, alias, context);
      const upToDate =
        found !== undefined &&
        found.configuration.CodeSha256 === opts.package.sha256 &&
        archOf(found.configuration) === arch &&
        configurationChanges(found.configuration, memoryMb, opts.roleArn).length === 0;
      aliases.push({ alias, memoryMb, version: found?.version, upToDate });
    }
  }
  steps.push(...aliasSteps(latest, aliases, opts.package, arch, opts.roleArn));
  const plan: DeployPlan = {
    functionName: settings.functionName,
    region: settings.region,
    bucket: settings.bucket,
    arch,
    package: opts.package,
    targets: context.targets,
    steps,
    changes: [],
    aliases,
    iamActions: [],
    latestBusy:
      current?.State === 'Pending'
        ? 'pending'
        : current?.LastUpdateStatus === 'InProgress'
          ? 'updating'
          : undefined,
  };
  plan.changes = steps.map((step) => describeStep(step, plan));
  plan.iamActions = iamActionsOf(plan, current !== undefined);
  return plan;
}
