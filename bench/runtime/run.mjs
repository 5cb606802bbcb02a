// bench/runtime: the embedded runtime side by side with its references, in one run.
// Usage: npm run build && node bench/runtime/run.mjs [rounds=400] [colds=15] [maps=6]
//
// (a) warm invoke round trip of a trivial task (double the element):
//     LocalBackend.invoke vs the same handler through serverless-offline 13.9
//     (AWS SDK InvokeCommand, RequestResponse) vs the raw IPC floor (a forked
//     child, advanced serialization, echoing a message shaped like an invoke).
//     `rounds` invocations each, in batches of 50 whose order rotates.
// (b) cold start: a fresh LocalBackend's first invocation (invoke -> result,
//     and the initMs it reports) vs `node -e 0` (spawn -> exit) run with the
//     same clean environment the runtime gives its workers; alternating.
//     For information: the fork floor (fork an empty module with IPC, as the
//     runtime forks its workers -> its first message) and `node -e 0` with
//     this process's environment (NODE_EXTRA_CA_CERTS alone adds ~40 ms).
// (c) `%%serverless --map ids --as n --concurrency 16` over 1,000 elements
//     from the kernel (execute_request -> execute_reply; the first run
//     starts the pool cold) vs 1,000 InvokeCommands, 16 at a time, against
//     serverless-offline (its first run, starting its handler instances, is
//     also kept apart); alternating. The default concurrency (8) is shown
//     for information.
// Medians (p50), p90 and ratios; raw samples in bench/runtime/results/latest.json;
// a markdown table on stdout. Every process started here is stopped by PID,
// also on errors and on SIGINT/SIGTERM.
import { fork, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';

import { children, freePort, median, ourKernel, root, startKernel } from '../lib/kernel-client.mjs';

// The SDK warns once per process that releases after early 2027 need Node 22 (pinned in the lock file).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const require = createRequire(path.join(root, 'package.json'));
const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');
const { LocalBackend } = require(path.join(root, 'kernel-magics/dist/src/runtime/local/index.js'));
const { cleanEnvironment } = require(path.join(root, 'kernel-magics/dist/src/runtime/local/config.js'));

const ROUNDS = Number(process.argv[2] ?? 400);
const COLDS = Number(process.argv[3] ?? 15);
const MAPS = Number(process.argv[4] ?? 6);
const BATCH = 50;
const ELEMENTS = 1000;
const MAP_CONCURRENCY = 16;
const MEMORY_MB = 1024;

// A Ctrl-C ends the process through process.exit, so the exit handlers below
// (and kernel-client's) kill what is still running.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));
const backends = new Set();
process.on('exit', () => {
  for (const backend of backends)
    for (const pid of backend.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
});

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const never = new AbortController().signal;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const rotate = (items, by) => items.map((_, i) => items[(i + by) % items.length]);

// --- serverless-offline: its own process group, stopped by PID (the group).
async function startOffline() {
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

// --- the embedded runtime, invoked directly.
const source = '(async (captures, element) => ({ hasValue: true, value: element * 2, exports: {} }))';
const program = { hash: createHash('sha256').update(source).digest('hex'), source, filename: 'bench-double' };
const noCaptures = serialize({});
const capturesHash = createHash('sha256').update(noCaptures).digest('hex');
let invocation = 0;
const request = (element) => ({
  id: `bench-${invocation++}`,
  runId: 'bench',
  index: element,
  program,
  captures: { hash: capturesHash, bytes: noCaptures },
  element: serialize(element),
  memoryMb: MEMORY_MB,
  timeoutS: 30,
  retries: 0,
  cwd: root,
});
function newBackend(options) {
  const backend = new LocalBackend(options);
  backends.add(backend);
  return backend;
}
async function disposeBackend(backend) {
  await backend.dispose();
  backends.delete(backend);
}
async function invokeLocal(backend, element) {
  const result = await backend.invoke(request(element), {}, never);
  if (result.outcome.status !== 'ok')
    throw new Error(`the local runtime answered ${JSON.stringify(result.outcome)}`);
  const { value } = deserialize(result.outcome.result);
  if (value !== element * 2) throw new Error(`the local runtime gave ${value} for ${element}`);
  return result;
}

// --- the IPC floor: a forked child echoing each message as it came.
async function startEcho() {
  const file = path.join(scratch, 'echo.cjs');
  const child = fork(file, [], { serialization: 'advanced', stdio: 'ignore' });
  children.add(child);
  let seq = 0;
  // What an environment receives for a warm invocation (program and captures already there).
  const echo = (element) =>
    new Promise((resolve) => {
      child.once('message', resolve);
      child.send({
        type: 'invoke',
        seq: seq++,
        programHash: program.hash,
        capturesHash,
        element: serialize(element),
        cwd: root,
      });
    });
  await echo(0);
  return {
    echo,
    stop: async () => {
      const exit = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exit;
      children.delete(child);
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

// fork -> first IPC message from an empty module, as the runtime forks its
// workers (clean env, heap limit, piped stdio, advanced serialization).
function forkReadyTime(env) {
  const file = path.join(scratch, 'ready.cjs');
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = fork(file, [], {
      env,
      execArgv: [`--max-old-space-size=${MEMORY_MB}`],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    children.add(child);
    child.once('error', reject);
    child.once('message', () => {
      const elapsed = performance.now() - t;
      child.once('exit', () => {
        children.delete(child);
        resolve(elapsed);
      });
      child.kill('SIGKILL');
    });
  });
}

function spawnTime(args, env) {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore', env });
    children.add(child);
    child.once('error', reject);
    child.once('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(performance.now() - t);
      else reject(new Error(`node ${args.join(' ')} exited with ${code}`));
    });
  });
}

// --- (c) helpers.
const withTimeout = (promise, ms, what) =>
  Promise.race([promise, sleep(ms).then(() => Promise.reject(new Error(`${what}: no answer in ${ms} ms`)))]);

async function execute(kernel, code) {
  const t = performance.now();
  const reply = await withTimeout(
    kernel.request('execute_request', {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
    }),
    60_000,
    code.split('\n')[0],
  );
  const { status, ename, evalue } = reply.content;
  return { ms: performance.now() - t, error: status === 'ok' ? undefined : `${status}: ${ename}: ${evalue}` };
}

const mapCell = (concurrency, out = '') =>
  `%%serverless --map ids --as n${concurrency ? ` --concurrency ${concurrency}` : ''}${out}\nn * 2`;

async function offlineMap(offline) {
  const t = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < ELEMENTS) await offline.invoke(next++);
  };
  await Promise.all(Array.from({ length: MAP_CONCURRENCY }, lane));
  return performance.now() - t;
}

// --- the run.
const began = performance.now();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'jsl-bench-runtime-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
writeFileSync(path.join(scratch, 'echo.cjs'), "process.on('message', (m) => process.send(m));\n");
writeFileSync(path.join(scratch, 'ready.cjs'), "process.send({ type: 'ready' });\n");
const offline = await startOffline();
const echo = await startEcho();
const local = newBackend({ concurrency: 1 });
const warm = { local: [], offline: [], ipc: [] };
const cold = { local: [], localInitMs: [], nodeCleanEnv: [], forkReady: [], nodeBenchEnv: [] };
const map = {
  kernelFirst16: undefined,
  kernel16: [],
  kernel8: [],
  offlineFirst: undefined,
  offline: [],
  errors: [],
};
const fail = (text) => {
  if (!map.errors.includes(text)) map.errors.push(text);
};
try {
  // (a) warm up all three, then rotate the order of the batches.
  for (let i = 0; i < 50; i++) {
    await invokeLocal(local, i);
    await offline.invoke(i);
    await echo.echo(i);
  }
  const contestants = {
    local: (i) => invokeLocal(local, i),
    offline: (i) => offline.invoke(i),
    ipc: (i) => echo.echo(i),
  };
  for (let round = 0; round < Math.ceil(ROUNDS / BATCH); round++)
    for (const name of rotate(Object.keys(contestants), round))
      warm[name].push(...(await timeBatch(contestants[name])));

  // (b) cold starts, alternating which goes first.
  const clean = cleanEnvironment(MEMORY_MB, os.tmpdir());
  const coldLocal = async (i) => {
    const fresh = newBackend({ concurrency: 1 });
    const t = performance.now();
    const result = await invokeLocal(fresh, i);
    cold.local.push(performance.now() - t);
    if (!result.attempts[0].cold) throw new Error('a fresh backend reused an environment');
    cold.localInitMs.push(result.attempts[0].initMs);
    await disposeBackend(fresh);
  };
  const coldNode = async () => {
    cold.nodeCleanEnv.push(await spawnTime(['-e', '0'], clean));
    cold.forkReady.push(await forkReadyTime(clean));
    cold.nodeBenchEnv.push(await spawnTime(['-e', '0'], process.env));
  };
  await coldLocal(-1); // disk caches
  await coldNode();
  for (const key of Object.keys(cold)) cold[key].length = 0;
  for (let i = 0; i < COLDS; i++) {
    if (i % 2) {
      await coldNode();
      await coldLocal(i);
    } else {
      await coldLocal(i);
      await coldNode();
    }
  }

  // (c) from the kernel; a failing cell is reported, not worked around.
  let kernel;
  try {
    kernel = await startKernel('serverless-kernel', ourKernel);
  } catch (error) {
    fail(`the kernel did not start: ${error.message}`);
  }
  try {
    if (!kernel) throw new Error(map.errors[0]);
    const define = await execute(kernel, `const ids = Array.from({ length: ${ELEMENTS} }, (_, i) => i);`);
    if (define.error) throw new Error(`defining ids failed: ${define.error}`);
    const first = await execute(kernel, mapCell(MAP_CONCURRENCY));
    if (first.error) fail(first.error);
    else map.kernelFirst16 = first.ms;
    // The result itself, once: the cell throws when a value is wrong.
    const checked = await execute(kernel, mapCell(MAP_CONCURRENCY, ' --out doubled'));
    const check = checked.error
      ? checked
      : await execute(
          kernel,
          `if (doubled.length !== ${ELEMENTS} || doubled.some((v, i) => v !== 2 * i)) throw new Error('wrong map result');`,
        );
    if (check.error) fail(check.error);
    // serverless-offline's first map starts its own 16 handler instances (worker threads): kept apart too.
    map.offlineFirst = await offlineMap(offline);
    for (let i = 0; i < MAPS && map.errors.length === 0; i++) {
      const steps = [
        async () => {
          const run = await execute(kernel, mapCell(MAP_CONCURRENCY));
          if (run.error) fail(run.error);
          else map.kernel16.push(run.ms);
        },
        async () => map.offline.push(await offlineMap(offline)),
      ];
      for (const step of i % 2 ? steps.reverse() : steps) await step();
      const run8 = await execute(kernel, mapCell(undefined));
      if (run8.error) fail(run8.error);
      else map.kernel8.push(run8.ms);
    }
  } catch (error) {
    fail(error.message);
  } finally {
    await kernel?.stop();
  }
  // Without a kernel map the reference still runs, so the harness reports it.
  map.offlineFirst ??= await offlineMap(offline);
  while (map.offline.length < MAPS) map.offline.push(await offlineMap(offline));
} finally {
  await disposeBackend(local);
  await echo.stop();
  await offline.stop();
}

// --- report.
const fmt = (value) =>
  value === undefined || Number.isNaN(value)
    ? '-'
    : value >= 100
      ? value.toFixed(0)
      : value.toFixed(value >= 10 ? 1 : 3);
const stats = (values) => (values.length ? { p50: median(values), p90: quantile(values, 0.9) } : {});
const ratio = (a, b) => (a && b ? a / b : undefined);
const targets = [
  {
    name: '(a) serverless-offline / local, warm p50',
    value: ratio(median(warm.offline), median(warm.local)),
    goal: '>= 4',
    met: (v) => v >= 4,
  },
  {
    name: '(a) local / IPC floor, warm p50',
    value: ratio(median(warm.local), median(warm.ipc)),
    goal: '<= 10',
    met: (v) => v <= 10,
  },
  {
    name: '(b) local cold start / node -e 0 (same env), p50',
    value: ratio(median(cold.local), median(cold.nodeCleanEnv)),
    goal: '<= 1.3',
    met: (v) => v <= 1.3,
  },
  {
    name: '(c) kernel map x16, warm p50 (ms)',
    value: map.kernel16.length ? median(map.kernel16) : undefined,
    goal: '< 1000',
    met: (v) => v < 1000,
  },
  {
    name: '(c) kernel map x16, first (cold pool) (ms)',
    value: map.kernelFirst16,
    goal: '< 1000',
    met: (v) => v < 1000,
  },
  {
    name: '(c) serverless-offline / kernel map x16, warm p50',
    value: ratio(median(map.offline), map.kernel16.length ? median(map.kernel16) : undefined),
    goal: '>= 5',
    met: (v) => v >= 5,
  },
].map(({ name, value, goal, met }) => ({
  name,
  value,
  goal,
  met: value === undefined ? 'n/a' : met(value) ? 'yes' : 'NO',
}));
const rows = [
  ['(a) warm invoke, local runtime', stats(warm.local), warm.local.length],
  ['(a) warm invoke, serverless-offline', stats(warm.offline), warm.offline.length],
  ['(a) warm round trip, IPC floor (fork echo)', stats(warm.ipc), warm.ipc.length],
  ['(b) cold start, first invocation (invoke -> result)', stats(cold.local), cold.local.length],
  ['(b) cold start, reported initMs', stats(cold.localInitMs), cold.localInitMs.length],
  ['(b) node -e 0, the workers clean env', stats(cold.nodeCleanEnv), cold.nodeCleanEnv.length],
  ['(b) fork floor: fork -> first IPC message (info)', stats(cold.forkReady), cold.forkReady.length],
  ['(b) node -e 0, this process env (info)', stats(cold.nodeBenchEnv), cold.nodeBenchEnv.length],
  ['(c) kernel map of 1,000, --concurrency 16, warm', stats(map.kernel16), map.kernel16.length],
  [
    '(c) kernel map of 1,000, --concurrency 16, first',
    { p50: map.kernelFirst16 },
    map.kernelFirst16 === undefined ? 0 : 1,
  ],
  ['(c) kernel map of 1,000, default concurrency 8 (info)', stats(map.kernel8), map.kernel8.length],
  ['(c) 1,000 InvokeCommands x16, serverless-offline, warm', stats(map.offline), map.offline.length],
  [
    '(c) 1,000 InvokeCommands x16, serverless-offline, first',
    { p50: map.offlineFirst },
    map.offlineFirst === undefined ? 0 : 1,
  ],
];
const lines = [
  '| measurement (ms)                                        |    p50 |    p90 |   n |',
  '| ------------------------------------------------------- | -----: | -----: | --: |',
  ...rows.map(
    ([name, s, n]) =>
      `| ${name.padEnd(55)} | ${fmt(s.p50).padStart(6)} | ${fmt(s.p90).padStart(6)} | ${String(n).padStart(3)} |`,
  ),
  '',
  '| target                                             |  value | goal   | met |',
  '| -------------------------------------------------- | -----: | ------ | --- |',
  ...targets.map(
    (t) =>
      `| ${t.name.padEnd(50)} | ${fmt(t.value).padStart(6)} | ${t.goal.padEnd(6)} | ${t.met.padEnd(3)} |`,
  ),
];
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadavg: os.loadavg(),
  args: {
    rounds: ROUNDS,
    colds: COLDS,
    maps: MAPS,
    batch: BATCH,
    elements: ELEMENTS,
    mapConcurrency: MAP_CONCURRENCY,
  },
  offline: { readyMs: offline.readyMs, firstInvokeMs: offline.firstInvokeMs },
  wallS: (performance.now() - began) / 1000,
  table: rows.map(([name, s, n]) => ({ name, ...s, n })),
  targets,
  kernelErrors: map.errors,
  samples: { warm, cold, map },
};
mkdirSync(path.join(root, 'bench/runtime/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/runtime/results/latest.json'), JSON.stringify(result, null, 2) + '\n');
console.log(lines.join('\n'));
if (map.errors.length) console.log(`\nKernel map errors:\n${map.errors.map((e) => `  ${e}`).join('\n')}`);
console.log(
  `\nserverless-offline: ready in ${fmt(offline.readyMs)} ms, its first invoke ${fmt(offline.firstInvokeMs)} ms; whole bench ${result.wallS.toFixed(1)} s`,
);
process.exit(0);
