/**
 * The TensorFlow.js set-up of training workers, on the real wasm backend
 * loaded from the installed package: loadTrainingTf loads nothing at import
 * and uses the notebook's tfjs; each kernel added to (or replaced on) the
 * wasm backend matches the cpu backend's own kernel (tfjs's reference) over
 * shapes and options and keeps no tensor or backend buffer; Conv2D,
 * DepthwiseConv2D / SeparableConv2D and Embedding models train on wasm. The
 * fresh-process checks run the build (`npm run build` first).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import type * as tfjs from '@tensorflow/tfjs';

import { loadTrainingTf } from '../../kernel-magics/src/training/tfjs/backend';
import { registerTrainingKernels } from '../../kernel-magics/src/training/tfjs/kernels';
import { REPO_ROOT } from '../helpers/paths';
import { brightQuadrants, seededValues, topicSequences } from '../helpers/training-data';

type Tf = typeof tfjs;
type Shape4 = [number, number, number, number];
type Pad =
  'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

/** Float32 sums in another order: differences up to this fraction of the largest magnitude are rounding. */
const TOLERANCE = 1e-5;

/** The compiled module, for checks in a fresh Node process. */
const BACKEND_BUILD = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'training', 'tfjs', 'backend.js');

let tf: Tf;

beforeAll(async () => {
  ({ tf } = await loadTrainingTf());
  // Silences the cpu backend's advice to install tfjs-node when a test switches to it.
  tf.enableProdMode();
});

afterEach(async () => {
  await tf.setBackend('wasm');
});

interface InputSpec {
  values: Float32Array | Int32Array;
  shape: number[];
  dtype?: 'float32' | 'int32';
}

interface KernelRun {
  values: Float32Array;
  shape: number[];
  /** Engine tensors left after the output and the inputs were disposed. */
  leakedTensors: number;
  /** Backend buffers left likewise (intermediates the engine never sees). */
  leakedBuffers: number;
}

/** Runs tfjs kernel `kernelName` on `backend`, reads its output and disposes everything. */
async function runOn(
  backend: 'cpu' | 'wasm',
  kernelName: string,
  inputs: Record<string, InputSpec>,
  attrs: tfjs.NamedAttrMap,
): Promise<KernelRun> {
  await tf.setBackend(backend);
  const engineBackend = tf.engine().backend;
  const [tensorsBefore, buffersBefore] = [tf.memory().numTensors, engineBackend.numDataIds()];
  const tensors: tfjs.NamedTensorMap = {};
  for (const [name, spec] of Object.entries(inputs)) {
    tensors[name] = tf.tensor(spec.values, spec.shape, spec.dtype ?? 'float32');
  }
  const out = tf.engine().runKernel(kernelName, tensors, attrs) as tfjs.Tensor;
  const run = { values: Float32Array.from(out.dataSync()), shape: out.shape };
  tf.dispose([out, ...Object.values(tensors)]);
  return {
    ...run,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
    leakedBuffers: engineBackend.numDataIds() - buffersBefore,
  };
}

/** Runs the kernel on wasm (ours) and on cpu (tfjs's), and checks they agree and wasm keeps nothing. */
async function expectMatchesCpu(
  kernelName: string,
  inputs: Record<string, InputSpec>,
  attrs: tfjs.NamedAttrMap,
) {
  const reference = await runOn('cpu', kernelName, inputs, attrs);
  const ours = await runOn('wasm', kernelName, inputs, attrs);
  expect(ours.shape).toEqual(reference.shape);
  expectClose(ours.values, reference.values);
  expect([ours.leakedTensors, ours.leakedBuffers]).toEqual([0, 0]);
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const scale = Math.max(1, ...expected.map(Math.abs));
  const worst = Math.max(0, ...actual.map((value, i) => Math.abs(value - expected[i])));
  expect(worst).toBeLessThanOrEqual(TOLERANCE * scale);
  // A kernel that returns zeros would pass on all-zero references: these are not.
  expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.01);
}

const size = (shape: number[]): number => shape.reduce((product, length) => product * length, 1);
const random = (shape: number[], seed: number): InputSpec => ({
  values: seededValues(size(shape), seed),
  shape,
});

/** A forward Conv2D whose gradients are checked. */
interface Conv2DCase {
  x: Shape4;
  filter: Shape4;
  strides: number | [number, number];
  pad: Pad;
  rounding?: 'ceil';
}

/** The geometries both Conv2D gradients are checked over. */
const CONV2D_CASES: Conv2DCase[] = [
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 8, 9, 2], filter: [3, 2, 2, 5], strides: [2, 3], pad: 'same' },
  // Strides that leave the last rows and columns unread.
  { x: [3, 9, 8, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'valid' },
  { x: [1, 10, 10, 1], filter: [5, 5, 1, 2], strides: 3, pad: 'valid' },
  {
    x: [2, 6, 6, 2],
    filter: [3, 3, 2, 2],
    strides: 2,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  { x: [2, 7, 7, 3], filter: [2, 2, 3, 4], strides: 2, pad: 1, rounding: 'ceil' },
];

/** An NCHW Conv2D: its input and filter shapes, and the shape of its output (dy). */
function nchwConv2D(): { x: Shape4; filter: Shape4; dyShape: number[] } {
  const [x, filter]: [Shape4, Shape4] = [
    [2, 3, 8, 7],
    [3, 3, 3, 4],
  ];
  const info = tf.backend_util.computeConv2DInfo(x, filter, 2, 1, 'same', undefined, false, 'channelsFirst');
  return { x, filter, dyShape: info.outShape };
}

describe('loadTrainingTf', () => {
  it('sets up the wasm backend here (no tfjs-node), with the kernels it lacked', async () => {
    const loaded = await loadTrainingTf();
    expect(loaded.backend).toBe('wasm');
    expect(loaded.tf).toBe(tf);
    expect(tf.getBackend()).toBe('wasm');
    expect(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')).toBe(true);
    expect(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(false);
    for (const kernelName of [
      'Conv2DBackpropFilter',
      'DepthwiseConv2dNativeBackpropFilter',
      'UnsortedSegmentSum',
    ]) {
      expect(tf.getKernel(kernelName, 'wasm')).toBeDefined();
    }
    // Already there (added and replaced): a second registration changes nothing.
    expect(registerTrainingKernels(tf, 'wasm')).toEqual([]);
  });

  it('uses the cpu backend when preferred, and wasm again after', async () => {
    expect(await loadTrainingTf({ prefer: 'cpu' })).toEqual({ tf, backend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    expect(tf.tidy(() => tf.tensor1d([1, 2]).sum().dataSync()[0])).toBe(3);
    expect(await loadTrainingTf()).toEqual({ tf, backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('adds nothing to the cpu backend, which has its own kernels and none replaced', () => {
    expect(registerTrainingKernels(tf, 'cpu')).toEqual([]);
  });

  it('loads no tfjs when its module is imported, only when called (in a fresh process, on the build)', () => {
    const probe = `
      const tfjsLoaded = () => Object.keys(require.cache).filter((file) => file.includes('@tensorflow')).length;
      const { loadTrainingTf } = require(${JSON.stringify(BACKEND_BUILD)});
      const atImport = tfjsLoaded();
      loadTrainingTf().then(({ backend }) => {
        process.stdout.write(JSON.stringify({ atImport, backend, afterLoad: tfjsLoaded() }));
      });`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as {
      atImport: number;
      backend: string;
      afterLoad: number;
    };
    expect(out.atImport).toBe(0);
    expect(out.backend).toBe('wasm');
    expect(out.afterLoad).toBeGreaterThan(0);
  });

  it("returns the notebook's own tfjs, the one requireFrom gives (in a fresh process, on the build)", () => {
    // A notebook directory whose @tensorflow/tfjs is its own module (wrapping this
    // repository's, with a mark); it has no wasm backend, so this package's is used.
    const notebook = mkdtempSync(path.join(tmpdir(), 'jsl-training-tfjs-'));
    try {
      const own = path.join(notebook, 'node_modules', '@tensorflow', 'tfjs');
      mkdirSync(own, { recursive: true });
      writeFileSync(
        path.join(own, 'package.json'),
        JSON.stringify({ name: '@tensorflow/tfjs', main: 'index.js' }),
      );
      const realTfjs = require.resolve('@tensorflow/tfjs');
      writeFileSync(
        path.join(own, 'index.js'),
        `module.exports = { ...require(${JSON.stringify(realTfjs)}), notebookCopy: true };`,
      );
      const probe = `
        const { createRequire } = require('node:module');
        const requireFrom = createRequire(${JSON.stringify(path.join(notebook, 'notebook.js'))});
        require(${JSON.stringify(BACKEND_BUILD)}).loadTrainingTf({ requireFrom }).then(({ tf, backend }) => {
          process.stdout.write(JSON.stringify({
            same: tf === requireFrom('@tensorflow/tfjs'),
            notebookCopy: tf.notebookCopy === true,
            backend,
            active: tf.getBackend(),
          }));
        });`;
      const out = JSON.parse(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' })) as unknown;
      expect(out).toEqual({ same: true, notebookCopy: true, backend: 'wasm', active: 'wasm' });
    } finally {
      rmSync(notebook, { recursive: true, force: true });
    }
  });

  it('says to install tfjs-node when the tensorflow backend is preferred without it', async () => {
    await expect(loadTrainingTf({ prefer: 'tensorflow' })).rejects.toMatchObject({
      name: 'TrainingBackendError',
      message: expect.stringContaining('@tensorflow/tfjs-node') as string,
    });
    expect(tf.getBackend()).toBe('wasm');
  });
});

describe('Conv2DBackpropFilter on wasm', () => {
  it.each(CONV2D_CASES)('matches the cpu kernel: x %j', async ({ x, filter, strides, pad, rounding }) => {
    const info = tf.backend_util.computeConv2DInfo(x, filter, strides, 1, pad, rounding);
    await expectMatchesCpu(
      'Conv2DBackpropFilter',
      { x: random(x, 1), dy: random(info.outShape, 2) },
      {
        strides,
        pad,
        dataFormat: 'NHWC',
        filterShape: filter,
        ...(rounding ? { dimRoundingMode: rounding } : {}),
      },
    );
  });

  it('matches the cpu kernel for NCHW inputs', async () => {
    const { x, filter, dyShape } = nchwConv2D();
    await expectMatchesCpu(
      'Conv2DBackpropFilter',
      { x: random(x, 3), dy: random(dyShape, 4) },
      { strides: 2, pad: 'same', dataFormat: 'NCHW', filterShape: filter },
    );
  });
});

describe("Conv2DBackpropInput on wasm (replaced: the backend's own is several times slower than its Conv2D)", () => {
  it.each(CONV2D_CASES)('matches the cpu kernel: x %j', async ({ x, filter, strides, pad, rounding }) => {
    const info = tf.backend_util.computeConv2DInfo(x, filter, strides, 1, pad, rounding);
    await expectMatchesCpu(
      'Conv2DBackpropInput',
      { dy: random(info.outShape, 14), filter: random(filter, 15) },
      { strides, pad, dataFormat: 'NHWC', inputShape: x, ...(rounding ? { dimRoundingMode: rounding } : {}) },
    );
  });

  it('matches the cpu kernel for NCHW inputs', async () => {
    const { x, filter, dyShape } = nchwConv2D();
    await expectMatchesCpu(
      'Conv2DBackpropInput',
      { dy: random(dyShape, 16), filter: random(filter, 17) },
      { strides: 2, pad: 'same', dataFormat: 'NCHW', inputShape: x },
    );
  });
});

describe("MaxPoolGrad on wasm (replaced: the backend's own misplaces windows whose maximum is not positive)", () => {
  const cases: Array<{
    name: string;
    x: Shape4;
    filterSize: number;
    strides: number;
    pad: Pad;
    shift: number;
  }> = [
    { name: '2x2 windows, stride 2', x: [3, 8, 8, 4], filterSize: 2, strides: 2, pad: 'valid', shift: 0 },
    { name: 'every window negative', x: [3, 8, 8, 4], filterSize: 2, strides: 2, pad: 'valid', shift: -1 },
    {
      name: 'overlapping 3x3 windows, stride 2, same padding, negative',
      x: [2, 7, 9, 3],
      filterSize: 3,
      strides: 2,
      pad: 'same',
      shift: -1,
    },
    {
      name: 'rows and columns no window reads',
      x: [2, 9, 7, 2],
      filterSize: 2,
      strides: 3,
      pad: 'valid',
      shift: 0,
    },
  ];

  it.each(cases)('matches the cpu kernel: $name', async ({ x, filterSize, strides, pad, shift }) => {
    const values = seededValues(size(x), 18).map((value) => value + shift);
    const output = await runOn('cpu', 'MaxPool', { x: { values, shape: x } }, { filterSize, strides, pad });
    await expectMatchesCpu(
      'MaxPoolGrad',
      {
        dy: random(output.shape, 19),
        input: { values, shape: x },
        output: { values: output.values, shape: output.shape },
      },
      { filterSize, strides, pad },
    );
  });

  it("gives a tied window's gradient to its first maximum, as the cpu kernel does", async () => {
    // Windows of zeros (a ReLU's output) and of two equal maxima.
    const values = Float32Array.from([0, 0, 0, 0, 1, 3, 3, 2, -1, 0, -2, 0, 5, 5, 5, 5]);
    const x = { values, shape: [4, 2, 2, 1] };
    const output = { values: Float32Array.from([0, 3, 0, 5]), shape: [4, 1, 1, 1] };
    const dy = { values: Float32Array.from([1, 2, 3, 4]), shape: [4, 1, 1, 1] };
    const attrs = { filterSize: 2, strides: 2, pad: 'valid' };
    const ours = await runOn('wasm', 'MaxPoolGrad', { dy, input: x, output }, attrs);
    const reference = await runOn('cpu', 'MaxPoolGrad', { dy, input: x, output }, attrs);
    expect(Array.from(ours.values)).toEqual(Array.from(reference.values));
    expect(Array.from(ours.values)).toEqual([1, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0]);
  });
});

describe('depthwise gradients on wasm', () => {
  const cases: Array<{ x: Shape4; filter: Shape4; strides: number | [number, number]; pad: Pad }> = [
    { x: [2, 7, 7, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'valid' },
    { x: [2, 7, 7, 3], filter: [3, 3, 3, 2], strides: 1, pad: 'same' },
    { x: [2, 8, 9, 2], filter: [3, 2, 2, 3], strides: [2, 3], pad: 'same' },
    { x: [3, 9, 8, 2], filter: [3, 3, 2, 2], strides: 2, pad: 'valid' },
    { x: [1, 10, 10, 4], filter: [5, 5, 4, 1], strides: 3, pad: 'same' },
    {
      x: [2, 6, 6, 2],
      filter: [3, 3, 2, 2],
      strides: 2,
      pad: [
        [0, 0],
        [1, 2],
        [0, 1],
        [0, 0],
      ],
    },
  ];

  it.each(cases)(
    'DepthwiseConv2dNativeBackpropFilter matches the cpu kernel: x %j',
    async ({ x, filter, strides, pad }) => {
      const info = tf.backend_util.computeConv2DInfo(x, filter, strides, 1, pad, undefined, true);
      await expectMatchesCpu(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: random(x, 5), dy: random(info.outShape, 6) },
        { strides, pad, dilations: 1, filterShape: filter },
      );
    },
  );

  it.each(cases)(
    'DepthwiseConv2dNativeBackpropInput matches the cpu kernel: x %j',
    async ({ x, filter, strides, pad }) => {
      const info = tf.backend_util.computeConv2DInfo(x, filter, strides, 1, pad, undefined, true);
      await expectMatchesCpu(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: random(info.outShape, 7), filter: random(filter, 8) },
        { strides, pad, dilations: 1, inputShape: x },
      );
    },
  );

  // tfjs's gradients refuse dilations, but the kernels take them, and the cpu
  // kernels ignore them: the reference is the cpu kernel with the dilated
  // filter written out (zeros between its taps).
  const dilated: Array<{
    x: Shape4;
    filter: Shape4;
    strides: number | [number, number];
    pad: Pad;
    dilations: [number, number];
  }> = [
    { x: [2, 10, 10, 2], filter: [3, 3, 2, 2], strides: 1, pad: 'same', dilations: [2, 2] },
    { x: [2, 11, 12, 3], filter: [3, 2, 3, 1], strides: 1, pad: 'valid', dilations: [2, 3] },
    { x: [2, 11, 12, 2], filter: [3, 3, 2, 2], strides: [2, 1], pad: 'valid', dilations: [1, 2] },
  ];

  it.each(dilated)('match the cpu kernels with the dilated filter written out: x %j', async (c) => {
    const [dh, dw] = c.dilations;
    const spread: Shape4 = [(c.filter[0] - 1) * dh + 1, (c.filter[1] - 1) * dw + 1, c.filter[2], c.filter[3]];
    const tapIndex = (row: number, col: number, rest: number): number =>
      (row * spread[1] + col) * c.filter[2] * c.filter[3] + rest;
    const perTap = c.filter[2] * c.filter[3];
    const info = tf.backend_util.computeConv2DInfo(
      c.x,
      c.filter,
      c.strides,
      c.dilations,
      c.pad,
      undefined,
      true,
    );
    const [x, dy, filter] = [random(c.x, 9), random(info.outShape, 10), random(c.filter, 11)];
    const spreadFilter = new Float32Array(size(spread));
    for (let row = 0; row < c.filter[0]; row++) {
      for (let col = 0; col < c.filter[1]; col++) {
        for (let rest = 0; rest < perTap; rest++) {
          spreadFilter[tapIndex(row * dh, col * dw, rest)] =
            filter.values[(row * c.filter[1] + col) * perTap + rest];
        }
      }
    }

    const referenceFilter = await runOn(
      'cpu',
      'DepthwiseConv2dNativeBackpropFilter',
      { x, dy },
      {
        strides: c.strides,
        pad: c.pad,
        dilations: 1,
        filterShape: spread,
      },
    );
    const oursFilter = await runOn(
      'wasm',
      'DepthwiseConv2dNativeBackpropFilter',
      { x, dy },
      {
        strides: c.strides,
        pad: c.pad,
        dilations: c.dilations,
        filterShape: c.filter,
      },
    );
    const atTaps = new Float32Array(size(c.filter));
    for (let row = 0; row < c.filter[0]; row++) {
      for (let col = 0; col < c.filter[1]; col++) {
        for (let rest = 0; rest < perTap; rest++) {
          atTaps[(row * c.filter[1] + col) * perTap + rest] =
            referenceFilter.values[tapIndex(row * dh, col * dw, rest)];
        }
      }
    }
    expectClose(oursFilter.values, atTaps);
    expect([oursFilter.leakedTensors, oursFilter.leakedBuffers]).toEqual([0, 0]);

    const referenceInput = await runOn(
      'cpu',
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter: { values: spreadFilter, shape: spread } },
      { strides: c.strides, pad: c.pad, dilations: 1, inputShape: c.x },
    );
    const oursInput = await runOn(
      'wasm',
      'DepthwiseConv2dNativeBackpropInput',
      { dy, filter },
      {
        strides: c.strides,
        pad: c.pad,
        dilations: c.dilations,
        inputShape: c.x,
      },
    );
    expectClose(oursInput.values, referenceInput.values);
    expect([oursInput.leakedTensors, oursInput.leakedBuffers]).toEqual([0, 0]);
  });
});

describe('UnsortedSegmentSum on wasm', () => {
  const ids = (values: number[]): InputSpec => ({
    values: Int32Array.from(values),
    shape: [values.length],
    dtype: 'int32',
  });

  it.each([
    {
      name: 'rows, with a negative and an out-of-range id (dropped)',
      x: [6, 3],
      segmentIds: [0, 2, 2, -1, 5, 1],
      numSegments: 4,
    },
    { name: 'scalars, repeated ids', x: [5], segmentIds: [1, 1, 1, 0, 2], numSegments: 3 },
    {
      name: 'matrices, the id numSegments itself dropped',
      x: [7, 2, 3],
      segmentIds: [3, 0, 3, 1, 3, 0, 4],
      numSegments: 4,
    },
    {
      name: 'more segments than rows (an embedding table)',
      x: [10, 4],
      segmentIds: [7, 49, 0, 7, 7, 12, 30, 30, 49, 1],
      numSegments: 50,
    },
  ])('matches the cpu kernel: $name', async ({ x, segmentIds, numSegments }) => {
    await expectMatchesCpu(
      'UnsortedSegmentSum',
      { x: random(x, 12), segmentIds: ids(segmentIds) },
      { numSegments },
    );
  });

  it('takes ids of rank 2 (the cpu kernel cannot: compared with the same ids flattened)', async () => {
    const x = random([2, 3, 4], 13);
    const flatIds = [0, 1, 1, 3, 0, 7];
    const reference = await runOn(
      'cpu',
      'UnsortedSegmentSum',
      { x: { ...x, shape: [6, 4] }, segmentIds: ids(flatIds) },
      { numSegments: 4 },
    );
    const ours = await runOn(
      'wasm',
      'UnsortedSegmentSum',
      { x, segmentIds: { ...ids(flatIds), shape: [2, 3] } },
      { numSegments: 4 },
    );
    expect(ours.shape).toEqual([4, 4]);
    expectClose(ours.values, reference.values);
    expect([ours.leakedTensors, ours.leakedBuffers]).toEqual([0, 0]);
  });
});

describe('models train on wasm', () => {
  const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });

  /** The gradients of the model's cross-entropy on (xs, ys), computed on `backend`, in weight-name order. */
  async function gradientsOn(
    model: tfjs.Sequential,
    xs: tfjs.Tensor,
    ys: tfjs.Tensor,
    backend: 'cpu' | 'wasm',
  ): Promise<Float32Array> {
    await tf.setBackend(backend);
    const { grads } = tf.variableGrads(() =>
      tf.metrics.categoricalCrossentropy(ys, model.apply(xs) as tfjs.Tensor).sum(),
    );
    const flat = Float32Array.from(
      Object.keys(grads)
        .sort()
        .flatMap((name) => Array.from(grads[name].dataSync())),
    );
    tf.dispose(grads);
    return flat;
  }

  it('a Conv2D -> MaxPooling2D -> Dense softmax classifier learns which quadrant is bright', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [12, 12, 1],
          filters: 8,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: seeded(1),
        }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: seeded(2) }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const { xs, ys } = brightQuadrants(tf, 256, 12, 7);
    const tensorsBefore = tf.memory().numTensors;
    const { history } = await model.fit(xs, ys, { epochs: 3, batchSize: 32, shuffle: false, verbose: 0 });
    const loss = history.loss as number[];
    expect(loss[2]).toBeLessThan(loss[0] / 10);
    // What fit keeps: the optimizer's two moments per weight and its step counters.
    expect(tf.memory().numTensors - tensorsBefore).toBeLessThanOrEqual(2 * model.getWeights().length + 2);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it("a Conv2D -> MaxPooling2D -> Conv2D -> MaxPooling2D model without ReLUs gets the cpu backend's gradients", async () => {
    // Negative window maxima, and a second Conv2D whose input gradient is needed.
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [12, 12, 1],
          filters: 4,
          kernelSize: 3,
          kernelInitializer: seeded(9),
        }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', kernelInitializer: seeded(10) }),
        tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: seeded(11) }),
      ],
    });
    const { xs, ys } = brightQuadrants(tf, 32, 12, 10);
    expectClose(await gradientsOn(model, xs, ys, 'wasm'), await gradientsOn(model, xs, ys, 'cpu'));
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('a DepthwiseConv2D -> SeparableConv2D -> Dense model learns, with the gradients the cpu backend gives', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.depthwiseConv2d({
          inputShape: [12, 12, 1],
          kernelSize: 3,
          depthMultiplier: 2,
          depthwiseInitializer: seeded(3),
        }),
        tf.layers.separableConv2d({
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          depthMultiplier: 2,
          depthwiseInitializer: seeded(4),
          pointwiseInitializer: seeded(5),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: seeded(6) }),
      ],
    });
    const { xs, ys } = brightQuadrants(tf, 128, 12, 8);
    expectClose(await gradientsOn(model, xs, ys, 'wasm'), await gradientsOn(model, xs, ys, 'cpu'));
    await tf.setBackend('wasm');

    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const { history } = await model.fit(xs, ys, { epochs: 4, batchSize: 32, shuffle: false, verbose: 0 });
    const loss = history.loss as number[];
    expect(loss[3]).toBeLessThan(loss[0] / 10);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('an Embedding -> GlobalAveragePooling1D -> Dense model learns which topic a sequence is about', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.embedding({
          inputDim: 20,
          outputDim: 8,
          inputLength: 10,
          embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 7 }),
        }),
        tf.layers.globalAveragePooling1d(),
        tf.layers.dense({ units: 4, activation: 'softmax', kernelInitializer: seeded(8) }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.05), loss: 'categoricalCrossentropy' });
    const { xs, ys } = topicSequences(tf, 256, 10, 9);
    const { history } = await model.fit(xs, ys, { epochs: 5, batchSize: 32, shuffle: false, verbose: 0 });
    const loss = history.loss as number[];
    expect(loss[4]).toBeLessThan(loss[0] / 10);
    tf.dispose([xs, ys]);
    model.dispose();
  });
});
