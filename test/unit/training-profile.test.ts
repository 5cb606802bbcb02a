/**
 * Profiling segments of train-time tuning, on the worker side, with real
 * tfjs (cpu backend) and the real exchange and model store on an embedded
 * store in a temporary directory; each segment's workers run at once as the
 * invocations of one cell run. A profile measures setup, steps, evaluation
 * and (rank 0) one checkpoint under its own name; it writes nothing under
 * the training's name, sends no training events, and leaves no model
 * behind: the training's next segment loads its checkpoint and trains
 * exactly as it would have without the profile.
 *
 * What a worker measures is measured where a worker runs, one process per
 * worker (the build, in fresh Node processes): its CPU time is its
 * process's and its setup loads tfjs, as an environment's first invocation
 * does. What the model a process keeps between segments does is checked
 * with both workers in this process.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { EXCHANGE_OPEN_EVENT } from '../../kernel-magics/src/exchange/collectives/events';
import { closeSharedStores, sharedStore } from '../../kernel-magics/src/exchange/store/shared';
import { setOutputSink, type InvocationEvent } from '../../kernel-magics/src/output/sink';
import { setInvocationSource, type InvocationContext } from '../../kernel-magics/src/runtime/program/context';
import { ModelStore } from '../../kernel-magics/src/state/model-store';
import { CHECKPOINT_FORMAT, writeCheckpointRecord } from '../../kernel-magics/src/training/checkpoint';
import { datasetArrays } from '../../kernel-magics/src/training/datasets/arrays';
import type { DatasetRef } from '../../kernel-magics/src/training/datasets/layout';
import { publishDataset } from '../../kernel-magics/src/training/datasets/publish';
import {
  type ProfileSpec,
  type SegmentOutcome,
  type SegmentSpec,
  TRAINING_EPOCH_EVENT,
  TRAINING_STEP_EVENT,
  type WorkerProfile,
} from '../../kernel-magics/src/training/spec';
import { releaseHeldModel } from '../../kernel-magics/src/training/worker/model-io';
import { trainingWorker } from '../../kernel-magics/src/training/worker/segment';
import { REPO_ROOT } from '../helpers/paths';
import { seededValues } from '../helpers/training-data';
import { tf, weightBytes } from '../helpers/tf-models';

jest.setTimeout(60_000);

const WORKERS = 2;
/** 48 samples over 2 workers at a global batch of 8: 6 steps an epoch. */
const SAMPLES = 48;
const BATCH = 8;
const STEPS_PER_EPOCH = SAMPLES / WORKERS / (BATCH / WORKERS);

let dir: string;
let storeUrl: string;
let models: ModelStore;
let data: DatasetRef;
let validation: DatasetRef;
/** The invocation the workers run as now (one per segment: each is a cell run of its own). */
let invocation: InvocationContext | undefined;
const events: InvocationEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'training-profile-'));
  storeUrl = `embedded:${dir}`;
  setInvocationSource(() => invocation);
  setOutputSink({
    stream: () => undefined,
    display: () => undefined,
    clear: () => undefined,
    event: (event) => events.push(event),
  });
  const store = sharedStore(storeUrl);
  // No cache on this side: a worker loads a training's first checkpoint from the store, as a fresh one does.
  models = new ModelStore({ store, tf, cache: false });
  data = await publish(classes(SAMPLES, 1));
  validation = await publish(classes(20, 2));
});

afterAll(async () => {
  // What the in-process segments' workers kept for a next segment.
  releaseHeldModel();
  setInvocationSource(() => undefined);
  setOutputSink(undefined);
  await closeSharedStores();
  rmSync(dir, { recursive: true, force: true });
});

async function publish(set: { xs: tf.Tensor; ys: tf.Tensor }): Promise<DatasetRef> {
  try {
    return await publishDataset(sharedStore(storeUrl), datasetArrays(set));
  } finally {
    tf.dispose([set.xs, set.ys]);
  }
}

/** Samples of 4 features whose class (one-hot of 3) is their largest of the first three. */
function classes(count: number, seed: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const values = seededValues(count * 4, seed);
  const labels = Array.from({ length: count }, (_, i) => {
    const row = Array.from(values.subarray(i * 4, i * 4 + 3));
    return row.indexOf(Math.max(...row));
  });
  return tf.tidy(() => ({
    xs: tf.tensor2d(values, [count, 4]),
    ys: tf.oneHot(tf.tensor1d(labels, 'int32'), 3),
  }));
}

/** A new training's starting checkpoint: a small compiled model saved as version 1 of a fresh name. */
async function startTraining(
  optimizer = (): tf.Optimizer => tf.train.adam(0.05),
): Promise<{ trainId: string; name: string }> {
  const trainId = randomUUID();
  const name = `profile-test-${trainId.slice(0, 8)}`;
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [4],
        units: 6,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      }),
      tf.layers.dense({
        units: 3,
        activation: 'softmax',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
      }),
    ],
  });
  model.compile({ optimizer: optimizer(), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  writeCheckpointRecord(model, {
    format: CHECKPOINT_FORMAT,
    trainId,
    position: { epoch: 0, step: 0 },
    dataHash: data.hash,
    workers: WORKERS,
    batchSize: BATCH,
    seed: 7,
    history: [],
  });
  const { version } = await models.save(name, model, { includeOptimizer: true });
  model.dispose();
  expect(version).toBe(1);
  return { trainId, name };
}

function segmentSpec(
  training: { trainId: string; name: string },
  over: Partial<SegmentSpec> = {},
): SegmentSpec {
  return {
    ...training,
    version: 1,
    start: { epoch: 0, step: 0 },
    untilEpoch: 1,
    epochs: 1,
    data,
    validation,
    workers: WORKERS,
    batchSize: BATCH,
    strategy: 'allreduce',
    staleness: 0,
    codec: 'none',
    store: storeUrl,
    seed: 7,
    shuffle: true,
    timeLimitMs: 600_000,
    controlEvery: 4,
    tfBackend: 'cpu',
    accuracy: 'categorical',
    history: [],
    workerUsdPerSecond: 1e-5,
    ...over,
  };
}

/** Every rank of a segment at once in this process, as the invocations of one new cell run; their outcomes. */
async function runSegment(spec: SegmentSpec): Promise<SegmentOutcome[]> {
  invocation = newInvocation();
  try {
    return await Promise.all(Array.from({ length: spec.workers }, (_, rank) => trainingWorker(spec, rank)));
  } finally {
    invocation = undefined;
  }
}

function newInvocation(): InvocationContext {
  return { id: randomUUID(), runId: randomUUID(), attempt: 1, store: storeUrl };
}

/** The built module a worker process runs. */
const DIST = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src');

/** A fresh process running one rank's invocation: prints its outcome and the events it sent. */
const WORKER_PROCESS = `
  const path = require('node:path');
  const dist = (file) => require(path.join(${JSON.stringify(DIST)}, file));
  const { setInvocationSource } = dist('runtime/program/context.js');
  const { setOutputSink } = dist('output/sink.js');
  const { trainingWorker } = dist('training/worker/segment.js');
  const { spec, rank, invocation } = JSON.parse(process.argv[1]);
  const events = [];
  setInvocationSource(() => invocation);
  setOutputSink({ stream() {}, display() {}, clear() {}, event: (event) => events.push(event) });
  trainingWorker(spec, rank).then((outcome) => {
    process.stdout.write(JSON.stringify({ outcome, events }), () => process.exit(0));
  });`;

/** Every rank of a segment at once, each in a process of its own, as the invocations of one new cell run. */
async function runSegmentInProcesses(
  spec: SegmentSpec,
): Promise<Array<{ outcome: SegmentOutcome; events: InvocationEvent[] }>> {
  const run = newInvocation();
  return Promise.all(
    Array.from({ length: spec.workers }, async (_, rank) => {
      const job = JSON.stringify({ spec, rank, invocation: run });
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', WORKER_PROCESS, job], {
        cwd: REPO_ROOT,
        timeout: 30_000,
      });
      return JSON.parse(stdout) as { outcome: SegmentOutcome; events: InvocationEvent[] };
    }),
  );
}

function profileSpec(over: Partial<ProfileSpec> = {}): ProfileSpec {
  return {
    warmupSteps: 2,
    steps: 3,
    evaluateSamples: 6,
    checkpointName: `profiled-${randomUUID()}`,
    ...over,
  };
}

function profileOf(outcome: SegmentOutcome): WorkerProfile {
  expect(outcome.profile).toBeDefined();
  return outcome.profile as WorkerProfile;
}

describe('a profiling segment', () => {
  it("measures each rank's setup, steps, evaluation and rank 0's checkpoint, and writes nothing under the training's name", async () => {
    const training = await startTraining();
    const profile = profileSpec();
    // Starts near an epoch's end: the measured steps run on into the next epoch's order.
    const start = { epoch: 0, step: STEPS_PER_EPOCH - 2 };

    const ran = await runSegmentInProcesses(segmentSpec(training, { start, profile }));
    const outcomes = ran.map((worker) => worker.outcome);

    expect(outcomes.map(({ rank, end, position }) => ({ rank, end, position }))).toEqual([
      { rank: 0, end: 'done', position: start },
      { rank: 1, end: 'done', position: start },
    ]);
    for (const outcome of outcomes) {
      const { setup, step, evaluatePerSample, peakRssMb } = profileOf(outcome);
      expect(step.cpuMs).toBeGreaterThan(0);
      expect(step.activeMs).toBeGreaterThan(0);
      // Setup loads tfjs, the data and the model, and opens the exchange: more than a step.
      expect(setup.cpuMs).toBeGreaterThan(step.cpuMs);
      expect(setup.activeMs).toBeGreaterThan(step.activeMs);
      expect(evaluatePerSample?.cpuMs).toBeGreaterThan(0);
      expect(evaluatePerSample?.activeMs).toBeGreaterThan(0);
      expect(peakRssMb).toBeGreaterThan(0);
    }
    const [rank0, rank1] = outcomes.map(profileOf);
    expect(rank0.checkpoint?.cpuMs).toBeGreaterThan(0);
    expect(rank0.checkpoint?.activeMs).toBeGreaterThan(0);
    expect(rank1.checkpoint).toBeUndefined();

    expect((await models.list({ name: profile.checkpointName })).map((v) => v.version)).toEqual([1]);
    expect((await models.list({ name: training.name })).map((v) => v.version)).toEqual([1]);
    expect(outcomes.some((outcome) => outcome.version !== undefined)).toBe(false);
    const sent = ran.flatMap((worker) => worker.events.map((event) => event.type));
    expect(sent).toContain(EXCHANGE_OPEN_EVENT);
    expect(sent).not.toContain(TRAINING_STEP_EVENT);
    expect(sent).not.toContain(TRAINING_EPOCH_EVENT);
  });

  it('runs on through epochs past a small data set, reports no evaluation without validation data, and ends with a stale parameter server left undrained', async () => {
    const training = await startTraining();
    const outcomes = await runSegment(
      segmentSpec(training, {
        validation: undefined,
        strategy: 'parameter-server',
        staleness: 2,
        // More steps than two epochs have.
        profile: profileSpec({ warmupSteps: 3, steps: 2 * STEPS_PER_EPOCH }),
      }),
    );
    for (const outcome of outcomes) {
      const measured = profileOf(outcome);
      expect(measured.evaluatePerSample).toBeUndefined();
      expect(measured.step.activeMs).toBeGreaterThan(0);
    }
  });

  it('leaves no model behind: the next segment of the training loads its checkpoint and trains as without the profile', async () => {
    // A training without a profile first: its workers keep their model in this process, which the profile drops.
    const reference = await startTraining();
    events.length = 0;
    const [referenceEnd] = await runSegment(segmentSpec(reference));
    const referenceLoss = epochLosses();
    const referenceWeights = await checkpointWeights(reference.name, referenceEnd.version);

    const profiled = await startTraining();
    await runSegment(segmentSpec(profiled, { profile: profileSpec({ warmupSteps: 2, steps: 4 }) }));
    events.length = 0;
    const [profiledEnd] = await runSegment(segmentSpec(profiled));

    expect(profiledEnd).toMatchObject({ end: 'done', position: { epoch: 1, step: 0 }, version: 2 });
    expect(epochLosses()).toEqual(referenceLoss);
    expect(referenceLoss).toHaveLength(1);
    expect(await checkpointWeights(profiled.name, profiledEnd.version)).toEqual(referenceWeights);
  });
});

/** The epoch losses rank 0 reported since the events were last cleared. */
function epochLosses(): number[] {
  return events.filter((e) => e.type === TRAINING_EPOCH_EVENT).map((e) => e.data.loss as number);
}

async function checkpointWeights(name: string, version: number | undefined): Promise<Buffer> {
  const model = await models.load<tf.LayersModel>(name, { version, tf });
  try {
    return weightBytes(model);
  } finally {
    model.dispose();
  }
}

describe("what a segment's exchange rounds keep in the store", () => {
  /** A round of this model keeps its 51-float mean twice (2 workers: each one's vector): 408 bytes. */
  const KEPT_A_ROUND = 2 * 51 * 4;

  /** Runs segments from the start until the training is done; each segment's outcome (rank 0's). */
  async function trainInSegments(
    training: { trainId: string; name: string },
    over: Partial<SegmentSpec>,
  ): Promise<Array<{ outcome: SegmentOutcome; keptKeys: number }>> {
    const segments: Array<{ outcome: SegmentOutcome; keptKeys: number }> = [];
    let spec = segmentSpec(training, { untilEpoch: 2, epochs: 2, ...over });
    for (let guard = 0; guard < 20; guard += 1) {
      const runId = newInvocation().runId;
      invocation = { ...newInvocation(), runId };
      const outcomes = await Promise.all(
        Array.from({ length: spec.workers }, (_, rank) => trainingWorker(spec, rank)),
      ).finally(() => (invocation = undefined));
      // The gradients' rounds this segment left under its run (the kernel removes them when the run ends).
      const kept = await sharedStore(storeUrl).list(`exchange/${runId}/grads/`);
      segments.push({ outcome: outcomes[0], keptKeys: kept.length });
      if (outcomes[0].end === 'done') {
        return segments;
      }
      const { position, version, carried } = outcomes[0];
      spec = { ...spec, start: position, version: version ?? spec.version, carried };
      // Both ranks run in this process, which holds one model: each loads the checkpoint, as new environments do.
      releaseHeldModel();
    }
    throw new Error('the training did not end in 20 segments');
  }

  it('stops at the first control point past the limit, after a checkpoint, and the next segments train on to the same weights', async () => {
    const sgd = (): tf.Optimizer => tf.train.sgd(0.1);
    const reference = await startTraining(sgd);
    const whole = await trainInSegments(reference, {});
    // 6 steps an epoch, 2 epochs: one segment under the default limit, 12 rounds kept.
    expect(whole).toHaveLength(1);
    expect(whole[0].keptKeys).toBe(2 * 12);

    const limited = await startTraining(sgd);
    // Past the limit after 2 rounds (and their control round): with control points every 2 steps, a segment
    // runs 2 steps, or up to an epoch's end.
    const limitMb = (1.5 * KEPT_A_ROUND) / 2 ** 20;
    const segments = await trainInSegments(limited, { storeLimitMb: limitMb, controlEvery: 2 });
    expect(segments.map((s) => s.outcome.end)).toEqual(['time', 'time', 'time', 'time', 'time', 'done']);
    expect(segments.map((s) => s.outcome.position)).toEqual([
      { epoch: 0, step: 2 },
      { epoch: 0, step: 4 },
      { epoch: 1, step: 0 },
      { epoch: 1, step: 2 },
      { epoch: 1, step: 4 },
      { epoch: 2, step: 0 },
    ]);
    for (const segment of segments) {
      expect(segment.keptKeys).toBe(2 * 2);
    }
    const last = segments[segments.length - 1].outcome;
    expect(await checkpointWeights(limited.name, last.version)).toEqual(
      await checkpointWeights(reference.name, whole[0].outcome.version),
    );
  });
});
