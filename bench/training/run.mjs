// bench/training: train() as a notebook user runs it (a real jupyter_server and serverless-ts kernel,
// cells that call train() on the embedded runtime's worker processes), side by side in one run with
// its references, on the MNIST MLP 784-128-10 (sgd at 0.1 x batch / 64, 8,000 training and 2,000
// test digits from datasets.mnist), at each global batch given (64 and 512 by default):
// (a) samples/s with 2 workers vs 1 worker at the same global batch: steady state (the history's
//     seconds of epochs 2..E, the first epoch's warm-up left out) and the call's end-to-end time.
//     Side by side, the ceiling this machine allows at that moment: train()'s own step (gradient and
//     apply, no exchange) in 1 process with the global batch vs 2 processes at once with half each;
//     and the bound the workers' CPU time allows (1 worker's CPU an epoch over half of 2 workers').
// (b) time to 90% test accuracy: train() with 2 workers (call -> the onEpochEnd of the first epoch
//     whose validation accuracy is at least 90%) vs the same model trained by model.fit in one plain
//     Node process on the same backend (tfjs wasm, loaded as the workers load it), the same batch,
//     optimizer and digits, validation after every epoch (fit call -> that epoch's end).
// (c) codec topk:0.01 (error feedback) vs none, 2 workers, the first batch: final test accuracy and
//     bytes exchanged (the history's bytesExchanged, summed over the epochs).
// Each repetition runs every measurement once, in an order that rotates between repetitions, with
// its own train() seed; the kernel's first train() call (cold worker environments) is kept apart.
// Figures are medians over the repetitions, ratios are of medians; CPU seconds by process (server,
// kernel, workers) come from /proc.
// Usage: npm run build && node bench/training/run.mjs [reps=3] [epochs=6] [batches=64,512]
// Writes bench/training/results/latest.json; prints the tables.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CellError, printedJson, runCell, startJupyterServer, withTimeout } from '../lib/jupyter.mjs';
import { median, root } from '../lib/kernel-client.mjs';
import { cpuByProcess, cpuSince } from './cpu.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(root, 'package.json'));
const { EpochSchedule } = require(path.join(root, 'kernel-magics/dist/src/training/schedule.js'));

const REPS = Number(process.argv[2] ?? 3);
const EPOCHS = Number(process.argv[3] ?? 6);
const BATCHES = (process.argv[4] ?? '64,512').split(',').map(Number);
/** The batch of (b) and (c). */
const MAIN_BATCH = BATCHES[0];
const TARGET_ACCURACY = 0.9;
const MODEL = { train: 8000, test: 2000, hidden: 128, modelSeed: 1 };
/** sgd's learning rate at a batch: 0.1 at 64, scaled with the batch (the linear scaling rule). */
const learningRate = (batchSize) => (0.1 * batchSize) / 64;
/**
 * train()'s seed (the order samples are visited in) in the first repetition; each repetition takes
 * the next, for every call in it, as model.fit's shuffle draws a new order every run.
 */
const ORDER_SEED = 7;
const TRAIN_TIMEOUT_MS = 300_000;
const CHILD_TIMEOUT_MS = 300_000;
/** Time for reference processes to load tfjs and the digits before their common start. */
const START_DELAY_MS = 4000;
const RESULT = 'RESULT ';

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

// --- The notebook's cells.
const SETUP = `
import * as tf from '@tensorflow/tfjs';
import { datasets, train } from 'serverless-kernel';
const { train: trainSet, test } = await datasets.mnist({ train: ${MODEL.train}, test: ${MODEL.test} });
function mlp(lr: number): tf.Sequential {
  const model = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [784], units: ${MODEL.hidden}, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: ${MODEL.modelSeed} }) }),
    tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: ${MODEL.modelSeed + 1} }) }),
  ] });
  model.compile({ optimizer: tf.train.sgd(lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}
async function timedTrain(workers: number, batchSize: number, codec: string, seed: number, lr: number) {
  const model = mlp(lr);
  const epochEnds: number[] = [];
  const started = performance.now();
  const { history } = await train({
    model, data: trainSet, validation: test, workers, epochs: ${EPOCHS}, batchSize, codec, seed,
    onEpochEnd: () => { epochEnds.push(performance.now() - started); },
  });
  const ms = performance.now() - started;
  model.dispose();
  return { ms, epochEnds, history };
}
`;

/** Runs one train() call in the kernel; its figures and the CPU each process used meanwhile. */
async function timedTrain(server, kernel, { workers, batchSize, codec = 'none', seed }) {
  const before = cpuByProcess(server.pid);
  const load = os.loadavg()[0];
  const text = await runCell(
    kernel,
    `console.log('${RESULT}' + JSON.stringify(await timedTrain(${workers}, ${batchSize}, '${codec}', ${seed}, ${learningRate(batchSize)})));`,
    TRAIN_TIMEOUT_MS,
  );
  const cpu = cpuSince(before, cpuByProcess(server.pid));
  return { workers, batchSize, codec, seed, load, cpu, ...printedJson(text, RESULT) };
}

// --- The references: plain Node processes (reference.mjs).
function runChild(job) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'reference.mjs'), JSON.stringify(job)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: CHILD_TIMEOUT_MS,
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop()))
        : reject(new Error(`reference ${job.mode} exited ${code ?? signal}:\n${err.slice(-2000)}`)),
    );
  });
}

async function fitReference(batchSize) {
  const load = os.loadavg()[0];
  const job = { ...MODEL, lr: learningRate(batchSize), mode: 'fit', batchSize, epochs: EPOCHS };
  return { batchSize, load, ...(await runChild(job)) };
}

/** train()'s step with no exchange: 1 process at the global batch, then 2 at once with half each. */
async function ceiling(batchSize) {
  const load = os.loadavg()[0];
  // An epoch's worth of steps: every process takes as many steps as train()'s workers do in an epoch.
  const count = new EpochSchedule(MODEL.train, 1, batchSize).stepsPerEpoch;
  const steps = (localBatch, startAt) => ({
    ...MODEL,
    lr: learningRate(batchSize),
    mode: 'steps',
    localBatch,
    steps: count,
    startAt,
  });
  const one = await runChild(steps(batchSize, Date.now() + START_DELAY_MS));
  const at = Date.now() + START_DELAY_MS;
  const two = await Promise.all([0, 1].map(() => runChild(steps(batchSize / 2, at))));
  const twoMs = Math.max(...two.map((r) => r.ms));
  return {
    batchSize,
    load,
    oneMs: one.ms,
    twoMs,
    ratio: one.ms / twoMs,
    oneCpuMs: one.cpuMs,
    twoCpuMs: two.map((r) => r.cpuMs),
  };
}

// --- Figures from the runs.
const samplesPerEpoch = (workers, batchSize) =>
  new EpochSchedule(MODEL.train, workers, batchSize).stepsPerEpoch * batchSize;

/** Samples/s over epochs 2..E (the history's seconds: the workers' time between epoch ends). */
function steadyRate(run) {
  const rows = run.history.slice(1);
  const seconds = rows.reduce((sum, row) => sum + row.seconds, 0);
  return (rows.length * samplesPerEpoch(run.workers, run.batchSize)) / seconds;
}

/** ms from the call to the end of the first epoch at the target accuracy, and that epoch (undefined: never). */
function toTarget(accuracies, times) {
  const index = accuracies.findIndex((a) => a >= TARGET_ACCURACY);
  return index < 0 ? { ms: undefined, epoch: undefined } : { ms: times[index], epoch: index + 1 };
}
const trainToTarget = (run) =>
  toTarget(
    run.history.map((row) => row.valAccuracy),
    run.epochEnds,
  );
const fitToTarget = (run) =>
  toTarget(
    run.epochs.map((e) => e.valAccuracy),
    run.epochs.map((e) => e.ms),
  );
const bytesOf = (run) => run.history.reduce((sum, row) => sum + row.bytesExchanged, 0);
const finalAccuracy = (run) => run.history.at(-1).valAccuracy;
const medianOf = (values) => {
  const present = values.filter((v) => v !== undefined);
  return present.length === 0 ? undefined : median(present);
};
const ratioOf = (a, b) => (a === undefined || b === undefined ? undefined : a / b);
const fixed = (value, digits = 2) => (value === undefined ? 'n/a' : +value.toFixed(digits));
const perEpochCpu = (run) =>
  Object.fromEntries(Object.entries(run.cpu).map(([role, ms]) => [role, ms / EPOCHS / 1000]));

// --- The run.
const storeDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-bench-training-'));
const server = await startJupyterServer({ SERVERLESS_STORE: storeDir });
const samples = { cold: undefined, train: [], fit: [], ceiling: [] };
/**
 * Cells the kernel's compiler refused before they ran: tslab's converter throws "Unexpected pending
 * rebuildTimer" when TypeScript's watcher left an update pending between cells (seen twice in about
 * ten runs of this bench, after minutes of train() calls; not reproduced on demand). Such a cell is
 * run again, then, if it fails the same way, again after a kernel restart (and the set-up cell);
 * every one is listed in the results.
 */
const compilerFailures = [];
const PENDING_REBUILD = /Unexpected pending rebuildTimer/;
const started = Date.now();
const loadAtStart = os.loadavg();
/** Runs `attempt`; on the compiler's refusal, again, then again after a restart (see compilerFailures). */
async function withCompilerRetry(job, attempt) {
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof CellError) || !PENDING_REBUILD.test(error.message) || tries > 2) throw error;
      compilerFailures.push({ job: job.name, at: new Date().toISOString(), restarted: tries === 2 });
      console.warn(
        `${job.name}: the kernel's compiler refused the cell (pending rebuildTimer); trying again`,
      );
      if (tries === 2) {
        await withTimeout(kernel.restart(), 60_000, 'kernel restart');
        await runCell(kernel, SETUP, 120_000);
      }
    }
  }
}

let kernel;
try {
  kernel = await server.startKernel();
  await runCell(kernel, SETUP, 120_000);
  // The kernel's first call starts its worker environments cold (tfjs loads in each).
  samples.cold = await timedTrain(server, kernel, { workers: 2, batchSize: MAIN_BATCH, seed: ORDER_SEED });
  console.log(`cold call: ${Math.round(samples.cold.ms)} ms`);
  const trainJob = (workers, batchSize, codec = 'none') => ({
    name: `train ${workers} worker${workers > 1 ? 's' : ''}${codec === 'none' ? '' : ` ${codec}`}, batch ${batchSize}`,
    run: async (seed) =>
      samples.train.push(await timedTrain(server, kernel, { workers, batchSize, codec, seed })),
  });
  const jobs = [
    ...BATCHES.flatMap((b) => [
      trainJob(1, b),
      trainJob(2, b),
      { name: `ceiling, batch ${b}`, run: async () => samples.ceiling.push(await ceiling(b)) },
      { name: `model.fit, batch ${b}`, run: async () => samples.fit.push(await fitReference(b)) },
    ]),
    trainJob(2, MAIN_BATCH, 'topk:0.01'),
  ];
  for (let rep = 0; rep < REPS; rep += 1) {
    const shift = (rep * 3) % jobs.length;
    for (const job of [...jobs.slice(shift), ...jobs.slice(0, shift)]) {
      const t = performance.now();
      try {
        await withCompilerRetry(job, () => job.run(ORDER_SEED + rep));
      } catch (error) {
        console.error(`${job.name} failed; the server's log ends:\n${server.log().slice(-4000)}`);
        throw error;
      }
      console.log(`rep ${rep + 1}/${REPS}: ${job.name} (${Math.round(performance.now() - t)} ms)`);
    }
  }
  await kernel.shutdown();
} finally {
  await server.stop();
  rmSync(storeDir, { recursive: true, force: true });
}

const runsOf = (workers, batchSize, codec = 'none') =>
  samples.train.filter((r) => r.workers === workers && r.batchSize === batchSize && r.codec === codec);

/**
 * The 2/1 ratio the workers' own CPU time allows, were each given a core of its own with no wait:
 * 1 worker's CPU an epoch over half of what 2 workers use together (CPU time moves less with load
 * than wall time does).
 */
function cpuBound(one, two) {
  const perEpoch = (runs) => median(runs.map((r) => r.cpu.workers / EPOCHS));
  return perEpoch(one) / (perEpoch(two) / 2);
}

// (a) 2 workers vs 1.
const throughput = BATCHES.map((b) => {
  const one = runsOf(1, b);
  const two = runsOf(2, b);
  const rate1 = median(one.map(steadyRate));
  const rate2 = median(two.map(steadyRate));
  const e2e1 = median(one.map((r) => r.ms));
  const e2e2 = median(two.map((r) => r.ms));
  const ceilingRatio = median(samples.ceiling.filter((c) => c.batchSize === b).map((c) => c.ratio));
  return {
    batch: b,
    '1 worker samples/s': Math.round(rate1),
    '2 workers samples/s': Math.round(rate2),
    '2/1 (target >= 1.7)': fixed(rate2 / rate1),
    // The two calls of a repetition run one after the other, so their ratio sees the same machine.
    '2/1 by repetition': one
      .map((run, i) => (two[i] ? fixed(steadyRate(two[i]) / steadyRate(run)) : '-'))
      .join(' '),
    'ceiling 2/1 (no exchange)': fixed(ceilingRatio),
    'CPU bound 2/1': fixed(cpuBound(one, two)),
    '1 worker call ms': Math.round(e2e1),
    '2 workers call ms': Math.round(e2e2),
    'call 1/2': fixed(e2e1 / e2e2),
  };
});

// CPU seconds an epoch by process, 1 and 2 workers (why the ratio is what it is).
const cpuTable = BATCHES.flatMap((b) =>
  [1, 2].map((w) => {
    const runs = runsOf(w, b).map(perEpochCpu);
    const row = { batch: b, workers: w };
    for (const role of ['workers', 'kernel', 'server', 'other'])
      row[`${role} CPU s/epoch`] = fixed(median(runs.map((r) => r[role])));
    return row;
  }),
);

// (b) time to 90%.
const timeToTarget = BATCHES.flatMap((b) => {
  const trains = runsOf(2, b);
  const fits = samples.fit.filter((r) => r.batchSize === b);
  const trainTimes = trains.map(trainToTarget);
  const fitTimes = fits.map(fitToTarget);
  const trainMs = medianOf(trainTimes.map((t) => t.ms));
  const fitMs = medianOf(fitTimes.map((t) => t.ms));
  const epochMs = (run) => (samplesPerEpoch(2, b) / steadyRate(run)) * 1000;
  const rows = [
    {
      batch: b,
      run: 'train(), 2 workers (warm environments)',
      'ms to 90% (median)': fixed(trainMs, 0),
      'epochs to 90%': trainTimes.map((t) => t.epoch ?? '-').join(' '),
      'ms an epoch, steady': fixed(median(trains.map(epochMs)), 0),
      'call ms': fixed(median(trains.map((r) => r.ms)), 0),
      'ratio to fit': fixed(ratioOf(trainMs, fitMs)),
    },
  ];
  if (b === MAIN_BATCH) {
    const cold = trainToTarget(samples.cold);
    rows.push({
      batch: b,
      run: "train(), 2 workers, the kernel's first call (cold)",
      'ms to 90% (median)': fixed(cold.ms, 0),
      'epochs to 90%': String(cold.epoch ?? '-'),
      'ms an epoch, steady': fixed(epochMs(samples.cold), 0),
      'call ms': fixed(samples.cold.ms, 0),
      'ratio to fit': fixed(ratioOf(cold.ms, fitMs)),
    });
  }
  rows.push({
    batch: b,
    run: 'model.fit, one process (reference)',
    'ms to 90% (median)': fixed(fitMs, 0),
    'epochs to 90%': fitTimes.map((t) => t.epoch ?? '-').join(' '),
    'ms an epoch, steady': fixed(
      median(fits.map((r) => (r.epochs.at(-1).ms - r.epochs[0].ms) / (r.epochs.length - 1))),
      0,
    ),
    'call ms': fixed(median(fits.map((r) => r.epochs.at(-1).ms)), 0),
    'ratio to fit': 1,
  });
  return rows;
});

// (c) top-k 1% vs none.
const codecRows = ['none', 'topk:0.01'].map((codec) => {
  const runs = runsOf(2, MAIN_BATCH, codec);
  return {
    codec,
    'final test accuracy': fixed(median(runs.map(finalAccuracy)), 4),
    'MB exchanged': fixed(median(runs.map(bytesOf)) / 1e6, 3),
    'samples/s, steady': Math.round(median(runs.map(steadyRate))),
    'call ms': Math.round(median(runs.map((r) => r.ms))),
  };
});
const [none, topk] = codecRows;
// Paired by repetition: the two codecs of a repetition share its seed.
const pairedDifferences = runsOf(2, MAIN_BATCH).map((run) => {
  const other = runsOf(2, MAIN_BATCH, 'topk:0.01').find((r) => r.seed === run.seed);
  return other ? +((finalAccuracy(run) - finalAccuracy(other)) * 100).toFixed(2) : undefined;
});
const codecVerdict = {
  'difference by repetition (points)': pairedDifferences.join(' '),
  'accuracy difference (points, target <= 1)': fixed(
    (none['final test accuracy'] - topk['final test accuracy']) * 100,
  ),
  'bytes none / topk (target >= 50)': fixed(
    median(runsOf(2, MAIN_BATCH).map(bytesOf)) / median(runsOf(2, MAIN_BATCH, 'topk:0.01').map(bytesOf)),
    1,
  ),
};

const results = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: os.cpus().length,
  loadAverage: { start: loadAtStart, end: os.loadavg() },
  minutes: (Date.now() - started) / 60_000,
  reps: REPS,
  epochs: EPOCHS,
  batches: BATCHES,
  model: MODEL,
  throughput,
  cpu: cpuTable,
  timeToTarget,
  codecs: codecRows,
  codecVerdict,
  compilerFailures,
  samples,
};
mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results', 'latest.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`\n(a) samples/s, 2 workers vs 1 (steady state: epochs 2-${EPOCHS}), medians of ${REPS}`);
console.table(throughput);
console.log('CPU seconds an epoch by process (medians)');
console.table(cpuTable);
console.log(`(b) time to ${TARGET_ACCURACY * 100}% test accuracy (sgd, learning rate 0.1 x batch / 64)`);
console.table(timeToTarget);
console.log(`(c) codecs, 2 workers, batch ${MAIN_BATCH}, after ${EPOCHS} epochs`);
console.table(codecRows);
console.table([codecVerdict]);
if (compilerFailures.length > 0) console.log('cells the compiler refused (run again):', compilerFailures);
console.log(
  `load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} -> ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; ${results.minutes.toFixed(1)} min`,
);
process.exit(0);
