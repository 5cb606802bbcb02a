/**
 * Deploying the Lambda runner through the AWS SDK: real LambdaClient and
 * IAMClient whose commands aws-sdk-client-mock records and a fake account
 * answers (test/helpers/lambda-account.ts). The exact command sequences of
 * a first deploy, a changed second and an unchanged third (reads only), the
 * dry run, typed errors for denied permissions, the bounded wait for IAM's
 * role propagation; and `serverless-kernel deploy` and `%serverless deploy`
 * end to end, against an endpoint that refuses connections.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient, LambdaServiceException } from '@aws-sdk/client-lambda';

import { deployRunner } from '../../kernel-magics/src/cli/deploy';
import { JsonObject, MimeBundle } from '../../kernel-magics/src/kernel/messages';
import { LineMagics } from '../../kernel-magics/src/magics/line-magics';
import { LambdaSettingsHolder } from '../../kernel-magics/src/magics/lambda-settings';
import { SessionDefaults } from '../../kernel-magics/src/magics/session-defaults';
import { setOutputSink } from '../../kernel-magics/src/output/sink';
import { RunAccounting } from '../../kernel-magics/src/run/accounting';
import { ServerlessRunner } from '../../kernel-magics/src/run/runner';
import { LambdaSettings } from '../../kernel-magics/src/runtime/lambda/config';
import {
  applyDeploy,
  DeployAbortedError,
  DeployClients,
  DeployPlan,
  DeployProgress,
  PermissionDeniedError,
  planDeploy,
  RoleNotAssumableError,
} from '../../kernel-magics/src/runtime/lambda/deploy';
import { buildRunnerPackage, RunnerPackage } from '../../kernel-magics/src/runtime/lambda/package';
import { FakeLambdaAccount } from '../helpers/lambda-account';
import { KERNEL_CLI } from '../helpers/paths';
import { freePort } from '../helpers/processes';

const SETTINGS: LambdaSettings = {
  region: 'us-east-1',
  functionName: 'fn',
  bucket: 'kernel-bucket',
  arch: 'x86_64',
};
/** Credentials the clients are built with; they must never reach a command's input. */
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
/** Retries of role propagation in tests: a few, no waiting. */
const FAST = { rolePropagation: { attempts: 3, delayMs: 1 } };

let fixtures: string;
let runnerV1: string;
let runnerV2: string;
let v1: RunnerPackage;
let v2: RunnerPackage;
let account: FakeLambdaAccount;
let clients: DeployClients;

/** A built runner directory with a handler that answers `version`. */
function writeRunner(dir: string, version: number): string {
  const runner = path.join(fixtures, dir);
  mkdirSync(runner);
  writeFileSync(
    path.join(runner, 'handler.js'),
    `exports.handler = async () => ({ version: ${version} });\n`,
  );
  return runner;
}

/** Plans and applies a deploy, as `serverless-kernel deploy` does. */
async function deploy(pkg: RunnerPackage, memorySizes: number[], roleArn?: string): Promise<DeployPlan> {
  const plan = await planDeploy(clients, SETTINGS, { memorySizes, roleArn, package: pkg });
  await applyDeploy(clients, plan, new AbortController().signal, () => undefined, FAST);
  return plan;
}

beforeAll(async () => {
  fixtures = mkdtempSync(path.join(os.tmpdir(), 'jsl-deploy-'));
  runnerV1 = writeRunner('v1', 1);
  runnerV2 = writeRunner('v2', 2);
  // The runner alone: these tests are about the deploy, lambda-package.test.ts about the package's contents.
  v1 = await buildRunnerPackage(runnerV1, { dependencies: [] });
  v2 = await buildRunnerPackage(runnerV2, { dependencies: [] });
});

afterAll(() => rmSync(fixtures, { recursive: true, force: true }));

beforeEach(() => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET };
  clients = {
    lambda: new LambdaClient({ region: SETTINGS.region, credentials }),
    iam: new IAMClient({ region: SETTINGS.region, credentials }),
  };
  account = new FakeLambdaAccount();
  account.attach(clients.lambda, clients.iam);
});

afterEach(() => {
  account.restore();
  clients.lambda.destroy();
  clients.iam.destroy();
});

describe('deploying the runner (recorded SDK commands)', () => {
  it('creates the role, the function, and a version and alias per memory size on an empty account', async () => {
    const plan = await deploy(v1, [1024, 2048]);
    expect(account.log).toEqual([
      'lambda:GetFunction',
      'iam:GetRole',
      'iam:CreateRole',
      'iam:AttachRolePolicy',
      'iam:PutRolePolicy',
      'lambda:CreateFunction',
      'lambda:GetFunction',
      'lambda:PublishVersion',
      'lambda:CreateAlias',
      'lambda:UpdateFunctionConfiguration',
      'lambda:GetFunction',
      'lambda:PublishVersion',
      'lambda:CreateAlias',
    ]);
    expect(plan.changes).toEqual([
      expect.stringMatching(/^create IAM role fn-runner-role .*bucket kernel-bucket only\)$/),
      expect.stringMatching(
        /^create function fn \(nodejs20\.x, x86_64, 1024 MB, timeout 900 s, \/tmp 1024 MB;/,
      ),
      'publish a version for 1024 MB',
      'create alias m1024 -> the new version',
      'update configuration: memory 1024 -> 2048 MB',
      'publish a version for 2048 MB',
      'create alias m2048 -> the new version',
    ]);
    for (const [alias, memory] of [
      ['m1024', 1024],
      ['m2048', 2048],
    ] as const) {
      expect(account.aliased('fn', alias)).toMatchObject({
        CodeSha256: v1.sha256,
        MemorySize: memory,
        Runtime: 'nodejs20.x',
        Handler: 'handler.streamingHandler',
        Timeout: 900,
        EphemeralStorage: { Size: 1024 },
        Architectures: ['x86_64'],
      });
    }
    const role = account.roles.get('fn-runner-role');
    expect(JSON.parse(role?.trust ?? '{}')).toMatchObject({
      Statement: [{ Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    expect(role?.attached).toEqual(['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']);
    const s3 = JSON.parse([...(role?.inline.values() ?? [])][0]) as { Statement: { Resource: string }[] };
    expect(s3.Statement.map((statement) => statement.Resource)).toEqual([
      'arn:aws:s3:::kernel-bucket/*',
      'arn:aws:s3:::kernel-bucket',
    ]);
    const created = account.inputs.find((call) => call.action === 'lambda:CreateFunction')?.input as {
      Role: string;
      Environment?: unknown;
    };
    expect(created.Role).toBe(role?.arn);
    expect(created.Environment).toBeUndefined();
    // The credentials the clients sign with appear in no command.
    expect(JSON.stringify(account.inputs)).not.toContain(SECRET);
    expect(JSON.stringify(account.inputs)).not.toContain('AKIDEXAMPLE');
  });

  it('uploads a changed package once, then publishes and moves each alias', async () => {
    await deploy(v1, [1024, 2048]);
    account.log.length = 0;
    const plan = await deploy(v2, [1024, 2048]);
    expect(account.log).toEqual([
      'lambda:GetFunction',
      'lambda:GetAlias',
      'lambda:GetFunctionConfiguration',
      'lambda:GetAlias',
      'lambda:GetFunctionConfiguration',
      // $LATEST has 2048 MB: that alias first, with no configuration change.
      'lambda:UpdateFunctionCode',
      'lambda:GetFunction',
      'lambda:PublishVersion',
      'lambda:UpdateAlias',
      'lambda:UpdateFunctionConfiguration',
      'lambda:GetFunction',
      'lambda:PublishVersion',
      'lambda:UpdateAlias',
    ]);
    expect(plan.changes).toEqual([
      expect.stringMatching(/^update code: CodeSha256 .+… -> .+… \(0\.0 MB\)$/),
      'publish a version for 2048 MB',
      'move alias m2048 from version 2 to the new version',
      'update configuration: memory 2048 -> 1024 MB',
      'publish a version for 1024 MB',
      'move alias m1024 from version 1 to the new version',
    ]);
    expect(account.aliased('fn', 'm1024')).toMatchObject({
      CodeSha256: v2.sha256,
      MemorySize: 1024,
      Version: '4',
    });
    expect(account.aliased('fn', 'm2048')).toMatchObject({
      CodeSha256: v2.sha256,
      MemorySize: 2048,
      Version: '3',
    });
  });

  it('writes nothing when the package and configuration are unchanged', async () => {
    await deploy(v1, [1024, 2048]);
    await deploy(v2, [1024, 2048]);
    account.log.length = 0;
    const plan = await deploy(v2, [1024, 2048]);
    expect(account.log).toEqual([
      'lambda:GetFunction',
      'lambda:GetAlias',
      'lambda:GetFunctionConfiguration',
      'lambda:GetAlias',
      'lambda:GetFunctionConfiguration',
    ]);
    expect(account.writes()).toEqual([]);
    expect(plan.steps).toEqual([]);
    expect(plan.aliases).toEqual([
      { alias: 'm1024', memoryMb: 1024, version: '4', upToDate: true },
      { alias: 'm2048', memoryMb: 2048, version: '3', upToDate: true },
    ]);
  });

  it('adds a memory size without touching the others', async () => {
    await deploy(v1, [1024]);
    account.log.length = 0;
    await deploy(v1, [1024, 3008]);
    expect(account.writes()).toEqual([
      'lambda:UpdateFunctionConfiguration',
      'lambda:PublishVersion',
      'lambda:CreateAlias',
    ]);
    expect(account.aliased('fn', 'm1024')).toMatchObject({ Version: '1', MemorySize: 1024 });
    expect(account.aliased('fn', 'm3008')).toMatchObject({ Version: '2', MemorySize: 3008 });
  });

  it('with --role, uses that role and creates none', async () => {
    const roleArn = 'arn:aws:iam::123456789012:role/mine';
    await deploy(v1, [1024], roleArn);
    expect(account.log.filter((action) => action.startsWith('iam:'))).toEqual([]);
    expect(account.aliased('fn', 'm1024')).toMatchObject({ Role: roleArn });
  });

  it('waits for a function Lambda is still creating or updating before the next change', async () => {
    // Two reads see the function Pending / InProgress; a change before it settles would be refused.
    account.busyReadsAfterChange = 1;
    await deploy(v1, [1024, 2048]);
    expect(account.aliased('fn', 'm2048')).toMatchObject({ CodeSha256: v1.sha256, MemorySize: 2048 });
    expect(account.log.filter((action) => action === 'lambda:GetFunction').length).toBe(1 + 2 * 2);
  });
});

describe('--dry-run', () => {
  it('lists the changes and the IAM actions they need, and sends no write', async () => {
    const lines: string[] = [];
    const outcome = await deployRunner({
      settings: SETTINGS,
      memorySizes: [1024, 2048],
      dryRun: true,
      signal: new AbortController().signal,
      write: (line) => lines.push(line),
      runnerDir: runnerV1,
      clients,
    });
    expect(account.writes()).toEqual([]);
    expect(account.log).toEqual(['lambda:GetFunction', 'iam:GetRole']);
    expect(outcome.result).toBeUndefined();
    expect(outcome.plan.iamActions).toEqual([
      'iam:AttachRolePolicy',
      'iam:CreateRole',
      'iam:GetRole',
      'iam:PassRole',
      'iam:PutRolePolicy',
      'lambda:CreateAlias',
      'lambda:CreateFunction',
      'lambda:GetFunction',
      'lambda:GetFunctionConfiguration',
      'lambda:PublishVersion',
      'lambda:UpdateFunctionConfiguration',
    ]);
    const text = lines.join('\n');
    expect(text).toMatch(/^Runner package from .*: \d+ files, .* zipped \(.* unzipped\), CodeSha256 /);
    expect(text).toContain(
      'Dry run: deploying fn in us-east-1 (x86_64) would:\n  1. create IAM role fn-runner-role',
    );
    expect(text).toContain('  6. publish a version for 2048 MB\n  7. create alias m2048 -> the new version');
    expect(text).toContain('IAM actions this deploy needs: iam:AttachRolePolicy, iam:CreateRole,');
    expect(text).toContain('Nothing was changed (dry run).');
  });

  it('after a deploy, finds the function up to date and lists only reads', async () => {
    const lines: string[] = [];
    const request = {
      settings: SETTINGS,
      memorySizes: [1024],
      signal: new AbortController().signal,
      write: (line: string) => lines.push(line),
      runnerDir: runnerV1,
      clients,
      applyOptions: FAST,
    };
    await deployRunner({ ...request, dryRun: false });
    expect(lines.slice(1)).toEqual([
      'Deploying fn in us-east-1 (x86_64) will:',
      expect.stringMatching(/^ {2}1\. create IAM role fn-runner-role/),
      expect.stringMatching(/^ {2}2\. create function fn/),
      '  3. publish a version for 1024 MB',
      '  4. create alias m1024 -> the new version',
      expect.stringMatching(/^\[1\/4\] create IAM role fn-runner-role/),
      expect.stringMatching(/^\[2\/4\] create function fn/),
      '[3/4] publish a version for 1024 MB',
      '[4/4] create alias m1024 -> the new version',
      'Deployed fn: m1024 -> version 1.',
    ]);
    account.log.length = 0;
    lines.length = 0;
    const outcome = await deployRunner({ ...request, dryRun: true });
    expect(account.writes()).toEqual([]);
    expect(outcome.plan.iamActions).toEqual([
      'lambda:GetAlias',
      'lambda:GetFunction',
      'lambda:GetFunctionConfiguration',
    ]);
    expect(lines.slice(1)).toEqual([
      'fn in us-east-1 (x86_64) is up to date (m1024 -> version 1): nothing to change.',
      'IAM actions this deploy needs: lambda:GetAlias, lambda:GetFunction, lambda:GetFunctionConfiguration',
      'Nothing was changed (dry run).',
    ]);
  });
});

/** What the SDK throws for Lambda's AccessDeniedException (not modelled: a LambdaServiceException by that name). */
function accessDenied(message: string): LambdaServiceException {
  return new LambdaServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    message,
    $metadata: { httpStatusCode: 403 },
  });
}

describe('errors', () => {
  it('names lambda:CreateFunction when AWS denies it, and what to do', async () => {
    account.fail(
      'lambda:CreateFunction',
      accessDenied(
        'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: lambda:CreateFunction on resource: ' +
          'arn:aws:lambda:us-east-1:123456789012:function:fn because no identity-based policy allows the ' +
          'lambda:CreateFunction action',
      ),
    );
    const attempt = deploy(v1, [1024], 'arn:aws:iam::123456789012:role/mine');
    await expect(attempt).rejects.toThrow(PermissionDeniedError);
    await expect(attempt).rejects.toMatchObject({ action: 'lambda:CreateFunction' });
    await expect(attempt).rejects.toThrow(/Grant "lambda:CreateFunction" in its IAM policy/);
  });

  it('names the action AWS names (iam:PassRole) rather than the call that hit it', async () => {
    account.fail(
      'lambda:CreateFunction',
      accessDenied(
        'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: iam:PassRole on resource: ' +
          'arn:aws:iam::123456789012:role/mine',
      ),
    );
    await expect(deploy(v1, [1024], 'arn:aws:iam::123456789012:role/mine')).rejects.toMatchObject({
      name: 'PermissionDeniedError',
      action: 'iam:PassRole',
    });
  });

  it('retries CreateFunction while IAM propagates a new role, then goes on', async () => {
    account.rolePropagationRefusals = 2;
    const progress: DeployProgress[] = [];
    const plan = await planDeploy(clients, SETTINGS, { memorySizes: [1024], package: v1 });
    await applyDeploy(clients, plan, new AbortController().signal, (p) => progress.push(p), FAST);
    expect(account.log.filter((action) => action === 'lambda:CreateFunction').length).toBe(3);
    expect(progress.filter((p) => p.step === undefined).map((p) => p.text)).toEqual([
      'IAM has not propagated the role yet; trying again (1/2)',
      'IAM has not propagated the role yet; trying again (2/2)',
    ]);
    expect(account.aliased('fn', 'm1024')).toMatchObject({ CodeSha256: v1.sha256 });
  });

  it('gives up on role propagation after the bounded attempts, saying what to do', async () => {
    account.rolePropagationRefusals = Number.POSITIVE_INFINITY;
    const attempt = deploy(v1, [1024]);
    await expect(attempt).rejects.toThrow(RoleNotAssumableError);
    await expect(attempt).rejects.toThrow(/after 3 attempts .*Deploy again in a minute/);
    expect(account.log.filter((action) => action === 'lambda:CreateFunction').length).toBe(
      FAST.rolePropagation.attempts,
    );
    expect(account.functions.has('fn')).toBe(false);
  });

  it('stops at once when interrupted, before any write', async () => {
    const plan = await planDeploy(clients, SETTINGS, { memorySizes: [1024], package: v1 });
    account.log.length = 0;
    const controller = new AbortController();
    controller.abort();
    await expect(applyDeploy(clients, plan, controller.signal, () => undefined, FAST)).rejects.toThrow(
      DeployAbortedError,
    );
    expect(account.log).toEqual([]);
  });

  it('refuses memory sizes Lambda does not offer', async () => {
    await expect(planDeploy(clients, SETTINGS, { memorySizes: [64, 2048], package: v1 })).rejects.toThrow(
      /from 128 to 10240 \(not 64\)/,
    );
    expect(account.log).toEqual([]);
  });
});

describe('serverless-kernel deploy (child process)', () => {
  /** Runs the built CLI with a time bound, so a hang fails the test instead of stalling it. */
  const cli = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [KERNEL_CLI, 'deploy', ...args], {
      encoding: 'utf8',
      env,
      timeout: 90_000,
      cwd: fixtures,
    });
  /** The environment without any AWS setting of this machine. */
  const bareEnv = (): NodeJS.ProcessEnv => ({
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_'))),
    HOME: fixtures,
    AWS_EC2_METADATA_DISABLED: 'true',
  });

  it('--dry-run against an endpoint that refuses connections says which endpoint, and exits', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const args = [
      '--region',
      'us-east-1',
      '--function',
      'fn',
      '--bucket',
      'b',
      '--dry-run',
      '--endpoint',
      endpoint,
    ];
    const result = cli([...args, '--runner-dir', runnerV1], {
      ...bareEnv(),
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: SECRET,
    });
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^Runner package from /);
    expect(result.stderr).toContain(
      `serverless-kernel: Cannot reach the Lambda endpoint ${endpoint} (ECONNREFUSED) for lambda:GetFunction. ` +
        'Check --endpoint (is the emulator running?)',
    );
  });

  it('without credentials names `aws configure`', async () => {
    const port = await freePort();
    const args = ['--region', 'us-east-1', '--function', 'fn', '--bucket', 'b', '--dry-run'];
    const result = cli(
      [...args, '--endpoint', `http://127.0.0.1:${port}`, '--runner-dir', runnerV1],
      bareEnv(),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('serverless-kernel: No AWS credentials found');
    expect(result.stderr).toContain('Run `aws configure`');
  });

  it('without a region, or a built runner, says what to run', () => {
    const noRegion = cli(
      ['--function', 'fn', '--bucket', 'b', '--dry-run', '--runner-dir', runnerV1],
      bareEnv(),
    );
    expect(noRegion.status).toBe(1);
    expect(noRegion.stderr).toContain('No AWS region: pass --region (or set AWS_REGION');
    const args = ['--region', 'us-east-1', '--function', 'fn', '--bucket', 'b', '--dry-run'];
    const noRunner = cli([...args, '--runner-dir', path.join(fixtures, 'none')], bareEnv());
    expect(noRunner.status).toBe(1);
    expect(noRunner.stderr).toContain(
      'Run `node kernel-magics/scripts/bundle-lambda.mjs` (or `npm run build`)',
    );
    const badMemory = cli([...args, '--memory', '1024,64'], bareEnv());
    expect(badMemory.status).toBe(1);
    expect(badMemory.stderr).toContain('from 128 to 10240');
  });
});

describe('%serverless deploy', () => {
  let stdout = '';
  beforeAll(() => {
    setOutputSink({
      stream: (name, text) => {
        stdout += name === 'stdout' ? text : '';
      },
      display: (_data: MimeBundle, _metadata: JsonObject) => undefined,
      clear: () => undefined,
    });
  });
  afterAll(() => setOutputSink(undefined));

  /** Line magics with Lambda settings; the runner and accounting are never used by deploy. */
  const magics = (settings: LambdaSettings | undefined) =>
    new LineMagics({
      runner: undefined as unknown as ServerlessRunner,
      accounting: undefined as unknown as RunAccounting,
      startedBackends: () => [],
      defaults: new SessionDefaults(),
      lambda: new (class extends LambdaSettingsHolder {
        override settings(): LambdaSettings | undefined {
          return settings;
        }
      })(),
    });

  it('says which %serverless config line to run when Lambda is not configured', async () => {
    await expect(
      magics(undefined).run('deploy', ['--dry-run'], new AbortController().signal),
    ).rejects.toThrow(
      '%serverless config --backend lambda --region <region> --function <name> --bucket <bucket>',
    );
  });

  it('takes --dry-run, --memory and --role, and refuses a bad memory list', async () => {
    stdout = '';
    expect(await magics(SETTINGS).run('deploy', ['--help'], new AbortController().signal)).toEqual({
      status: 'ok',
      hasValue: false,
    });
    expect(stdout).toMatch(/--memory <list>[\s\S]*--role <arn>[\s\S]*--dry-run/);
    await expect(
      magics(SETTINGS).run('deploy', ['--memory', '1024,x'], new AbortController().signal),
    ).rejects.toThrow(/%serverless deploy: .*whole numbers of MB from 128 to 10240/);
  });

  it('reports a deploy that cannot go on as the cell error that says what to do', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const outcome = await magics({ ...SETTINGS, endpoint }).run(
      'deploy',
      ['--dry-run'],
      new AbortController().signal,
    );
    expect(outcome.status).toBe('error');
    const error = (outcome as { error: Error }).error;
    // Before the runner is built (scripts/bundle-lambda.mjs), the package step says so; after, the endpoint does.
    expect(['RunnerNotBuiltError', 'EndpointUnreachableError', 'MissingCredentialsError']).toContain(
      error.name,
    );
    expect(error.message).toMatch(/then deploy again\.$/);
  });
});
