#!/usr/bin/env node
/**
 * The serverless-kernel command: `install` writes the kernelspec, `kernel`
 * runs the kernel for a connection file (Jupyter calls this).
 */
import { Command, InvalidArgumentError, Option } from 'commander';

import { InstallTarget, installKernelspec } from '../src/cli/kernelspec';
import { DISPLAY_NAME, KERNEL_NAME } from '../src/kernel/kernel-info';
import { startOffline } from '../src/cli/offline';
import { runKernel } from '../src/main';
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

program
  .command('install')
  .description(`Install the "${KERNEL_NAME}" kernelspec`)
  .addOption(
    new Option('--user', 'install into the per-user Jupyter data dir').conflicts(['prefix', 'sysPrefix']),
  )
  .addOption(
    new Option('--prefix <dir>', 'install into <dir>/share/jupyter/kernels').conflicts(['sysPrefix']),
  )
  .option('--sys-prefix', "install into Python's sys.prefix (a virtualenv or conda env)")
  .action((options: { user?: boolean; prefix?: string; sysPrefix?: boolean }) => {
    let target: InstallTarget;
    if (options.prefix) {
      target = { kind: 'prefix', prefix: options.prefix };
    } else if (options.sysPrefix) {
      target = { kind: 'sys-prefix' };
    } else if (options.user || process.getuid?.() !== 0) {
      target = { kind: 'user' };
    } else {
      target = { kind: 'system' };
    }
    const dir = installKernelspec(target);
    process.stdout.write(`Installed kernelspec ${KERNEL_NAME} in ${dir}\n`);
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
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await servers.stop();
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`serverless-kernel: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
