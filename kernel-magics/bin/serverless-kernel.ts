#!/usr/bin/env node
/**
 * The serverless-kernel command: `install` writes the kernelspec, `kernel`
 * runs the kernel for a connection file (Jupyter calls this), `deploy`
 * creates or updates the AWS Lambda runner.
 */
import { Command, InvalidArgumentError, Option } from 'commander';

import type { DeployCommandOptions } from '../src/cli/deploy';
import { parseMemoryList } from '../src/cli/deploy-options';
import { InstallTarget, installKernelspec, kernelsDir, uninstallKernelspec } from '../src/cli/kernelspec';
import { DISPLAY_NAME, KERNEL_NAME } from '../src/kernel/kernel-info';
import { startOffline } from '../src/cli/offline';
import { runKernel } from '../src/main';
import { RUNNER_DIR } from '../src/package-root';
import { createStderrLogger, LogLevel } from '../src/kernel/log';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError('a port is a whole number from 1 to 65535');
  }
  return port;
}

const program = new Command('serverless-kernel').description(
  `The ${DISPLAY_NAME} Jupyter kernel (kernelspec "${KERNEL_NAME}")`,
);

/** The kernelspec target options `install` and `uninstall` share. */
interface TargetOptions {
  user?: boolean;
  prefix?: string;
  sysPrefix?: boolean;
}

/** Adds the target options to a command; `where` is "into" or "from". */
function withTargetOptions(command: Command, where: 'into' | 'from'): Command {
  return command
    .addOption(
      new Option('--user', `${where} the per-user Jupyter data dir (the default, but for root)`).conflicts([
        'prefix',
        'sysPrefix',
      ]),
    )
    .addOption(new Option('--prefix <dir>', `${where} <dir>/share/jupyter/kernels`).conflicts(['sysPrefix']))
    .option('--sys-prefix', `${where} Python's sys.prefix (a virtualenv or conda env)`);
}

/** The target the options name; without one, the user's data dir (or the system's, for root). */
function targetOf(options: TargetOptions): InstallTarget {
  if (options.prefix) {
    return { kind: 'prefix', prefix: options.prefix };
  }
  if (options.sysPrefix) {
    return { kind: 'sys-prefix' };
  }
  return options.user || process.getuid?.() !== 0 ? { kind: 'user' } : { kind: 'system' };
}

withTargetOptions(
  program.command('install').description(`Install the "${KERNEL_NAME}" kernelspec`),
  'into',
).action((options: TargetOptions) => {
  const dir = installKernelspec(targetOf(options));
  process.stdout.write(`Installed kernelspec ${KERNEL_NAME} in ${dir}\n`);
});

withTargetOptions(
  program.command('uninstall').description(`Remove the "${KERNEL_NAME}" kernelspec that install wrote`),
  'from',
).action((options: TargetOptions) => {
  const target = targetOf(options);
  const dir = uninstallKernelspec(target);
  process.stdout.write(
    dir
      ? `Removed kernelspec ${KERNEL_NAME} from ${dir}\n`
      : `No kernelspec ${KERNEL_NAME} in ${kernelsDir(target)}: nothing to remove\n`,
  );
});

program
  .command('kernel')
  .description('Run the kernel (started by Jupyter)')
  .requiredOption('--connection-file <file>', 'the connection file Jupyter wrote')
  .addOption(
    new Option('--log-level <level>', 'kernel log level (stderr)')
      .choices(['debug', 'info', 'warn', 'error'])
      .default('info'),
  )
  .action(async (options: { connectionFile: string; logLevel: LogLevel }) => {
    await runKernel(options.connectionFile, createStderrLogger(options.logLevel));
  });

program
  .command('offline')
  .description(
    'Run the Lambda runner under serverless-offline, with s3rver, on 127.0.0.1 (Ctrl-C stops them)',
  )
  .option('--lambda-port <port>', 'port of the Lambda API', parsePort, 3002)
  .option('--s3-port <port>', 'port of the S3 API', parsePort, 4569)
  .action(async (options: { lambdaPort: number; s3Port: number }) => {
    const servers = await startOffline(options);
    process.stdout.write(
      `Lambda runner at ${servers.lambdaEndpoint} (serverless-offline), S3 at ${servers.s3Endpoint} (s3rver, ` +
        `bucket ${servers.bucket}).\nPoint a kernel at them with:\n\n${servers.configLine}\n\n` +
        'The kernel needs the credentials s3rver accepts: start Jupyter with ' +
        'AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER. Ctrl-C stops both servers.\n',
    );
    await new Promise<void>((resolve) => {
      // Ctrl-C, kill, or the terminal closing: the servers are stopped by PID in every case.
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      process.once('SIGHUP', resolve);
    });
    await servers.stop();
  });

program
  .command('deploy')
  .description(
    'Create or update the AWS Lambda runner (one published version and alias m<MB> per memory size)',
  )
  .addOption(new Option('--region <region>', 'AWS region').env('AWS_REGION'))
  .requiredOption('--function <name>', "the runner function's name")
  .requiredOption('--bucket <bucket>', 'bucket for large payloads (the runner may read and write it)')
  .addOption(
    new Option('--memory <list>', 'memory sizes to publish, MB, comma-separated (e.g. 1024,2048)').argParser(
      parseMemoryList,
    ),
  )
  .addOption(
    new Option('--arch <arch>', "the runner's architecture").choices(['x86_64', 'arm64']).default('x86_64'),
  )
  .option('--role <arn>', 'execution role (default: create or reuse <function>-runner-role)')
  .option('--dry-run', 'list what would change and the IAM actions needed; change nothing')
  .option('--endpoint <url>', "a Lambda (and IAM) API endpoint other than AWS's, e.g. an emulator")
  .option('--runner-dir <dir>', `the built runner to deploy (default: ${RUNNER_DIR})`)
  .action(async (options: DeployCommandOptions) => {
    // Loaded here: the AWS SDK is no part of the kernel's start.
    const { deployFromCommandLine } = await import('../src/cli/deploy');
    await deployFromCommandLine(options);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`serverless-kernel: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
