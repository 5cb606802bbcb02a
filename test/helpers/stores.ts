/**
 * Real store servers for tests, each in a process of its own on 127.0.0.1,
 * stopped (or killed) by PID: Debian's redis-server and s3rver. A missing
 * redis-server fails the suite with what to install; it never skips it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { freePort } from './processes';
import { REPO_ROOT } from './paths';

/** Debian's redis-server (scripts/setup.sh installs the `redis-server` package). */
export const REDIS_SERVER = '/usr/bin/redis-server';
/** The script that runs s3rver in its own process. */
export const S3RVER_CHILD = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'cli', 'offline-s3.js');
/** The bucket every test s3rver has. */
export const TEST_BUCKET = 'serverless-test';
/** Credentials s3rver accepts, as the AWS SDK's default chain reads them from the environment. */
export const S3RVER_ENV: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
};
/** How long a server may take to be ready. */
const READY_TIMEOUT_MS = 15_000;
/** How long a stopped server may take to exit before it is killed. */
const STOP_GRACE_MS = 3_000;

/** A server process started for a test. */
export interface TestServer {
  readonly port: number;
  readonly pid: number;
  /** SIGTERM by PID (SIGKILL after a grace period); resolves when it exited. */
  stop(): Promise<void>;
  /** SIGKILL by PID; resolves when it exited. */
  kill(): Promise<void>;
}

/** A redis-server. */
export interface RedisServer extends TestServer {
  /** A store URL for it, keys under `prefix`. */
  url(prefix: string): string;
}

/** An s3rver with the bucket {@link TEST_BUCKET}. */
export interface S3rverServer extends TestServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** A store URL for it, keys under `prefix` (through `endpoint` when given, e.g. a proxy). */
  url(prefix: string, endpoint?: string): string;
}

/**
 * Starts `redis-server --bind 127.0.0.1 --port <port> --save '' --appendonly no`
 * (no persistence: a restarted server is empty), on a free port unless given.
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(
      `${REDIS_SERVER} is missing: the Redis store tests need a real redis-server. Install it with ` +
        '`bash scripts/setup.sh` (which installs the Debian package redis-server) or `apt-get install -y redis-server`.',
    );
  }
  const port = options.port ?? (await freePort());
  const child = spawn(
    REDIS_SERVER,
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'notice',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await waitForLine(child, /Ready to accept connections/, `redis-server on port ${port}`);
  return {
    ...serverControls(child, port),
    url: (prefix) => `redis://127.0.0.1:${port}/0?prefix=${encodeURIComponent(prefix)}`,
  };
}

/**
 * Starts s3rver 3.7.1 in its own node process (the product's own, kernel-magics/src/cli/offline-s3.ts),
 * data in a fresh temporary directory (removed when it stops), with the bucket
 * {@link TEST_BUCKET}.
 */
export async function startS3rver(options: { port?: number } = {}): Promise<S3rverServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  // s3rver encrypts continuation tokens with single DES, which OpenSSL 3 offers only in its legacy
  // provider: without it every truncated listing (over 1,000 keys) is a 500.
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', S3RVER_CHILD, dir, TEST_BUCKET, String(options.port ?? 0)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let port: number;
  try {
    const line = await waitForLine(child, /^\{"port":\d+\}$/m, 's3rver');
    port = (JSON.parse(/\{"port":\d+\}/.exec(line)![0]) as { port: number }).port;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const controls = serverControls(child, port, () => rmSync(dir, { recursive: true, force: true }));
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    ...controls,
    endpoint,
    url: (prefix, via = endpoint) => `s3://${TEST_BUCKET}/${prefix}?endpoint=${encodeURIComponent(via)}`,
  };
}

function serverControls(child: ChildProcess, port: number, afterExit?: () => void): TestServer {
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve();
    } else {
      child.once('exit', () => resolve());
    }
  }).then(() => afterExit?.());
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  };
  return {
    port,
    pid,
    stop: async () => {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      signal('SIGKILL');
      await exited;
    },
  };
}

/** Resolves with the output once a line matches; rejects (and kills the child) on exit or timeout. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (pattern.test(output)) {
        done();
        resolve(output);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      done();
      reject(new Error(`${what} exited (${signal ?? code}) before it was ready:\n${output}`));
    };
    const timer = setTimeout(() => {
      done();
      child.kill('SIGKILL');
      reject(new Error(`${what} was not ready after ${READY_TIMEOUT_MS} ms:\n${output}`));
    }, READY_TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining: a full pipe would block the server.
      child.stdout?.resume();
      child.stderr?.resume();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
