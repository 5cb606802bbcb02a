// bench/runtime/cpu.mjs: the kernel's CPU time per invocation of a map, a
// figure that moves little with machine load (wall time moves a lot on 2 cores).
// Usage: npm run build && node bench/runtime/cpu.mjs [maps=8] [elements=1000] [concurrency=16] [--prof DIR]
//
// Starts our kernel, runs `%%serverless --map ids --as n --concurrency C` over
// `elements` elements `maps` times (after two warm-up maps), and reads the
// user + system CPU time of the kernel process, and of its worker processes,
// from /proc/<pid>/stat around each map (clock ticks, so several maps are
// summed). Prints CPU us per invocation (kernel; workers, from the maps in
// which no worker started or stopped), wall ms per map and the load average.
// With --prof DIR the kernel runs with --cpu-prof and writes its profile to
// DIR when it shuts down (a shutdown_request, so the profile is complete).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';

import { children, median, ourKernel, startKernel } from '../lib/kernel-client.mjs';

const args = process.argv.slice(2);
const profAt = args.indexOf('--prof');
const profDir = profAt >= 0 ? args.splice(profAt, 2)[1] : undefined;
const MAPS = Number(args[0] ?? 8);
const ELEMENTS = Number(args[1] ?? 1000);
const CONCURRENCY = Number(args[2] ?? 16);
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

/** The fields of /proc/PID/stat after the command name (field 3 is at index 0), or undefined once gone. */
function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** user + system CPU ms of a process so far (fields 14 and 15 of /proc/PID/stat). */
function cpuMs(pid) {
  const fields = stat(pid);
  return fields ? (Number(fields[11]) + Number(fields[12])) * TICK_MS : 0;
}

/** PIDs of the processes whose parent is `pid` (the kernel's worker processes). */
function childPids(pid) {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => stat(name)?.[1] === String(pid));
}

/** CPU ms of the kernel and of its workers so far (workers gone meanwhile are not counted). */
function cpuNow(pid) {
  const workers = childPids(pid);
  return {
    kernel: cpuMs(pid),
    workers: workers.reduce((sum, child) => sum + cpuMs(child), 0),
    n: workers.length,
  };
}

const argv = profDir ? (file) => ['--cpu-prof', `--cpu-prof-dir=${profDir}`, ...ourKernel(file)] : ourKernel;
const kernel = await startKernel('serverless-kernel', argv);
const pid = [...children].at(-1).pid;
const execute = async (code) => {
  const t = performance.now();
  const reply = await kernel.request('execute_request', {
    code,
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: false,
  });
  if (reply.content.status !== 'ok') {
    throw new Error(`${code.split('\n')[0]}: ${reply.content.ename}: ${reply.content.evalue}`);
  }
  return performance.now() - t;
};
const cell = `%%serverless --map ids --as n --concurrency ${CONCURRENCY}\nn * 2`;
try {
  await execute(`const ids = Array.from({ length: ${ELEMENTS} }, (_, i) => i);`);
  await execute(cell);
  await execute(cell);
  const wall = [];
  const cpu = [];
  const workerCpu = [];
  const load = os.loadavg();
  for (let i = 0; i < MAPS; i++) {
    const before = cpuNow(pid);
    wall.push(await execute(cell));
    const after = cpuNow(pid);
    cpu.push(after.kernel - before.kernel);
    if (after.n === before.n) workerCpu.push(after.workers - before.workers);
  }
  const sum = (values) => values.reduce((a, b) => a + b, 0);
  const result = {
    maps: MAPS,
    elements: ELEMENTS,
    concurrency: CONCURRENCY,
    cpuUsPerInvocation: Math.round((sum(cpu) * 1000) / (MAPS * ELEMENTS)),
    workerCpuUsPerInvocation: workerCpu.length
      ? Math.round((sum(workerCpu) * 1000) / (workerCpu.length * ELEMENTS))
      : undefined,
    cpuMsPerMap: cpu,
    wallMsMedian: Math.round(median(wall)),
    wallMs: wall.map(Math.round),
    loadavg: load.map((l) => l.toFixed(2)),
  };
  console.log(JSON.stringify(result));
} finally {
  if (profDir) {
    await Promise.race([
      kernel.request('shutdown_request', { restart: false }),
      new Promise((r) => setTimeout(r, 5000)),
    ]);
    await new Promise((r) => setTimeout(r, 1000));
  }
  await kernel.stop();
}
