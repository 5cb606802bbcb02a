// bench/runtime: the embedded runtime side by side with its references, in one run.
//
// (a) warm invoke round trip of a trivial task (double the element):
//     LocalBackend.invoke vs the same handler through serverless-offline 13
//     (AWS SDK InvokeCommand) vs the raw IPC floor (a forked child echoing a
//     message, advanced serialization). Batches interleaved; p50 and p90.
// (b) cold start: a fresh environment's first invocation vs `node -e 0`
//     (spawn -> exit), alternating.
// (c) a --map of 1,000 trivial elements end to end from the kernel
//     (execute_request -> execute_reply, concurrency 16) vs 1,000
//     InvokeCommands at concurrency 16 against serverless-offline.
// Writes bench/runtime/results/latest.json and prints a table.
// Usage: npm run build && node bench/runtime/run.mjs [rounds=400] [colds=15] [maps=8]
import { fork, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { serialize } from 'node:v8';

import { children, freePort, median, ourKernel, root, startKernel } from '../lib/kernel-client.mjs';

const require = createRequire(path.join(root, 'package.json'));
const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');
const { LocalBackend } = require(path.join(root, 'kernel-magics/dist/src/runtime/local/index.js'));

const ROUNDS = Number(process.argv[2] ?? 400);
const COLDS = Number(process.argv[3] ?? 15);
const MAPS = Number(process.argv[4] ?? 8);
const BATCH = 50;

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const never = new AbortController().signal;

// --- serverless-offline, started as its own process group and stopped by PID.
async function startOffline() {
  const [lambdaPort, httpPort, wsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [path.join(root, 'node_modules/serverless/bin/serverless.js'), 'offline', 'start'],
    {
      cwd: path.join(root, 'bench/runtime/offline'),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
        JSL_LAMBDA_PORT: String(lambdaPort),
        JSL_HTTP_PORT: String(httpPort),
        JSL_WS_PORT: String(wsPort),
      },
    },
  );
  const group = {
    kill: () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    },
  };
  children.add(group);
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serverless-offline did not start:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk;
      if (output.includes('Function names exposed')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => reject(new Error(`serverless-offline exited:\n${output}`)));
  });
  const client = new LambdaClient({
    endpoint: `http://127.0.0.1:${lambdaPort}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  return {
    invoke: async (element) => {
      const reply = await client.send(
        new InvokeCommand({ FunctionName: 'jsl-bench-dev-double', Payload: JSON.stringify({ element }) }),
      );
      return JSON.parse(Buffer.from(reply.Payload).toString()).value;
    },
    async stop() {
      client.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      children.delete(group);
    },
  };
}

// --- the embedded runtime, invoked directly.
const source = '(async (c, e) => ({ hasValue: true, value: e * 2, exports: {} }))';
const program = { hash: createHash('sha256').update(source).digest('hex'), source, filename: 'bench-double' };
const noCaptures = serialize({});
let invocation = 0;
const request = (element) => ({
  id: `bench-${invocation++}`,
  runId: 'bench',
  program,
  captures: { hash: 'none', bytes: noCaptures },
  element: serialize(element),
  memoryMb: 1024,
  timeoutS: 30,
  retries: 0,
  cwd: root,
});

// --- the IPC floor: a forked child that echoes.
async function startEcho() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-echo-'));
  const file = path.join(dir, 'echo.cjs');
  writeFileSync(file, "process.on('message', (m) => process.send(m));\n");
  const child = fork(file, [], { serialization: 'advanced', stdio: 'ignore' });
  children.add(child);
  const echo = (message) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send(message);
    });
  await echo({ warm: true });
  return {
    echo,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function timeBatch(fn) {
  const times = [];
  for (let i = 0; i < BATCH; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return times;
}

function spawnTime(args) {
  const t = performance.now();
  return new Promise((resolve) =>
    spawn(process.execPath, args, { stdio: 'ignore' }).once('exit', () => resolve(performance.now() - t)),
  );
}

async function mapFromKernel(kernel, concurrency) {
  const t = performance.now();
  const reply = await kernel.request('execute_request', {
    code: `%%serverless --map ids --as n${concurrency ? ` --concurrency ${concurrency}` : ''}\nn * 2`,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
  });
  if (reply.content.status !== 'ok') throw new Error(`the map failed: ${JSON.stringify(reply.content)}`);
  return performance.now() - t;
}

async function offlineMap(offline, n, concurrency) {
  const t = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < n) await offline.invoke(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return performance.now() - t;
}

const offline = await startOffline();
const echo = await startEcho();
const local = new LocalBackend();
try {
  // Warm all three.
  await local.invoke(request(1), {}, never);
  for (let i = 0; i < 20; i++) await offline.invoke(i);

  const warm = { local: [], offline: [], ipc: [] };
  for (let round = 0; round < ROUNDS / BATCH; round++) {
    warm.local.push(...(await timeBatch((i) => local.invoke(request(i), {}, never))));
    warm.offline.push(...(await timeBatch((i) => offline.invoke(i))));
    warm.ipc.push(...(await timeBatch((i) => echo.echo({ element: i }))));
  }

  const cold = { local: [], localInit: [], node: [] };
  for (let i = 0; i < COLDS; i++) {
    const fresh = new LocalBackend();
    const t = performance.now();
    const result = await fresh.invoke(request(i), {}, never);
    cold.local.push(performance.now() - t);
    cold.localInit.push(result.attempts[0].initMs);
    await fresh.dispose();
    cold.node.push(await spawnTime(['-e', '0']));
  }

  const map = { kernel: [], kernel16: [], kernelFirst: 0, offline: [] };
  const kernel = await startKernel('serverless-kernel', ourKernel);
  try {
    await kernel.request('execute_request', {
      code: 'const ids = Array.from({ length: 1000 }, (_, i) => i);',
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
    });
    map.kernelFirst = await mapFromKernel(kernel);
    await mapFromKernel(kernel, 16); // the 16-environment pool's cold starts
    for (let i = 0; i < MAPS; i++) {
      map.kernel.push(await mapFromKernel(kernel));
      map.kernel16.push(await mapFromKernel(kernel, 16));
      map.offline.push(await offlineMap(offline, 1000, 16));
    }
  } finally {
    await kernel.stop();
  }

  const p = (values) => ({ p50: +quantile(values, 0.5).toFixed(3), p90: +quantile(values, 0.9).toFixed(3) });
  const table = [
    { metric: '(a) warm invoke, local runtime (ms)', ...p(warm.local) },
    { metric: '(a) warm invoke, serverless-offline (ms)', ...p(warm.offline) },
    { metric: '(a) IPC floor: fork echo (ms)', ...p(warm.ipc) },
    {
      metric: '(a) ratio offline / local (p50; target >= 4)',
      p50: +(median(warm.offline) / median(warm.local)).toFixed(2),
    },
    {
      metric: '(a) ratio local / IPC floor (p50; target <= 10)',
      p50: +(median(warm.local) / median(warm.ipc)).toFixed(2),
    },
    { metric: '(b) cold start, first invocation (ms)', ...p(cold.local) },
    { metric: '(b) cold start, reported initMs (ms)', ...p(cold.localInit) },
    { metric: '(b) node -e 0 (ms)', ...p(cold.node) },
    {
      metric: '(b) ratio local / node -e 0 (p50; target <= 1.3)',
      p50: +(median(cold.local) / median(cold.node)).toFixed(2),
    },
    { metric: '(c) map of 1,000 from the kernel, default concurrency 8, warm (ms)', ...p(map.kernel) },
    { metric: '(c) map of 1,000 from the kernel, --concurrency 16, warm (ms)', ...p(map.kernel16) },
    { metric: '(c) map of 1,000 from the kernel, first (cold pool) (ms)', p50: +map.kernelFirst.toFixed(1) },
    { metric: '(c) 1,000 InvokeCommands x16, serverless-offline (ms)', ...p(map.offline) },
    {
      metric: '(c) ratio offline / kernel map, concurrency 8 (p50; target >= 5)',
      p50: +(median(map.offline) / median(map.kernel)).toFixed(2),
    },
    {
      metric: '(c) ratio offline / kernel map, concurrency 16 (p50)',
      p50: +(median(map.offline) / median(map.kernel16)).toFixed(2),
    },
  ];
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    rounds: ROUNDS,
    table,
    samples: { warm, cold, map },
  };
  mkdirSync(path.join(root, 'bench/runtime/results'), { recursive: true });
  writeFileSync(path.join(root, 'bench/runtime/results/latest.json'), JSON.stringify(result, null, 2) + '\n');
  console.table(table);
} finally {
  await local.dispose();
  echo.stop();
  await offline.stop();
}
process.exit(0);
