// bench/tuning: `%%serverless --tune` against brute force over the same grid, in one run.
// Usage: npm run build && node bench/tuning/run.mjs [repeats=3]
//
// For each body (CPU-bound, memory-bound, I/O-bound, CPU and waiting mixed,
// a 24-element map), `repeats` times, alternating which goes first:
//   - the tuner: `%%serverless --tune --memory GRID --out t` in a fresh kernel
//     (its pick, the invocations it ran, what tuning cost, its wall time);
//   - brute force: the same cell run at every size of GRID, once each, in
//     another fresh kernel (so each size starts in a fresh environment, as
//     the tuner's do), each run's bill read from the telemetry.
// Reported per body (medians over the repeats): the pick's measured cost over
// the cheapest measured cost (target <= 1.10), the tuner's invocations over
// brute force's (target <= 1/3), tuning's cost and wall time over brute
// force's, and how far the tuner's predicted cost of every size was from
// the cost brute force measured there (median |error|).
// Raw samples in bench/tuning/results/latest.json; a markdown table on stdout.
// Every worker is stopped with its kernel's backend, also on SIGINT/SIGTERM.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

import { root } from '../lib/kernel-client.mjs';

const require = createRequire(path.join(root, 'package.json'));
const dist = (file) => require(path.join(root, 'kernel-magics/dist/src', file));
const { createKernelEngine } = dist('kernel-engine.js');
const { CommRegistry } = dist('kernel/comms.js');
const { setOutputSink } = dist('output/sink.js');
const { LocalBackend } = dist('runtime/local/index.js');
const { TslabEngine } = dist('tslab.js');
const WORKER = path.join(root, 'kernel-magics/dist/src/runtime/local/worker.bundle.js');

const REPEATS = Number(process.argv[2] ?? 3);
const GRID = [128, 256, 384, 512, 768, 1024, 1536, 1769, 3008];

const cpu = (msExpr) =>
  `const start = process.cpuUsage();\nlet spins = 0;\n` +
  `while (process.cpuUsage(start).user + process.cpuUsage(start).system < ${msExpr} * 1000) spins++;`;
const CASES = [
  { name: 'CPU-bound (1 s of CPU)', body: `${cpu(1000)}\nspins > 0` },
  {
    name: 'memory-bound (96 MB held 400 ms)',
    body:
      'async function hold() {\n  const held = [];\n' +
      '  for (let i = 0; i < 12; i++) held.push(new Float64Array(1_000_000).fill(i));\n' +
      '  await new Promise((resolve) => setTimeout(resolve, 400));\n  return held.length;\n}\nawait hold()',
  },
  {
    name: 'I/O-bound (300 ms waiting)',
    body: 'await new Promise((resolve) => setTimeout(resolve, 300));\n1',
  },
  {
    name: 'mixed (300 ms CPU, 500 ms waiting)',
    body: `${cpu(300)}\nawait new Promise((resolve) => setTimeout(resolve, 500));\n1`,
  },
  {
    name: 'map of 24 (40-140 ms of CPU each, concurrency 4)',
    setup: 'const work = Array.from({ length: 24 }, (_, i) => 40 + (i % 6) * 20);',
    options: '--map work --as ms --concurrency 4',
    body: `${cpu('ms')}\nms`,
  },
];

const backends = new Set();
process.on('exit', () => {
  for (const backend of backends)
    for (const pid of backend.pids?.() ?? []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

/** A kernel engine of its own (no sockets), with its telemetry and output kept. */
function startKernel() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-tuning-'));
  const events = [];
  let stdout = '';
  setOutputSink({
    stream: (name, text) => {
      if (name === 'stdout') stdout += text;
    },
    display: () => undefined,
    clear: () => undefined,
  });
  let backend;
  const { engine, telemetry } = createKernelEngine({
    inner: new TslabEngine(dir),
    comms: new CommRegistry(),
    cwd: dir,
    backends: {
      local: () => {
        backend = new LocalBackend({ workerPath: WORKER });
        backends.add(backend);
        return backend;
      },
    },
  });
  telemetry.subscribe((event) => events.push(event));
  return {
    events,
    stdout: () => stdout,
    async run(code) {
      const outcome = await engine.execute(code);
      if (outcome.status !== 'ok')
        throw new Error(`cell failed: ${code.split('\n')[0]}: ${outcome.error?.message ?? outcome.status}`);
      return outcome;
    },
    /** Runs a cell that may fail; its outcome. */
    try: (code) => engine.execute(code),
    async dispose() {
      engine.dispose();
      if (backend) {
        await backend.dispose();
        backends.delete(backend);
      }
      setOutputSink(undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function tuneOnce(c) {
  const kernel = startKernel();
  try {
    if (c.setup) await kernel.run(c.setup);
    const t = performance.now();
    await kernel.run(
      `%%serverless --tune --memory ${GRID.join(',')} --out tuned ${c.options ?? ''}\n${c.body}`,
    );
    const ms = performance.now() - t;
    const { value } = await kernel.run('tuned');
    return {
      ms,
      pick: value.pick,
      invocations: value.invocations,
      costUsd: value.costUsd,
      brute: value.bruteForceInvocations,
      rows: value.rows,
    };
  } finally {
    await kernel.dispose();
  }
}

async function bruteOnce(c) {
  const kernel = startKernel();
  try {
    if (c.setup) await kernel.run(c.setup);
    const costs = {};
    let invocations = 0;
    let costUsd = 0;
    const t = performance.now();
    for (const memoryMb of GRID) {
      kernel.events.length = 0;
      const outcome = await kernel.try(`%%serverless --memory ${memoryMb} ${c.options ?? ''}\n${c.body}`);
      const end = kernel.events.find((e) => e.type === 'run-finished');
      invocations += kernel.events.filter((e) => e.type === 'invocation-finished').length;
      costUsd += end?.bill.totalUsd ?? 0;
      costs[memoryMb] = outcome.status === 'ok' && end ? end.bill.totalUsd : null;
    }
    return { ms: performance.now() - t, costs, invocations, costUsd };
  } finally {
    await kernel.dispose();
  }
}

const median = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const samples = [];
for (let repeat = 0; repeat < REPEATS; repeat += 1) {
  for (const c of CASES) {
    const tunedFirst = repeat % 2 === 0;
    const tuned = tunedFirst ? await tuneOnce(c) : undefined;
    const brute = await bruteOnce(c);
    const tunedLate = tuned ?? (await tuneOnce(c));
    const measured = Object.entries(brute.costs).filter(([, usd]) => usd !== null);
    const cheapest = Math.min(...measured.map(([, usd]) => usd));
    const pickCost = brute.costs[tunedLate.pick] ?? NaN;
    const errors = tunedLate.rows
      .filter((row) => row.costUsd !== undefined && brute.costs[row.memoryMb] !== null)
      .map((row) => Math.abs(row.costUsd / brute.costs[row.memoryMb] - 1));
    const cheapestSize = Number(measured.find(([, usd]) => usd === cheapest)?.[0]);
    samples.push({
      case: c.name,
      repeat,
      pick: tunedLate.pick,
      cheapestSize,
      pickOverCheapest: pickCost / cheapest,
      invocationsRatio: tunedLate.invocations / tunedLate.brute,
      costRatio: tunedLate.costUsd / brute.costUsd,
      timeRatio: tunedLate.ms / brute.ms,
      predictionError: median(errors),
      tuner: { ms: tunedLate.ms, invocations: tunedLate.invocations, costUsd: tunedLate.costUsd },
      brute: { ms: brute.ms, invocations: brute.invocations, costUsd: brute.costUsd, costs: brute.costs },
    });
    process.stderr.write(
      `${c.name} #${repeat}: pick ${tunedLate.pick} (cheapest ${cheapestSize}), ${(pickCost / cheapest).toFixed(3)}\n`,
    );
  }
}

mkdirSync(path.join(root, 'bench/tuning/results'), { recursive: true });
writeFileSync(
  path.join(root, 'bench/tuning/results/latest.json'),
  JSON.stringify(
    { when: new Date().toISOString(), load: os.loadavg(), repeats: REPEATS, grid: GRID, samples },
    null,
    1,
  ),
);

const rows = CASES.map((c) => {
  const mine = samples.filter((s) => s.case === c.name);
  const picks = mine.map((s) => `${s.pick}`).join('/');
  const cheapest = mine.map((s) => `${s.cheapestSize}`).join('/');
  return `| ${c.name} | ${picks} | ${cheapest} | ${median(mine.map((s) => s.pickOverCheapest)).toFixed(3)} | ${median(mine.map((s) => s.invocationsRatio)).toFixed(3)} | ${median(mine.map((s) => s.costRatio)).toFixed(3)} | ${median(mine.map((s) => s.timeRatio)).toFixed(3)} | ${(100 * median(mine.map((s) => s.predictionError))).toFixed(1)}% |`;
});
process.stdout.write(
  [
    `bench/tuning, ${REPEATS} repeats, grid ${GRID.join(',')} MB, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    '',
    '| body | picks | cheapest by brute force | pick cost / cheapest (<= 1.10) | invocations / brute force (<= 0.333) | tuning cost / brute force | tuning time / brute force | predicted cost error (median) |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'),
);
process.exit(0);
