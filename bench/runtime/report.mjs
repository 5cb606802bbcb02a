// bench/runtime: the report: medians, p90s and the targets as markdown
// tables on stdout, raw samples in bench/runtime/results/latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { median, root } from '../lib/kernel-client.mjs';

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};

/**
 * Prints and writes the results of one run: `samples` { warm, cold, map },
 * `offline` its start figures, `args` the run's parameters, `began` its start.
 */
export function report({ warm, cold, map }, offline, args, began) {
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
      name: '(a) local / local without sandbox, warm p50',
      value: ratio(median(warm.local), median(warm.localNoSandbox)),
      goal: '<= 1.1',
      met: (v) => v <= 1.1,
    },
    {
      name: '(b) local cold start / node -e 0 (same way), p50',
      value: ratio(median(cold.local), median(cold.nodeSameWay)),
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
    ['(a) warm invoke, local runtime, sandbox off', stats(warm.localNoSandbox), warm.localNoSandbox.length],
    ['(b) cold start, first invocation (invoke -> result)', stats(cold.local), cold.local.length],
    ['(b) cold start, reported initMs', stats(cold.localInitMs), cold.localInitMs.length],
    [
      '(b) node -e 0, started as the workers (sandbox, env)',
      stats(cold.nodeSameWay),
      cold.nodeSameWay.length,
    ],
    ['(b) the sandbox alone: bwrap ... true', stats(cold.sandboxAlone), cold.sandboxAlone.length],
    ['(b) node -e 0, clean env, no sandbox', stats(cold.nodeCleanEnv), cold.nodeCleanEnv.length],
    [
      '(b) cold start, sandbox off (invoke -> result)',
      stats(cold.localNoSandbox),
      cold.localNoSandbox.length,
    ],
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
    args,
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
}
