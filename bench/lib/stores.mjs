// Store servers for benchmarks, on 127.0.0.1, stopped by PID: Debian's redis-server (no
// persistence) and s3rver in its own process (kernel-magics/src/cli/offline-s3.ts, as the tests and `npm run offline` run it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUCKET = 'serverless-bench';
/** Credentials s3rver accepts, for the AWS SDK's default chain (and its notice about Node 20 kept out of the output). */
export const S3_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with the output once `pattern` appears on the child's stdout; rejects on exit or after 15 s. */
function waitFor(child, pattern, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} not ready after 15 s:\n${out}`)), 15_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${out}`));
    });
  });
}

function stopper(child, after) {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        after?.();
        resolve();
        return;
      }
      child.once('exit', () => {
        after?.();
        resolve();
      });
      process.kill(child.pid, 'SIGTERM');
    });
}

/** redis-server on a free port: `{ url(prefix), stop() }`. */
export async function startRedis() {
  const port = await freePort();
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'];
  const child = spawn('/usr/bin/redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitFor(child, /Ready to accept connections/, 'redis-server');
  return { url: (prefix) => `redis://127.0.0.1:${port}/0?prefix=${prefix}`, stop: stopper(child) };
}

/** s3rver with one bucket: `{ url(prefix), stop() }`. */
export async function startS3rver() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-s3rver-'));
  const script = path.join(root, 'kernel-magics', 'dist', 'src', 'cli', 'offline-s3.js');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, dir, BUCKET, '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await waitFor(child, /\{"port":\d+\}/, 's3rver');
  const { port } = JSON.parse(/\{"port":\d+\}/.exec(line)[0]);
  const endpoint = encodeURIComponent(`http://127.0.0.1:${port}`);
  return {
    url: (prefix) => `s3://${BUCKET}/${prefix}?endpoint=${endpoint}`,
    stop: stopper(child, () => rmSync(dir, { recursive: true, force: true })),
  };
}
