// bench/runtime: the embedded runtime side by side with its references, in one run.
// Usage: npm run build && node bench/runtime/run.mjs [rounds=400] [colds=15] [maps=6]
//
// (a) warm invoke round trip of a trivial task (double the element):
//     LocalBackend.invoke vs the same handler through serverless-offline 13.9
//     (AWS SDK InvokeCommand, RequestResponse) vs the raw IPC floor (a forked
//     child, advanced serialization, echoing a message shaped like an invoke).
//     `rounds` invocations each, in batches of 50 whose order rotates.
// (b) cold start: a fresh LocalBackend's first invocation (invoke -> result,
//     and the initMs it reports) vs `node -e 0` (spawn -> exit) started the
//     same way: the same clean environment the runtime gives its workers,
//     inside the same bubblewrap sandbox when the runtime sandboxes them;
//     alternating. Side by side: the sandbox's own start (bwrap running
//     `true`), `node -e 0` without it, and a fresh backend with the sandbox
//     off (and (a) warm with the sandbox off: warm invocations no slower).
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
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { startKernel, ourKernel } from '../lib/kernel-client.mjs';
import { commandTime, forkReadyTime, spawnTime, startEcho, timeBatch, writeFloorScripts } from './floors.mjs';
import { cleanEnvironment, disposeBackend, invokeLocal, MEMORY_MB, newBackend, sandboxed } from './local.mjs';
import { offlineMap, startOffline } from './offline.mjs';
import { report } from './report.mjs';

const ROUNDS = Number(process.argv[2] ?? 400);
const COLDS = Number(process.argv[3] ?? 15);
const MAPS = Number(process.argv[4] ?? 6);
const BATCH = 50;
const ELEMENTS = 1000;
const MAP_CONCURRENCY = 16;

// A Ctrl-C ends the process through process.exit, so the exit handlers
// (here, in local.mjs and in kernel-client) kill what is still running.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

const rotate = (items, by) => items.map((_, i) => items[(i + by) % items.length]);

// --- (c) helpers.
/** Runs a cell (60 s deadline); resolves with its time to execute_reply and its error if any. */
async function execute(kernel, code) {
  const t = performance.now();
  const content = { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false };
  const reply = await kernel.request('execute_request', content, 60_000);
  const { status, ename, evalue } = reply.content;
  return { ms: performance.now() - t, error: status === 'ok' ? undefined : `${status}: ${ename}: ${evalue}` };
}

const mapCell = (concurrency, out = '') =>
  `%%serverless --map ids --as n${concurrency ? ` --concurrency ${concurrency}` : ''}${out}\nn * 2`;

// --- the run.
const began = performance.now();
const scratch = mkdtempSync(path.join(os.tmpdir(), 'jsl-bench-runtime-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
writeFloorScripts(scratch);
const offline = await startOffline();
const echo = await startEcho(scratch);
const local = newBackend({ concurrency: 1 });
const localOff = newBackend({ concurrency: 1, sandbox: 'off' });
const nodeInSandbox = sandboxed([process.execPath, '-e', '0']);
const sandboxAlone = sandboxed(['true']);
const warm = { local: [], offline: [], ipc: [], localNoSandbox: [] };
const cold = {
  local: [],
  localInitMs: [],
  nodeSameWay: [],
  sandboxAlone: [],
  nodeCleanEnv: [],
  localNoSandbox: [],
  forkReady: [],
  nodeBenchEnv: [],
};
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
    await invokeLocal(localOff, i);
  }
  const contestants = {
    local: (i) => invokeLocal(local, i),
    localNoSandbox: (i) => invokeLocal(localOff, i),
    offline: (i) => offline.invoke(i),
    ipc: (i) => echo.echo(i),
  };
  for (let round = 0; round < Math.ceil(ROUNDS / BATCH); round++)
    for (const name of rotate(Object.keys(contestants), round))
      warm[name].push(...(await timeBatch(contestants[name], BATCH)));

  // (b) cold starts, alternating which goes first.
  const clean = cleanEnvironment(MEMORY_MB, os.tmpdir());
  const firstInvocation = async (i, options, into) => {
    const fresh = newBackend({ concurrency: 1, ...options });
    const t = performance.now();
    const result = await invokeLocal(fresh, i);
    into.push(performance.now() - t);
    if (!result.attempts[0].cold) throw new Error('a fresh backend reused an environment');
    await disposeBackend(fresh);
    return result;
  };
  const coldLocal = async (i) => {
    const result = await firstInvocation(i, {}, cold.local);
    cold.localInitMs.push(result.attempts[0].initMs);
    await firstInvocation(i, { sandbox: 'off' }, cold.localNoSandbox);
  };
  const coldNode = async () => {
    // The reference: node -e 0 started as the workers are (in the sandbox, when there is one).
    cold.nodeSameWay.push(
      nodeInSandbox.file
        ? await commandTime(nodeInSandbox.file, nodeInSandbox.args, clean)
        : await spawnTime(['-e', '0'], clean),
    );
    if (sandboxAlone.file)
      cold.sandboxAlone.push(await commandTime(sandboxAlone.file, sandboxAlone.args, clean));
    cold.nodeCleanEnv.push(await spawnTime(['-e', '0'], clean));
    cold.forkReady.push(await forkReadyTime(scratch, clean));
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
    map.offlineFirst = await offlineMap(offline, ELEMENTS, MAP_CONCURRENCY);
    for (let i = 0; i < MAPS && map.errors.length === 0; i++) {
      const steps = [
        async () => {
          const run = await execute(kernel, mapCell(MAP_CONCURRENCY));
          if (run.error) fail(run.error);
          else map.kernel16.push(run.ms);
        },
        async () => map.offline.push(await offlineMap(offline, ELEMENTS, MAP_CONCURRENCY)),
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
  map.offlineFirst ??= await offlineMap(offline, ELEMENTS, MAP_CONCURRENCY);
  while (map.offline.length < MAPS) map.offline.push(await offlineMap(offline, ELEMENTS, MAP_CONCURRENCY));
} finally {
  await disposeBackend(local);
  await disposeBackend(localOff);
  await echo.stop();
  await offline.stop();
}

report(
  { warm, cold, map },
  offline,
  {
    rounds: ROUNDS,
    colds: COLDS,
    maps: MAPS,
    batch: BATCH,
    elements: ELEMENTS,
    mapConcurrency: MAP_CONCURRENCY,
    sandbox: nodeInSandbox.support.sandboxed ? 'bubblewrap' : `none: ${nodeInSandbox.support.reason}`,
  },
  began,
);
process.exit(0);
