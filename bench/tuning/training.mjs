// bench/tuning, training half: train({ workers: 'auto', memory: 'auto', deadline }) against brute force
// over the same workers x memory grid, in one run, on the MNIST MLP 784-128-10 (8,000 training and 2,000
// test digits from datasets.mnist, sgd at 0.1, global batch 64), through a real jupyter_server and
// serverless-ts kernel on the embedded runtime (Lambda's clock: --cpu lambda, the default).
// Each repetition, in an order that alternates:
//   - the tuner: one train() call with workers and memory 'auto' in a fresh kernel: its pick, what it
//     predicted, what tuning ran and cost, and the training it then ran (its workers' seconds and cost);
//   - brute force: the same training at every workers x memory of the grid, each in a fresh kernel (cold
//     environments, as a first training has), its workers' seconds (TrainResult.workerSeconds, on the
//     clock they are billed by) and its cost (TrainResult.costUsd, as billed).
// Reported (medians over the repetitions): the pick's measured cost over the cheapest measured cost among
// the grid points that met the deadline (target <= 1.15), whether the pick met the deadline when brute
// force ran it, tuning's invocations and cost over brute force's, and how far the tuner's predicted
// seconds and cost of every grid point were from brute force's measures (median |error|); and the pick's
// cost over the cheapest on each grid point's median over the repetitions (one run per point is noisy:
// points within a few % of each other trade places from one repetition to the next).
// Usage: npm run build && node bench/tuning/training.mjs [reps=3] [deadline=S] [epochs=1]
// Writes bench/tuning/results/training-latest.json; prints a markdown table.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { printedJson, runCell, startJupyterServer } from '../lib/jupyter.mjs';
import { median } from '../lib/kernel-client.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.argv[2] ?? 3);
const DEADLINE_S = Number(process.argv[3] ?? 30);
const EPOCHS = Number(process.argv[4] ?? 1);
const WORKERS = [1, 2, 4];
const MEMORY = [512, 1024, 1769, 3008];
const MODEL = { train: 8000, test: 2000, hidden: 128, batchSize: 64, lr: 0.1, seed: 1 };
const CELL_TIMEOUT_MS = 600_000;
const RESULT = 'RESULT ';

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => process.exit(130));

const SETUP = `
import * as tf from '@tensorflow/tfjs';
import { datasets, train } from 'serverless-kernel';
const { train: trainSet, test } = await datasets.mnist({ train: ${MODEL.train}, test: ${MODEL.test} });
function mlp(): tf.Sequential {
  const model = tf.sequential({ layers: [
    tf.layers.dense({ inputShape: [784], units: ${MODEL.hidden}, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: ${MODEL.seed} }) }),
    tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: ${MODEL.seed + 1} }) }),
  ] });
  model.compile({ optimizer: tf.train.sgd(${MODEL.lr}), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}
async function trained(choice: { workers: number | 'auto'; memory: number | 'auto'; deadline?: number }) {
  const model = mlp();
  const result = await train({
    model, data: trainSet, validation: test, epochs: ${EPOCHS}, batchSize: ${MODEL.batchSize}, seed: 7,
    verbose: false, ...choice,
    ...(choice.workers === 'auto' ? { tune: { workers: ${JSON.stringify(WORKERS)}, memory: ${JSON.stringify(MEMORY)} } } : {}),
  });
  model.dispose();
  const last = result.history[result.history.length - 1];
  return {
    workerSeconds: result.workerSeconds,
    costUsd: result.costUsd,
    valAccuracy: last?.valAccuracy,
    tuning: result.tuning,
  };
}
`;

/** One train() call in a fresh kernel. */
async function trainInFreshKernel(server, choice) {
  const kernel = await server.startKernel();
  try {
    await runCell(kernel, SETUP, 120_000);
    const text = await runCell(
      kernel,
      `console.log('${RESULT}' + JSON.stringify(await trained(${JSON.stringify(choice)})));`,
      CELL_TIMEOUT_MS,
    );
    return printedJson(text, RESULT);
  } finally {
    await kernel.shutdown();
  }
}

async function tuneOnce(server) {
  const t = performance.now();
  const run = await trainInFreshKernel(server, { workers: 'auto', memory: 'auto', deadline: DEADLINE_S });
  const { tuning } = run;
  return {
    wallMs: performance.now() - t,
    pick: tuning.pick,
    predicted: tuning.predicted,
    profiled: tuning.profiled,
    invocations: tuning.invocations,
    tuningUsd: tuning.costUsd,
    rows: tuning.rows,
    // The training the tuner ran after profiling (costUsd includes tuning's).
    trainingSeconds: run.workerSeconds,
    trainingUsd: run.costUsd - tuning.costUsd,
    valAccuracy: run.valAccuracy,
  };
}

async function bruteOnce(server) {
  const t = performance.now();
  const grid = [];
  for (const workers of WORKERS) {
    for (const memory of MEMORY) {
      let measured;
      try {
        measured = await trainInFreshKernel(server, { workers, memory });
      } catch (error) {
        measured = { error: String(error.message ?? error).split('\n')[0] };
      }
      grid.push({ workers, memory, ...measured });
      console.log(`  brute force ${workers} x ${memory} MB: ${JSON.stringify(measured).slice(0, 160)}`);
    }
  }
  return { wallMs: performance.now() - t, grid };
}

const key = (workers, memory) => `${workers}x${memory}`;

const storeDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-bench-tuning-training-'));
const server = await startJupyterServer({ SERVERLESS_STORE: storeDir });
const samples = [];
const started = Date.now();
try {
  for (let rep = 0; rep < REPS; rep += 1) {
    const tunedFirst = rep % 2 === 0;
    const tunedEarly = tunedFirst ? await tuneOnce(server) : undefined;
    const brute = await bruteOnce(server);
    const tuned = tunedEarly ?? (await tuneOnce(server));
    const byKey = new Map(
      brute.grid.filter((g) => g.error === undefined).map((g) => [key(g.workers, g.memory), g]),
    );
    const inTime = [...byKey.values()].filter((g) => g.workerSeconds <= DEADLINE_S);
    const cheapest = inTime.reduce((a, b) => (b.costUsd < a.costUsd ? b : a), inTime[0]);
    const atPick = byKey.get(key(tuned.pick.workers, tuned.pick.memoryMb));
    const errors = tuned.rows
      .filter((row) => row.runMs !== undefined && byKey.has(key(row.workers, row.memoryMb)))
      .map((row) => {
        const g = byKey.get(key(row.workers, row.memoryMb));
        return {
          seconds: Math.abs(row.runMs / 1000 / g.workerSeconds - 1),
          cost: Math.abs(row.costUsd / g.costUsd - 1),
        };
      });
    const bruteInvocations = brute.grid.reduce((sum, g) => sum + g.workers, 0);
    const bruteUsd = brute.grid.reduce((sum, g) => sum + (g.costUsd ?? 0), 0);
    samples.push({
      rep,
      tunedFirst,
      deadlineS: DEADLINE_S,
      pick: tuned.pick,
      cheapest: cheapest ? { workers: cheapest.workers, memoryMb: cheapest.memory } : undefined,
      pickOverCheapest: atPick && cheapest ? atPick.costUsd / cheapest.costUsd : NaN,
      pickMetDeadline: atPick ? atPick.workerSeconds <= DEADLINE_S : false,
      pickSecondsMeasured: atPick?.workerSeconds,
      pickSecondsPredicted: tuned.predicted.seconds,
      tunerTrainingSeconds: tuned.trainingSeconds,
      tunerTrainingMetDeadline: tuned.trainingSeconds <= DEADLINE_S,
      invocationsRatio: tuned.invocations / bruteInvocations,
      tuningCostRatio: tuned.tuningUsd / bruteUsd,
      tuningWallRatio: tuned.wallMs / brute.wallMs,
      medianSecondsError: median(errors.map((e) => e.seconds)),
      medianCostError: median(errors.map((e) => e.cost)),
      valAccuracy: tuned.valAccuracy,
      tuned,
      brute,
    });
    const s = samples[samples.length - 1];
    console.log(
      `rep ${rep + 1}/${REPS}: pick ${s.pick.workers}x${s.pick.memoryMb} MB, cheapest in time ` +
        `${s.cheapest?.workers}x${s.cheapest?.memoryMb} MB, pick/cheapest ${s.pickOverCheapest.toFixed(3)}, ` +
        `met deadline ${s.pickMetDeadline} (${s.pickSecondsMeasured?.toFixed(1)} s measured, ` +
        `${s.pickSecondsPredicted.toFixed(1)} s predicted), invocations ${s.invocationsRatio.toFixed(3)}`,
    );
  }
} finally {
  await server.stop();
  rmSync(storeDir, { recursive: true, force: true });
}

// One measured run per grid point is noisy (near-equal points trade places between repetitions):
// the same comparison on each grid point's median cost and time over the repetitions.
const gridMedians = new Map(
  WORKERS.flatMap((workers) =>
    MEMORY.map((memory) => {
      const runs = samples
        .map((s) => s.brute.grid.find((g) => g.workers === workers && g.memory === memory))
        .filter((g) => g && g.error === undefined);
      return [
        key(workers, memory),
        {
          costUsd: median(runs.map((g) => g.costUsd)),
          workerSeconds: median(runs.map((g) => g.workerSeconds)),
        },
      ];
    }),
  ),
);
const medianInTime = [...gridMedians].filter(([, g]) => g.workerSeconds <= DEADLINE_S);
const [cheapestMedianKey, cheapestMedian] = medianInTime.reduce((a, b) =>
  b[1].costUsd < a[1].costUsd ? b : a,
);
const pickOverCheapestOfMedians = samples.map(
  (s) => gridMedians.get(key(s.pick.workers, s.pick.memoryMb)).costUsd / cheapestMedian.costUsd,
);

mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(
  path.join(here, 'results', 'training-latest.json'),
  JSON.stringify(
    {
      date: new Date(started).toISOString(),
      minutes: (Date.now() - started) / 60_000,
      load: os.loadavg(),
      reps: REPS,
      deadlineS: DEADLINE_S,
      epochs: EPOCHS,
      grid: { workers: WORKERS, memory: MEMORY },
      medians: {
        grid: Object.fromEntries(gridMedians),
        cheapest: cheapestMedianKey,
        pickOverCheapestOfMedians,
      },
      samples,
    },
    null,
    2,
  ),
);
const fixed = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
console.log(`\n| metric (median of ${REPS}) | value | target |\n| --- | ---: | ---: |`);
console.log(
  `| pick's measured cost / cheapest measured that met the deadline | ${fixed(median(samples.map((s) => s.pickOverCheapest)))} | <= 1.15 |`,
);
console.log(
  `| the same on each grid point's median over the repetitions (cheapest ${cheapestMedianKey} MB) | ${fixed(median(pickOverCheapestOfMedians))} | <= 1.15 |`,
);
console.log(
  `| pick met the deadline (brute force's run of it) | ${samples.filter((s) => s.pickMetDeadline).length} of ${REPS} | all |`,
);
console.log(
  `| tuner's own training met the deadline | ${samples.filter((s) => s.tunerTrainingMetDeadline).length} of ${REPS} | |`,
);
console.log(
  `| tuning invocations / brute force's | ${fixed(median(samples.map((s) => s.invocationsRatio)))} | |`,
);
console.log(`| tuning cost / brute force's | ${fixed(median(samples.map((s) => s.tuningCostRatio)))} | |`);
console.log(
  `| tuning wall time (with its training) / brute force's | ${fixed(median(samples.map((s) => s.tuningWallRatio)))} | |`,
);
console.log(
  `| median |predicted/measured - 1|, seconds | ${fixed(median(samples.map((s) => s.medianSecondsError)))} | |`,
);
console.log(
  `| median |predicted/measured - 1|, cost | ${fixed(median(samples.map((s) => s.medianCostError)))} | |`,
);
console.log(
  `picks: ${samples.map((s) => `${s.pick.workers}x${s.pick.memoryMb}`).join(', ')}; cheapest: ${samples.map((s) => `${s.cheapest?.workers}x${s.cheapest?.memoryMb}`).join(', ')}`,
);
