// bench/training's references, one plain Node process each (started by run.mjs with a JSON job as its
// argument; prints one JSON line). Both load tfjs with the backend train()'s workers use, through the
// compiled kernel-magics/dist/src/training/tfjs/backend.js (wasm, single-threaded), and the same
// digits through datasets.mnist from dist, before any timing starts.
//
// mode 'fit': the same MLP trained by `model.fit` in this one process (same initializer seeds, batch,
//   optimizer and learning rate), `validationData` evaluated after every epoch; records the time from
//   the fit call to each epoch's end and the validation accuracy there.
// mode 'steps': train()'s own step (TrainableModel.gradient and .apply, from dist) over this
//   process's shard, with no exchange: the compute a worker does. Run as 1 process with the global
//   batch and as `workers` processes at once, each with its share, it gives what this machine's cores
//   allow for the same work at that moment (the ceiling of the 2-vs-1 ratio). Processes start their
//   timed steps together at `startAt` (epoch ms).
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = path.join(root, 'kernel-magics', 'dist', 'src');
const require = createRequire(path.join(root, 'package.json'));
const { loadTrainingTf } = require(path.join(dist, 'training/tfjs/backend.js'));
const { mnist } = require(path.join(dist, 'training/datasets/mnist.js'));
const { TrainableModel } = require(path.join(dist, 'training/worker/trainable.js'));

const job = JSON.parse(process.argv[2]);
const started = performance.now();
const { tf, backend } = await loadTrainingTf({ requireFrom: require, prefer: job.backend });
const tfMs = performance.now() - started;
const { train: trainSet, test } = await mnist({ train: job.train, test: job.test, tf });
const dataMs = performance.now() - started - tfMs;

/** The bench's MLP, as the kernel cell builds it (see run.mjs). */
function mlp() {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [784],
        units: job.hidden,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: job.modelSeed }),
      }),
      tf.layers.dense({
        units: 10,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: job.modelSeed + 1 }),
      }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(job.lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

async function fit() {
  const model = mlp();
  const epochs = [];
  const t0 = performance.now();
  await model.fit(trainSet.xs, trainSet.ys, {
    batchSize: job.batchSize,
    epochs: job.epochs,
    shuffle: true,
    verbose: 0,
    validationData: [test.xs, test.ys],
    callbacks: {
      onEpochEnd: (epoch, logs) => {
        epochs.push({
          epoch: epoch + 1,
          ms: performance.now() - t0,
          valAccuracy: logs.val_acc ?? logs.val_accuracy,
        });
      },
    },
  });
  return { epochs };
}

async function steps() {
  const model = mlp();
  const trainable = new TrainableModel(tf, model, 'categorical');
  const xs = trainSet.xs.dataSync();
  const ys = trainSet.ys.dataSync();
  const { localBatch, steps: count } = job;
  const step = (i) => {
    const start = (i * localBatch) % (trainSet.xs.shape[0] - localBatch);
    const bx = tf.tensor(xs.subarray(start * 784, (start + localBatch) * 784), [localBatch, 784]);
    const by = tf.tensor(ys.subarray(start * 10, (start + localBatch) * 10), [localBatch, 10]);
    const { vector } = trainable.gradient(bx, by, 1);
    tf.dispose([bx, by]);
    trainable.apply(vector);
  };
  // Warm-up (the wasm code's first runs), then wait for the common start.
  for (let i = 0; i < 10; i += 1) step(i);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, job.startAt - Date.now())));
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < count; i += 1) step(i);
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

const result = job.mode === 'fit' ? await fit() : await steps();
console.log(JSON.stringify({ backend, tfMs, dataMs, ...result }));
process.exit(0);
