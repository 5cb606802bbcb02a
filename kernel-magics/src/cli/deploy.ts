/**
 * `serverless-kernel deploy` and `%serverless deploy`: package the runner,
 * plan the deploy, print it (all of it with `--dry-run`), carry it out.
 */
import type { Arch } from '../cost/prices';
import { RUNNER_DIR } from '../package-root';
import type { LambdaSettings } from '../runtime/lambda/config';
import {
  ApplyOptions,
  applyDeploy,
  DeployClients,
  DeployPlan,
  DeployResult,
  MissingRegionError,
  planDeploy,
} from '../runtime/lambda/deploy';
import { createDeployClients } from '../runtime/lambda/deploy-clients';
import { buildRunnerPackage, RunnerPackage } from '../runtime/lambda/package';
import { DEFAULT_DEPLOY_MEMORY_MB } from './deploy-options';

/** What to deploy, and where output goes. */
export interface DeployRequest {
  settings: LambdaSettings;
  memorySizes: number[];
  roleArn?: string;
  dryRun: boolean;
  signal: AbortSignal;
  /** Writes one line of output (no newline). */
  write(line: string): void;
  /** The runner's directory (default {@link RUNNER_DIR}). */
  runnerDir?: string;
  /** Clients to use (default: made from the settings and destroyed after). */
  clients?: DeployClients;
  applyOptions?: ApplyOptions;
}

/** What a deploy planned and, unless it was a dry run or nothing changed, did. */
export interface DeployOutcome {
  plan: DeployPlan;
  result?: DeployResult;
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function describePackage(pkg: RunnerPackage, dir: string): string {
  return (
    `Runner package from ${dir}: ${pkg.files} files, ${megabytes(pkg.zip.length)} zipped ` +
    `(${megabytes(pkg.unzippedBytes)} unzipped), CodeSha256 ${pkg.sha256}`
  );
}

/** The plan in words: the changes, what is already up to date, and (dry run) the IAM actions. */
export function describePlan(plan: DeployPlan, dryRun: boolean): string[] {
  const where = `${plan.functionName} in ${plan.region} (${plan.arch})`;
  const upToDate = plan.aliases
    .filter((alias) => alias.upToDate)
    .map((alias) => `${alias.alias} -> version ${alias.version ?? '?'}`);
  const lines: string[] = [];
  if (plan.steps.length === 0) {
    lines.push(`${where} is up to date (${upToDate.join(', ')}): nothing to change.`);
  } else {
    lines.push(`${dryRun ? 'Dry run: deploying' : 'Deploying'} ${where} ${dryRun ? 'would' : 'will'}:`);
    lines.push(...plan.changes.map((change, i) => `  ${i + 1}. ${change}`));
    if (upToDate.length > 0) {
      lines.push(`Already up to date: ${upToDate.join(', ')}.`);
    }
  }
  if (dryRun) {
    lines.push(`IAM actions this deploy needs: ${plan.iamActions.join(', ')}`);
    lines.push('Nothing was changed (dry run).');
  }
  return lines;
}

function describeResult(result: DeployResult): string {
  const aliases = result.aliases.map((alias) => `${alias.alias} -> version ${alias.version}`).join(', ');
  return `Deployed ${result.functionName}: ${aliases}.`;
}

/**
 * Packages the runner, plans the deploy and, unless `dryRun`, carries it out,
 * writing what it does.
 * @throws RunnerNotBuiltError, RunnerPackageTooLargeError, DeployError subclasses (each says what to do).
 */
export async function deployRunner(request: DeployRequest): Promise<DeployOutcome> {
  const dir = request.runnerDir ?? RUNNER_DIR;
  const pkg = await buildRunnerPackage(dir);
  request.write(describePackage(pkg, dir));
  const owned = request.clients === undefined ? createDeployClients(request.settings) : undefined;
  const clients: DeployClients = request.clients ?? (owned as DeployClients);
  try {
    const plan = await planDeploy(
      clients,
      request.settings,
      { memorySizes: request.memorySizes, roleArn: request.roleArn, package: pkg },
      request.signal,
    );
    describePlan(plan, request.dryRun).forEach((line) => request.write(line));
    if (request.dryRun || plan.steps.length === 0) {
      return { plan };
    }
    let step = 0;
    const result = await applyDeploy(
      clients,
      plan,
      request.signal,
      (progress) => {
        step += progress.step !== undefined ? 1 : 0;
        request.write(
          progress.step !== undefined
            ? `[${step}/${plan.steps.length}] ${progress.text}`
            : `  ${progress.text}`,
        );
      },
      request.applyOptions,
    );
    request.write(describeResult(result));
    return { plan, result };
  } finally {
    owned?.destroy();
  }
}

/** `serverless-kernel deploy`'s options, as commander parses them. */
export interface DeployCommandOptions {
  region?: string;
  function: string;
  bucket: string;
  memory?: number[];
  arch: Arch;
  role?: string;
  dryRun?: boolean;
  endpoint?: string;
  runnerDir?: string;
}

/**
 * Runs `serverless-kernel deploy`: Ctrl-C interrupts it (what was done
 * stays; running it again finishes).
 * @throws MissingRegionError without --region or AWS_REGION; the errors of {@link deployRunner}.
 */
export async function deployFromCommandLine(options: DeployCommandOptions): Promise<void> {
  if (options.region === undefined || options.region === '') {
    throw new MissingRegionError(
      'No AWS region: pass --region (or set AWS_REGION, or run `aws configure set region <region>`).',
    );
  }
  const settings: LambdaSettings = {
    region: options.region,
    functionName: options.function,
    bucket: options.bucket,
    arch: options.arch,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  };
  const controller = new AbortController();
  const interrupt = (): void => controller.abort(new Error('interrupted'));
  process.once('SIGINT', interrupt);
  try {
    await deployRunner({
      settings,
      memorySizes: options.memory ?? [DEFAULT_DEPLOY_MEMORY_MB],
      roleArn: options.role,
      dryRun: options.dryRun === true,
      runnerDir: options.runnerDir,
      signal: controller.signal,
      write: (line) => process.stdout.write(`${line}\n`),
    });
  } finally {
    process.removeListener('SIGINT', interrupt);
  }
}
