// bench/training/interrupt: how soon an interrupt stops a train() call (issue 13: "an interrupt stops
// within a second and leaves the last checkpoint usable"). A notebook user's path: jupyter_server, the
// serverless-ts kernel, a cell training the MNIST MLP on 2 workers for many epochs; once the cell's table
// shows a finished epoch, the kernel is interrupted (the Jupyter interrupt request) and the time until the
// cell's reply is measured, and until the worker processes stop using CPU (a 100 ms window with under
// 5 ms of it), then the checkpoint is loaded back. Side by side, the same kernel's reply to an
// interrupt of a cell that only sleeps (the protocol's own floor). Medians over repetitions.
//
// Usage: npm run build && node bench/training/interrupt.mjs [reps=5]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { printedJson, runCell, startJupyterServer, withTimeout } from '../lib/jupyter.mjs';
import { cpuByProcess, cpuSince } from './cpu.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.argv[2] ?? 5);
const MARK = 'RESULT ';
const SETUP = `
import * as tf from '@tensorflow/tfjs';
import { datasets, models, train } from 'serverless-kernel';
const { train: trainSet } = await datasets.mnist({ train: 4000, test: 10 });
function mlp() {
  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }), tf.layers.dense({ units: 10, activation: 'softmax' })] });
  m.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}
`;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Worker CPU below this over a window of WINDOW_MS: the workers have stopped. */
const IDLE_CPU_MS = 5;
const WINDOW_MS = 100;

/** Ms from `at` until the server's worker processes use (nearly) no CPU over a window. */
async function workersIdleAfter(serverPid, at) {
  for (;;) {
    const before = cpuByProcess(serverPid);
    const windowStart = performance.now();
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    if (cpuSince(before, cpuByProcess(serverPid)).workers < IDLE_CPU_MS) {
      return windowStart - at;
    }
    if (performance.now() - at > 30_000) return Infinity;
  }
}

/**
 * Runs `code`, interrupts once `ready(text)` holds for a display update; resolves with ms from the
 * interrupt to the cell's reply and to the workers' last CPU use.
 */
async function interruptedAfter(kernel, code, ready, serverPid) {
  const future = kernel.requestExecute({ code, allow_stdin: false, stop_on_error: true });
  const seen = new Promise((resolve) => {
    future.onIOPub = (msg) => {
      const text = msg.content?.data?.['text/plain'];
      if (typeof text === 'string' && ready(text)) resolve();
    };
  });
  await withTimeout(seen, 180_000, 'the state to interrupt in');
  // What the workers used just before: the idle figure below means something only if this is high.
  const busyBefore = cpuByProcess(serverPid);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const workersBusyMs = cpuSince(busyBefore, cpuByProcess(serverPid)).workers;
  const at = performance.now();
  const idle = workersIdleAfter(serverPid, at);
  await kernel.interrupt();
  const reply = await withTimeout(future.done, 60_000, 'the interrupted cell');
  return {
    ms: performance.now() - at,
    workersStoppedMs: await idle,
    workersBusyMs,
    status: reply.content.status,
  };
}

const storeDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-bench-interrupt-'));
const server = await startJupyterServer({ SERVERLESS_STORE: storeDir });
const rows = [];
try {
  const kernel = await server.startKernel();
  await runCell(kernel, SETUP, 120_000);
  for (let rep = 0; rep < REPS; rep += 1) {
    const name = `interrupted-${rep}`;
    const trained = await interruptedAfter(
      kernel,
      `await train({ model: mlp(), data: trainSet, workers: 2, epochs: 100, batchSize: 32, name: '${name}' })`,
      (text) => /\n1\t/.test(text),
      server.pid,
    );
    const back = printedJson(
      await runCell(
        kernel,
        `const back${rep} = await models.load('${name}', { tf });\nconsole.log('${MARK}' + JSON.stringify({ weights: back${rep}.getWeights().length, versions: (await models.list({ name: '${name}' })).length }));`,
      ),
      MARK,
    );
    const floor = await interruptedAfter(
      kernel,
      `import { display } from 'serverless-kernel';\ndisplay.text('sleeping');\nawait new Promise((r) => setTimeout(r, 60_000));`,
      (text) => text === 'sleeping',
      server.pid,
    );
    rows.push({
      trainMs: trained.ms,
      workersStoppedMs: trained.workersStoppedMs,
      workersCpuMsIn300MsBefore: trained.workersBusyMs,
      trainStatus: trained.status,
      floorMs: floor.ms,
      checkpoint: back,
    });
    console.log(
      `rep ${rep + 1}: train() ${Math.round(trained.ms)} ms (${trained.status}), workers idle after ${Math.round(trained.workersStoppedMs)} ms (they used ${Math.round(trained.workersBusyMs)} ms of CPU in the 300 ms before), a sleeping cell ${Math.round(floor.ms)} ms; checkpoint ${JSON.stringify(back)}`,
    );
  }
  await kernel.shutdown();
} finally {
  await server.stop();
  rmSync(storeDir, { recursive: true, force: true });
}
const summary = {
  date: new Date().toISOString(),
  load: os.loadavg().map((x) => +x.toFixed(2)),
  reps: REPS,
  'train() interrupt to reply, ms (median)': Math.round(median(rows.map((r) => r.trainMs))),
  'sleeping cell interrupt to reply, ms (median)': Math.round(median(rows.map((r) => r.floorMs))),
  'train() max, ms': Math.round(Math.max(...rows.map((r) => r.trainMs))),
  'workers idle after, ms (median)': Math.round(median(rows.map((r) => r.workersStoppedMs))),
  'workers idle after, max ms': Math.round(Math.max(...rows.map((r) => r.workersStoppedMs))),
  rows,
};
mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results', 'interrupt.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.table([
  {
    'train(), ms': summary['train() interrupt to reply, ms (median)'],
    'sleeping cell, ms': summary['sleeping cell interrupt to reply, ms (median)'],
    'train() max, ms': summary['train() max, ms'],
    'workers idle after, ms': summary['workers idle after, ms (median)'],
    'workers idle, max ms': summary['workers idle after, max ms'],
  },
]);
