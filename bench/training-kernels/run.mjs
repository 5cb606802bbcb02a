// bench/training-kernels/run.mjs: training throughput of small models on the
// wasm backend with the kernels this package adds or replaces (kernel-magics/
// src/training/tfjs/kernels), against tfjs's pure-JS cpu backend, and against
// wasm with its own Conv2DBackpropInput and MaxPoolGrad (the two replaced;
// the kernels wasm lacks stay ours there, so for models that use neither of
// the two that variant is a control of the noise), in one process.
// Usage: npm run build && node bench/training-kernels/run.mjs [rounds=3]
//
// Each model trains on random data (throughput does not depend on what is
// learnt), batch 64: one warm-up epoch, then `rounds` timed epochs per
// variant, the variants' order turning each round so load changes hit all.
// Prints samples per CPU second of this process (median of the rounds; the
// backends are single-threaded, and CPU time moves far less than wall time
// when other processes share the 2 cores), the ratios to cpu and to wasm
// with tfjs's own kernels (above 1: ours is faster), and samples per wall
// second; writes the samples to results/latest.json.
import { writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const distTfjs = path.join(here, '..', '..', 'kernel-magics', 'dist', 'src', 'training', 'tfjs');
const { loadTrainingTf } = await import(path.join(distTfjs, 'backend.js'));
const { REPLACED_KERNELS } = await import(path.join(distTfjs, 'kernels', 'index.js'));
const { createRequire } = await import('node:module');
const requireFromHere = createRequire(import.meta.url);

const ROUNDS = Number(process.argv[2] ?? 3);
const BATCH = 64;

const MODELS = {
  'cnn 28x28x1: conv 3x3x16 relu, maxpool 2, dense 10': {
    samples: { wasm: 2048, cpu: 256 },
    input: [28, 28, 1],
    layers: (L) => [
      L.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }),
      L.maxPooling2d({ poolSize: 2 }),
      L.flatten(),
      L.dense({ units: 10, activation: 'softmax' }),
    ],
  },
  'cnn 28x28x1: conv 3x3x16 relu, maxpool 2, conv 3x3x32 relu, maxpool 2, dense 10': {
    samples: { wasm: 2048, cpu: 64 },
    input: [28, 28, 1],
    layers: (L) => [
      L.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }),
      L.maxPooling2d({ poolSize: 2 }),
      L.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      L.maxPooling2d({ poolSize: 2 }),
      L.flatten(),
      L.dense({ units: 10, activation: 'softmax' }),
    ],
  },
  'separable 28x28x1: depthwise 3x3 x2, separable 3x3 16 stride 2, dense 10': {
    samples: { wasm: 2048, cpu: 256 },
    input: [28, 28, 1],
    layers: (L) => [
      L.depthwiseConv2d({ inputShape: [28, 28, 1], kernelSize: 3, depthMultiplier: 2, activation: 'relu' }),
      L.separableConv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      L.flatten(),
      L.dense({ units: 10, activation: 'softmax' }),
    ],
  },
  'embedding 1000x32, 40 tokens, global average pool, dense 10': {
    samples: { wasm: 4096, cpu: 64 },
    input: [40],
    tokens: 1000,
    layers: (L) => [
      L.embedding({ inputDim: 1000, outputDim: 32, inputLength: 40 }),
      L.globalAveragePooling1d(),
      L.dense({ units: 10, activation: 'softmax' }),
    ],
  },
};

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const medianOf = (runs, key) => median(runs.map((run) => run[key]));

async function epochSamplesPerSecond(tf, spec, backend, state, variant) {
  const samples = spec.samples[backend];
  const xs = spec.tokens
    ? tf.randomUniform([samples, ...spec.input], 0, spec.tokens, 'int32')
    : tf.randomNormal([samples, ...spec.input]);
  const ys = tf.oneHot(tf.randomUniform([samples], 0, 10, 'int32'), 10);
  if (!state[variant]) {
    // One model per backend, compiled and warmed up once (first-step costs: kernels' set-up, optimizer state).
    const model = tf.sequential({ layers: spec.layers(tf.layers) });
    model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy' });
    await model.fit(xs, ys, { epochs: 1, batchSize: BATCH, verbose: 0 });
    state[variant] = model;
  }
  const [wallStart, cpuStart] = [performance.now(), process.cpuUsage()];
  await state[variant].fit(xs, ys, { epochs: 1, batchSize: BATCH, verbose: 0 });
  const cpu = process.cpuUsage(cpuStart);
  const [wallMs, cpuMs] = [performance.now() - wallStart, (cpu.user + cpu.system) / 1000];
  tf.dispose([xs, ys]);
  return { perCpuSecond: (samples / cpuMs) * 1000, perWallSecond: (samples / wallMs) * 1000 };
}

// tfjs's own wasm kernels for the ones replaced, kept before loadTrainingTf replaces them.
const tf = requireFromHere('@tensorflow/tfjs');
requireFromHere('@tensorflow/tfjs-backend-wasm');
const tfjsOwn = Object.keys(REPLACED_KERNELS.wasm).map((name) => tf.getKernel(name, 'wasm'));

/** Registers these kernel configs for wasm over what is there; returns what was there. */
function swapKernels(configs) {
  const previous = configs.map((config) => tf.getKernel(config.kernelName, 'wasm'));
  for (const config of configs) {
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  }
  return previous;
}

const VARIANTS = ['wasm', 'cpu', 'wasm, tfjs kernels'];

const results = {
  date: new Date().toISOString(),
  node: process.version,
  load: os.loadavg(),
  batch: BATCH,
  models: {},
};
for (const [name, spec] of Object.entries(MODELS)) {
  const runs = Object.fromEntries(VARIANTS.map((variant) => [variant, []]));
  const state = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < VARIANTS.length; i++) {
      const variant = VARIANTS[(i + round) % VARIANTS.length];
      const backend = variant === 'cpu' ? 'cpu' : 'wasm';
      const { tf: loaded } = await loadTrainingTf({ prefer: backend });
      loaded.enableProdMode();
      const ours = variant === 'wasm, tfjs kernels' ? swapKernels(tfjsOwn) : undefined;
      try {
        // One model per variant: fit's compiled functions do not change when kernels do.
        runs[variant].push(await epochSamplesPerSecond(loaded, spec, backend, state, variant));
      } finally {
        if (ours) swapKernels(ours);
      }
    }
  }
  const medians = Object.fromEntries(
    VARIANTS.map((variant) => [variant, medianOf(runs[variant], 'perCpuSecond')]),
  );
  const wallMedians = Object.fromEntries(
    VARIANTS.map((variant) => [variant, medianOf(runs[variant], 'perWallSecond')]),
  );
  results.models[name] = {
    runs,
    medians,
    wallMedians,
    oursOverCpu: medians.wasm / medians.cpu,
    oursOverTfjsWasm: medians.wasm / medians['wasm, tfjs kernels'],
  };
  const r = results.models[name];
  process.stdout.write(
    `${name}\n  samples per CPU second: ${VARIANTS.map((v) => `${v} ${medians[v].toFixed(0)}`).join(', ')}; ` +
      `ours/cpu ${r.oursOverCpu.toFixed(1)}, ours/tfjs-wasm ${r.oursOverTfjsWasm.toFixed(2)}\n` +
      `  (per wall second: ${VARIANTS.map((v) => `${v} ${wallMedians[v].toFixed(0)}`).join(', ')})\n`,
  );
}
results.loadAfter = os.loadavg();
mkdirSync(path.join(here, 'results'), { recursive: true });
writeFileSync(path.join(here, 'results', 'latest.json'), JSON.stringify(results, null, 2) + '\n');
process.stdout.write(
  `load ${results.load.map((l) => l.toFixed(2)).join(' ')} -> ${results.loadAfter.map((l) => l.toFixed(2)).join(' ')}\n`,
);
