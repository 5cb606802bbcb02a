// bench/runtime: serverless-offline 13.9 (bench/runtime/offline/) as the
// reference: started in its own process group on free loopback ports,
// invoked with the AWS SDK's InvokeCommand, stopped by PID (the group).
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

import { children, freePort, root } from '../lib/kernel-client.mjs';

// The SDK warns once per process that releases after early 2027 need Node 22 (pinned in the lock file).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const require = createRequire(path.join(root, 'package.json'));
const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts serverless-offline and resolves once it answered an invocation:
 * `{ invoke(element), stop(), readyMs, firstInvokeMs }`.
 */
export async function startOffline() {
  const [lambdaPort, httpPort, wsPort] = [await freePort(), await freePort(), await freePort()];
  // Its per-invocation log lines go to a file: reading them here would load this process's event loop.
  const logDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-offline-'));
  const logFile = path.join(logDir, 'offline.log');
  process.on('exit', () => rmSync(logDir, { recursive: true, force: true }));
  const log = openSync(logFile, 'w');
  const child = spawn(
    process.execPath,
    [path.join(root, 'node_modules/serverless/bin/serverless.js'), 'offline', 'start'],
    {
      cwd: path.join(root, 'bench/runtime/offline'),
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        JSL_LAMBDA_PORT: String(lambdaPort),
        JSL_HTTP_PORT: String(httpPort),
        JSL_WS_PORT: String(wsPort),
      },
    },
  );
  closeSync(log);
  const group = {
    kill: (signal = 'SIGKILL') => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    },
  };
  children.add(group);
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', resolve)).then(() => (exited = true));
  const client = new LambdaClient({
    endpoint: `http://127.0.0.1:${lambdaPort}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  const invoke = async (element) => {
    const reply = await client.send(
      new InvokeCommand({
        FunctionName: 'jsl-bench-dev-double',
        InvocationType: 'RequestResponse',
        Payload: JSON.stringify({ element }),
      }),
    );
    const { value } = JSON.parse(Buffer.from(reply.Payload).toString());
    if (reply.FunctionError || value !== element * 2)
      throw new Error(`serverless-offline answered ${Buffer.from(reply.Payload).toString()}`);
    return value;
  };
  const stop = async () => {
    client.destroy();
    group.kill('SIGTERM');
    await Promise.race([exit, sleep(3000)]);
    group.kill('SIGKILL'); // whatever is left of the group
    children.delete(group);
  };
  // Ready once it answers an invocation (that first one is its cold start).
  const started = performance.now();
  for (;;) {
    if (exited || performance.now() - started > 60_000) {
      const tail = readFileSync(logFile, 'utf8').slice(-2000);
      await stop();
      throw new Error(`serverless-offline did not start:\n${tail}`);
    }
    try {
      const t = performance.now();
      await invoke(0);
      return { invoke, stop, readyMs: performance.now() - started, firstInvokeMs: performance.now() - t };
    } catch {
      await sleep(100);
    }
  }
}

/** `elements` InvokeCommands, `concurrency` at a time; resolves with the wall time (ms). */
export async function offlineMap(offline, elements, concurrency) {
  const t = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < elements) await offline.invoke(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return performance.now() - t;
}
