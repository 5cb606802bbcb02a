/**
 * `npm run offline` (`serverless-kernel offline`): the Lambda runner under
 * serverless-offline and an S3 (s3rver) for its payload bucket, both on
 * 127.0.0.1, for people without an AWS account and for tests. Each server
 * is a child process of its own, stopped by PID. Prints the one
 * `%serverless config --backend lambda ...` line that points a kernel at them.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../package-root';

/** What to start. */
export interface OfflineOptions {
  /** Port of the Lambda API (serverless-offline); default 3002. */
  lambdaPort?: number;
  /** Port of the S3 API (s3rver); default 4569. */
  s3Port?: number;
  /** The payload bucket, created in s3rver; default `serverless-kernel`. */
  bucket?: string;
  /** The runner function's name; default `serverless-kernel-runner`. */
  functionName?: string;
  /** How long each server may take to listen, ms. */
  startTimeoutMs?: number;
}

/** Running offline servers. */
export interface OfflineServers {
  lambdaEndpoint: string;
  s3Endpoint: string;
  region: string;
  bucket: string;
  functionName: string;
  /** The `%serverless config` line for a kernel. */
  configLine: string;
  /** The PIDs of the server processes. */
  pids: { lambda: number; s3: number };
  /** Stops both servers (SIGTERM, then SIGKILL) and removes s3rver's data. */
  stop(): Promise<void>;
}

/** Raised when the servers cannot start; the message says what to do. */
export class OfflineStartError extends Error {
  override readonly name = 'OfflineStartError';
}

/** s3rver's own account: the only credentials it accepts (the kernel needs them too). */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;

const REGION = 'us-east-1';
const STOP_GRACE_MS = 5_000;

/** The runner's service directory (serverless.yml) and its built handler. */
export const LAMBDA_SERVICE_DIR = path.join(PACKAGE_ROOT, 'lambda');

/**
 * Starts s3rver and serverless-offline; resolves once both listen.
 *
 * @throws OfflineStartError when the runner is not built, a tool is not installed, or a server does not start.
 */
export async function startOffline(options: OfflineOptions = {}): Promise<OfflineServers> {
  const lambdaPort = options.lambdaPort ?? 3002;
  const s3Port = options.s3Port ?? 4569;
  const bucket = options.bucket ?? 'serverless-kernel';
  const functionName = options.functionName ?? 'serverless-kernel-runner';
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  if (!existsSync(path.join(LAMBDA_SERVICE_DIR, 'dist', 'handler.js'))) {
    throw new OfflineStartError(
      `The runner is not built (${path.join(LAMBDA_SERVICE_DIR, 'dist')} is missing): run \`npm run build\` first.`,
    );
  }
  const serverlessBin = resolveTool('serverless/bin/serverless.js');
  // The compiled script (this module also runs from its TypeScript source in tests).
  const s3rverEntry = path.join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'offline-s3.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'serverless-kernel-s3-'));
  const baseEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? os.homedir(),
    LANG: 'C.UTF-8',
  };
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => stopChild(child)));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const s3 = spawn(
      process.execPath,
      ['--openssl-legacy-provider', s3rverEntry, dataDir, bucket, String(s3Port)],
      { env: baseEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(s3);
    const lambda = spawn(
      process.execPath,
      [
        serverlessBin,
        'offline',
        'start',
        `--param=function=${functionName}`,
        `--param=bucket=${bucket}`,
        '--region',
        REGION,
      ],
      {
        cwd: LAMBDA_SERVICE_DIR,
        env: {
          ...baseEnv,
          ...S3RVER_CREDENTIALS,
          AWS_REGION: REGION,
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
          SERVERLESS_OFFLINE_LAMBDA_PORT: String(lambdaPort),
          // No HTTP events are declared; the port is set apart from the Lambda one all the same.
          SERVERLESS_OFFLINE_HTTP_PORT: String(lambdaPort + 1),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(lambda);
    await Promise.all([
      listening(s3, s3Port, 's3rver', timeoutMs),
      listening(lambda, lambdaPort, 'serverless-offline', timeoutMs),
    ]);
    const lambdaEndpoint = `http://127.0.0.1:${lambdaPort}`;
    const s3Endpoint = `http://127.0.0.1:${s3Port}`;
    return {
      lambdaEndpoint,
      s3Endpoint,
      region: REGION,
      bucket,
      functionName,
      configLine:
        `%serverless config --backend lambda --region ${REGION} --function ${functionName} --bucket ${bucket} ` +
        `--endpoint ${lambdaEndpoint} --s3-endpoint ${s3Endpoint}`,
      pids: { lambda: lambda.pid ?? 0, s3: s3.pid ?? 0 },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A tool installed with the repository's dev dependencies. */
function resolveTool(id: string): string {
  try {
    return require.resolve(id, { paths: [PACKAGE_ROOT, process.cwd()] });
  } catch {
    throw new OfflineStartError(
      `${id.split('/')[0]} is not installed: \`npm run offline\` uses the repository's dev dependencies ` +
        '(serverless 3.40.0, serverless-offline 13.9.0, s3rver 3.7.1); run `npm install` in the repository.',
    );
  }
}

/** Resolves once `port` accepts connections; rejects when the child exits first or after `timeoutMs`. */
async function listening(child: ChildProcess, port: number, name: string, timeoutMs: number): Promise<void> {
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new OfflineStartError(`${name} exited before listening on 127.0.0.1:${port}:\n${output.trim()}`);
    }
    if (await accepts(port)) {
      // Their logs are not ours to show; draining them keeps the pipes from filling up.
      child.stdout?.off('data', keep);
      child.stderr?.off('data', keep);
      child.stdout?.resume();
      child.stderr?.resume();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new OfflineStartError(
    `${name} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s (is the port taken? ` +
      `pass another with --lambda-port/--s3-port):\n${output.trim()}`,
  );
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves when it exited. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
