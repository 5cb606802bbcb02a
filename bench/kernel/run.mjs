// bench/kernel: serverless-kernel vs tslab 1.0.22, side by side in one run.
//
// STARTS times: start both kernels one after the other (order alternating),
// measuring start -> kernel_info_reply (the frontend sees the kernel) and
// start -> first cell `1 + 1` answered (the kernel can do work); then ROUNDS
// warm round trips of a trivial cell (execute_request -> execute_reply, and
// -> its idle status on iopub, when a frontend shows it done), the two
// kernels taking turns. Medians and ratios (ours / tslab; < 1 is faster).
// Writes bench/kernel/results/latest.json. Usage: node bench/kernel/run.mjs [starts] [rounds]
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { KernelTimeoutError, median, ourKernel, root, startKernel } from '../lib/kernel-client.mjs';

const STARTS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 40);

const KERNELS = {
  'serverless-kernel': ourKernel,
  'tslab 1.0.22': (file) => [
    path.join(root, 'node_modules/tslab/bin/tslab'),
    'kernel',
    '--config-path',
    file,
  ],
};

// A kernel that does not answer at start (seen with tslab 1.0.22: its
// shell socket stops being read) is killed and started again, at most
// twice; the failed starts are listed in the results.
const START_ATTEMPTS = 3;
const failedStarts = Object.fromEntries(Object.keys(KERNELS).map((k) => [k, []]));
// Cells whose idle status never came (tslab 1.0.22 drops iopub messages).
const lostIdle = Object.fromEntries(Object.keys(KERNELS).map((k) => [k, 0]));
async function start(name) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startKernel(name, KERNELS[name]);
    } catch (error) {
      if (!(error instanceof KernelTimeoutError) || attempt === START_ATTEMPTS) throw error;
      failedStarts[name].push(error.message);
      console.warn(`${error.message}; starting it again`);
    }
  }
}

async function roundTrip(kernel, i) {
  const { reply, replyMs, idleMs } = await kernel.execute(`${i} + 1`);
  if (reply.content.status !== 'ok') throw new Error('cell failed');
  return { replyMs, idleMs };
}

// Both kernels live at once and take turns cell by cell, so machine noise
// hits them alike; start order alternates between runs.
const samples = Object.fromEntries(
  Object.keys(KERNELS).map((k) => [k, { info: [], firstCell: [], roundTrip: [], toIdle: [] }]),
);
for (let run = 0; run < STARTS; run++) {
  const order = run % 2 ? Object.keys(KERNELS).reverse() : Object.keys(KERNELS);
  const kernels = {};
  for (const name of order) {
    kernels[name] = await start(name);
    samples[name].info.push(kernels[name].infoMs);
    samples[name].firstCell.push(kernels[name].firstCellMs);
  }
  for (let i = 0; i < ROUNDS; i++) {
    for (const name of i % 2 ? [...order].reverse() : order) {
      const { replyMs, idleMs } = await roundTrip(kernels[name], i);
      // The first few cells include JIT warm-up of the compiler.
      if (i >= 5) {
        samples[name].roundTrip.push(replyMs);
        if (idleMs === undefined) lostIdle[name] += 1;
        else samples[name].toIdle.push(idleMs);
      }
    }
  }
  for (const name of order) await kernels[name].stop();
}

const [ours, theirs] = Object.keys(KERNELS);
const row = (label, key) => {
  const a = median(samples[ours][key]);
  const b = median(samples[theirs][key]);
  return { metric: label, [ours]: +a.toFixed(2), [theirs]: +b.toFixed(2), ratio: +(a / b).toFixed(3) };
};
const table = [
  row('start -> kernel_info_reply (ms, median)', 'info'),
  row('start -> first cell done (ms, median)', 'firstCell'),
  row('trivial cell round trip (ms, median)', 'roundTrip'),
  row('trivial cell to idle on iopub (ms, median)', 'toIdle'),
];
const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  starts: STARTS,
  rounds: ROUNDS,
  table,
  failedStarts,
  lostIdle,
  samples,
};
mkdirSync(path.join(root, 'bench/kernel/results'), { recursive: true });
writeFileSync(path.join(root, 'bench/kernel/results/latest.json'), JSON.stringify(result, null, 2) + '\n');
console.table(table);
console.log('idle status lost (cells):', lostIdle, 'failed starts:', failedStarts);
process.exit(0);
