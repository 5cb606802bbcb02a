/**
 * `train()` as a notebook user runs it, through a real jupyter_server and
 * serverless-ts kernel on the embedded runtime (real worker processes, the
 * embedded store), with real MNIST digits and real tfjs training on the
 * wasm backend in the workers: accuracy, the model updated in place, every
 * strategy and codec, a checkpoint per epoch, resume after a kernel restart,
 * a budget stop, an interrupt, a worker killed mid-epoch, and the errors of
 * bad options. The notebook's directory has no node_modules: tfjs comes with
 * the kernel.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { KernelMessage } from '@jupyterlab/services';
import type { IKernelConnection } from '@jupyterlab/services/lib/kernel/kernel';

import { TUNE_TIE } from '../../kernel-magics/src/cost/tuning';
import { execute, ExecutionRecord, useServerKernel, withTimeout } from '../helpers/kernel-session';
import { processTree } from '../helpers/processes';

const storeDir = mkdtempSync(path.join(os.tmpdir(), 'jsl-train-'));
// Read by the kernel jupyter_server starts (and so by its environments): a store of this test's own.
process.env.SERVERLESS_STORE = storeDir;
const fixture = useServerKernel();
afterAll(() => {
  rmSync(storeDir, { recursive: true, force: true });
  delete process.env.SERVERLESS_STORE;
});

/** Resolves when the cell running `future` shows the row of its first epoch in the table train() draws. */
function firstEpochShown(future: ReturnType<IKernelConnection['requestExecute']>): Promise<void> {
  return new Promise<void>((resolve) => {
    future.onIOPub = (msg) => {
      const data = (msg.content as { data?: Record<string, unknown> }).data;
      if (typeof data?.['text/plain'] === 'string' && /\n1\t/.test(data['text/plain'])) {
        resolve();
      }
    };
  });
}

/**
 * The execution environment (a worker process of the embedded runtime) of this test's server that used
 * the most CPU in the last 300 ms: other suites' kernels run their own environments at the same time.
 */
function busiestEnvironment(serverPid: number): number {
  const commandOf = (pid: number): string => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  };
  const pids = processTree(serverPid).filter((pid) => commandOf(pid).includes('worker.bundle'));
  const cpu = (pid: number): number => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(fields[11]) + Number(fields[12]);
    } catch {
      return 0;
    }
  };
  const before = new Map(pids.map((pid) => [pid, cpu(pid)]));
  execFileSync('sleep', ['0.3']);
  const used = pids.map((pid) => ({ pid, ticks: cpu(pid) - (before.get(pid) ?? 0) }));
  used.sort((a, b) => b.ticks - a.ticks);
  if (used.length === 0 || used[0].ticks === 0) {
    throw new Error(`no busy environment among ${pids.join(', ')}`);
  }
  return used[0].pid;
}

const errorOf = (record: ExecutionRecord): KernelMessage.IErrorMsg['content'] | undefined =>
  record.iopub.find((m) => m.header.msg_type === 'error')?.content as
    KernelMessage.IErrorMsg['content'] | undefined;

const RESULT = 'RESULT ';

/** The JSON a cell printed as its last `RESULT` line. */
function printed<T>(record: ExecutionRecord): T {
  const lines = record.iopub
    .filter((m) => m.header.msg_type === 'stream')
    .map((m) => (m.content as KernelMessage.IStreamMsg['content']).text)
    .join('')
    .split('\n')
    .filter((line) => line.startsWith(RESULT));
  if (lines.length === 0) {
    throw new Error('the cell printed no result');
  }
  return JSON.parse(lines[lines.length - 1].slice(RESULT.length)) as T;
}

/** Runs a cell that must succeed and ends with `JSON.stringify(value)`; returns the value. */
async function json<T>(code: string, timeoutMs = 120_000): Promise<T> {
  const lines = code.split('\n');
  const last = lines.pop() ?? '';
  const match = /^JSON\.stringify\((.*)\)$/s.exec(last);
  if (!match) {
    throw new Error(`the cell's last line must be JSON.stringify(...): ${last}`);
  }
  const record = await execute(
    fixture.kernel,
    [...lines, `console.log('${RESULT}' + JSON.stringify(${match[1]}));`].join('\n'),
    {
      timeoutMs,
    },
  );
  const error = errorOf(record);
  if (error) {
    throw new Error(
      `cell failed: ${error.ename}: ${error.evalue}\n${error.traceback.join('\n')}\n--- the cell:\n${code}`,
    );
  }
  return printed<T>(record);
}

interface EpochRow {
  epoch: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  costUsd: number;
  bytesExchanged: number;
}

/** The notebook's first cell: tfjs, the data, an MLP builder (run again after a restart). */
const SETUP = [
  "import * as tf from '@tensorflow/tfjs';",
  "import { datasets, models, train } from 'serverless-kernel';",
  'const { train: trainSet, test } = await datasets.mnist({ train: 2000, test: 500 });',
  'function mlp(seed: number) {',
  '  const model = tf.sequential({ layers: [',
  "    tf.layers.dense({ inputShape: [784], units: 64, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),",
  "    tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),",
  '  ] });',
  "  model.compile({ optimizer: tf.train.adam(0.005), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });",
  '  return model;',
  '}',
  'JSON.stringify(trainSet.xs.shape)',
].join('\n');

beforeAll(async () => {
  expect(await json<number[]>(SETUP)).toEqual([2000, 784]);
}, 120_000);

describe('train() on MNIST', () => {
  it('learns: two workers, two epochs, a row and a checkpoint per epoch, the model updated in place', async () => {
    const out = await json<{
      history: EpochRow[];
      checkpoint: { name: string; version: number };
      versions: number[];
      evaluated: number;
    }>(
      [
        'const model = mlp(1);',
        "const result = await train({ model, data: trainSet, validation: test, workers: 2, epochs: 2, batchSize: 64, name: 'mlp-basic', seed: 7 });",
        "const versions = (await models.list({ name: 'mlp-basic' })).map((v) => v.version);",
        "// The model passed in now holds the trained weights: evaluating it in the kernel gives the last epoch's figure.",
        'const [, acc] = model.evaluate(test.xs, test.ys) as tf.Scalar[];',
        'JSON.stringify({ history: result.history, checkpoint: result.checkpoint, versions, evaluated: acc.dataSync()[0] })',
      ].join('\n'),
    );
    expect(out.history.map((row) => row.epoch)).toEqual([1, 2]);
    expect(out.history[1].loss).toBeLessThan(out.history[0].loss);
    expect(out.history[1].valAccuracy).toBeGreaterThan(0.85);
    expect(out.history.every((row) => row.bytesExchanged > 0 && row.costUsd > 0 && row.seconds > 0)).toBe(
      true,
    );
    // Version 1 is the starting model, then one per epoch.
    expect(out.versions).toEqual([1, 2, 3]);
    expect(out.checkpoint).toEqual({ name: 'mlp-basic', version: 3 });
    expect(Math.abs(out.evaluated - (out.history[1].valAccuracy ?? 0))).toBeLessThan(0.003);
  }, 180_000);

  it("each epoch's row counts that epoch alone: the rows' seconds add up to no more than the call took", async () => {
    // Four epochs in one segment: rows that carried the epochs before them would add up to several times the call.
    const out = await json<{ history: EpochRow[]; callSeconds: number }>(
      [
        'const model = mlp(19);',
        'const startedAt = performance.now();',
        'const result = await train({ model, data: trainSet, workers: 2, epochs: 4, batchSize: 16, seed: 19, verbose: false });',
        'JSON.stringify({ history: result.history, callSeconds: (performance.now() - startedAt) / 1000 })',
      ].join('\n'),
    );
    expect(out.history.map((row) => row.epoch)).toEqual([1, 2, 3, 4]);
    expect(out.history.every((row) => row.seconds > 0)).toBe(true);
    const sum = out.history.reduce((total, row) => total + row.seconds, 0);
    expect(sum).toBeLessThanOrEqual(out.callSeconds);
  }, 180_000);

  it.each([
    ['allreduce', 'none', 0],
    ['allreduce', 'fp16', 0],
    ['allreduce', 'topk:0.05', 0],
    ['scatter-reduce', 'none', 0],
    ['scatter-reduce', 'topk:0.05', 0],
    ['parameter-server', 'none', 0],
    ['parameter-server', 'fp16', 2],
  ])(
    'trains an epoch with strategy %s, codec %s, staleness %d',
    async (strategy, codec, staleness) => {
      const out = await json<{ before: number; history: EpochRow[] }>(
        [
          'const model = mlp(3);',
          'const [before] = model.evaluate(test.xs, test.ys) as tf.Scalar[];',
          `const result = await train({ model, data: trainSet, validation: test, workers: 2, epochs: 1, batchSize: 50, strategy: '${strategy}', codec: '${codec}', staleness: ${staleness}, seed: 3, verbose: false });`,
          'JSON.stringify({ before: before.dataSync()[0], history: result.history })',
        ].join('\n'),
      );
      expect(out.history).toHaveLength(1);
      expect(out.history[0].valLoss).toBeLessThan(out.before * 0.6);
      expect(out.history[0].valAccuracy).toBeGreaterThan(0.7);
    },
    120_000,
  );
});

describe('checkpoints', () => {
  it('resume: true continues from the last checkpoint after a kernel restart in the middle of a training', async () => {
    // Rows of the table the cell draws: "epoch\tloss\t...".
    const rowsShown: string[][] = [];
    const future = fixture.kernel.requestExecute({
      code: "await train({ model: mlp(5), data: trainSet, validation: test, workers: 2, epochs: 40, batchSize: 16, name: 'mlp-resume', seed: 11 })",
    });
    const twoEpochs = new Promise<void>((resolve) => {
      future.onIOPub = (msg) => {
        const text = (msg.content as { data?: Record<string, unknown> }).data?.['text/plain'];
        if (typeof text === 'string') {
          const rows = text.split('\n').filter((line) => /^\d+\t/.test(line));
          rowsShown.splice(0, rowsShown.length, ...rows.map((line) => line.split('\t')));
          if (rows.length >= 2) {
            resolve();
          }
        }
      };
    });
    await withTimeout(twoEpochs, 120_000, 'two epochs of the training to be restarted');
    await withTimeout(fixture.kernel.restart(), 60_000, 'kernel restart');
    await json(SETUP);
    // Where the checkpoint is: the epochs it reached, and its weights.
    const saved = await json<{ epochs: number; versions: number[]; weights: number }>(
      [
        "const versions = (await models.list({ name: 'mlp-resume' })).map((v) => v.version);",
        "const last = await models.load('mlp-resume', { tf });",
        'const meta = last.getUserDefinedMetadata() as { serverlessTraining: { position: { epoch: number } } };',
        'JSON.stringify({ epochs: meta.serverlessTraining.position.epoch, versions, weights: last.getWeights()[0].sum().dataSync()[0] })',
      ].join('\n'),
    );
    expect(saved.epochs).toBeGreaterThanOrEqual(2);
    expect(saved.versions).toHaveLength(saved.epochs + 1);
    // Epochs already reached: nothing runs, and the model passed in gets the checkpoint's weights.
    const same = await json<{ history: EpochRow[]; weights: number; versions: number }>(
      [
        'const m1 = mlp(100);',
        `const r1 = await train({ model: m1, data: trainSet, validation: test, workers: 2, epochs: ${saved.epochs}, batchSize: 16, name: 'mlp-resume', resume: true, verbose: false });`,
        "JSON.stringify({ history: r1.history, weights: m1.getWeights()[0].sum().dataSync()[0], versions: (await models.list({ name: 'mlp-resume' })).length })",
      ].join('\n'),
    );
    expect(same.history.map((row) => row.epoch)).toEqual(
      Array.from({ length: saved.epochs }, (_, i) => i + 1),
    );
    expect(same.weights).toBeCloseTo(saved.weights, 4);
    expect(same.versions).toBe(saved.versions.length);
    // The rows the cell showed before the restart are the rows the resumed history starts with.
    for (const [i, shown] of rowsShown.slice(0, 2).entries()) {
      expect(Number(shown[0])).toBe(same.history[i].epoch);
      expect(Number(shown[1])).toBeCloseTo(same.history[i].loss, 4);
    }
    const resumed = await json<{ history: EpochRow[]; versions: number[] }>(
      [
        'const m2 = mlp(200);',
        `const r2 = await train({ model: m2, data: trainSet, validation: test, workers: 2, epochs: ${saved.epochs + 2}, batchSize: 16, name: 'mlp-resume', resume: true, verbose: false });`,
        "JSON.stringify({ history: r2.history, versions: (await models.list({ name: 'mlp-resume' })).map((v) => v.version) })",
      ].join('\n'),
    );
    expect(resumed.history.map((row) => row.epoch)).toEqual(
      Array.from({ length: saved.epochs + 2 }, (_, i) => i + 1),
    );
    expect(resumed.history.slice(0, saved.epochs)).toEqual(same.history);
    // Two more epochs, two more versions: it continued from the checkpoint, not from the start.
    expect(resumed.versions).toHaveLength(saved.versions.length + 2);
    expect(resumed.history[saved.epochs + 1].valAccuracy).toBeGreaterThan(0.85);
  }, 300_000);

  it('a segment stops before its timeout inside an epoch, and the next one continues from there', async () => {
    const out = await json<{ history: EpochRow[]; versions: number }>(
      [
        'const model = mlp(21);',
        "const r = await train({ model, data: trainSet, validation: test, workers: 2, epochs: 2, batchSize: 4, timeout: 4, name: 'mlp-timeout', seed: 21, verbose: false });",
        "JSON.stringify({ history: r.history, versions: (await models.list({ name: 'mlp-timeout' })).length })",
      ].join('\n'),
    );
    expect(out.history.map((row) => row.epoch)).toEqual([1, 2]);
    expect(out.history[1].valAccuracy).toBeGreaterThan(0.8);
    // The start and one version per epoch, and more: checkpoints where the workers stopped inside an epoch.
    expect(out.versions).toBeGreaterThan(3);
    const report = await execute(fixture.kernel, '%serverless cost', { timeoutMs: 30_000 });
    const text = report.iopub
      .map((m) => m.content as { text?: string; data?: Record<string, unknown> })
      .map((c) => c.text ?? String(c.data?.['text/plain'] ?? ''))
      .join('\n');
    // More than one run: the workers stopped for their timeout (4 s) and new segments went on.
    expect(text.split('\n').filter((line) => line.includes("train('mlp-timeout')")).length).toBeGreaterThan(
      1,
    );
  }, 180_000);

  it('a budget that pays for some epochs stops the workers at the checkpoint before it is passed', async () => {
    const out = await json<{ stopped?: string; epochs: number; costUsd: number; perEpoch: number }>(
      [
        'const model = mlp(10);',
        "const r = await train({ model, data: trainSet, workers: 2, epochs: 40, batchSize: 32, name: 'mlp-budget-some', budget: 0.0004, verbose: false });",
        'JSON.stringify({ stopped: r.stopped, epochs: r.history.length, costUsd: r.costUsd, perEpoch: r.history[1].costUsd })',
      ].join('\n'),
    );
    expect(out.stopped).toBe('budget');
    expect(out.epochs).toBeGreaterThanOrEqual(2);
    expect(out.epochs).toBeLessThan(40);
    // Stopped by the workers' estimate: over the budget by less than an epoch's cost, if at all.
    expect(out.costUsd).toBeLessThan(0.0004 + out.perEpoch);
  }, 180_000);

  it('a budget stops after a checkpoint, and the checkpoint loads', async () => {
    const out = await json<{ stopped?: string; epochs: number; loaded: number; version: number }>(
      [
        'const model = mlp(9);',
        "const r = await train({ model, data: trainSet, workers: 2, epochs: 5, name: 'mlp-budget', budget: 1e-9, verbose: false });",
        "const back = await models.load('mlp-budget', { version: r.checkpoint.version });",
        'JSON.stringify({ stopped: r.stopped, epochs: r.history.length, loaded: back.getWeights().length, version: r.checkpoint.version })',
      ].join('\n'),
    );
    expect(out.stopped).toBe('budget');
    expect(out.epochs).toBe(1);
    expect(out.loaded).toBe(4);
    expect(out.version).toBe(2);
  }, 120_000);
});

interface TunedOut {
  tuning: {
    pick: { workers: number; memoryMb: number };
    reason: string;
    meetsDeadline: boolean;
    predicted: { seconds: number; costUsd: number };
    rows: {
      workers: number;
      memoryMb: number;
      status: string;
      runMs?: number;
      costUsd?: number;
      meetsDeadline: boolean;
    }[];
    profiled: { workers: number[]; memoryMb: number };
    invocations: number;
    costUsd: number;
  };
  workerSeconds: number;
  costUsd: number;
  epochs: number[];
  names: string[];
}

describe("train-time tuning: workers: 'auto', memory: 'auto'", () => {
  /** A tuned training of 1 epoch over 1 or 2 workers x 512 or 1,769 MB; what it returned and what the cell showed. */
  async function tuned(name: string, deadline: number): Promise<{ out: TunedOut; shown: string }> {
    const record = await execute(
      fixture.kernel,
      [
        'const result = await train({',
        "  model: mlp(1), data: trainSet, validation: test, workers: 'auto', memory: 'auto', deadline: " +
          deadline +
          ',',
        `  tune: { workers: [1, 2], memory: [512, 1769] }, epochs: 1, batchSize: 32, name: '${name}', seed: 7,`,
        '});',
        'const names = [...new Set((await models.list()).map((m) => m.name))];',
        `console.log('${RESULT}' + JSON.stringify({ tuning: result.tuning, workerSeconds: result.workerSeconds, costUsd: result.costUsd, epochs: result.history.map((r) => r.epoch), names }));`,
      ].join('\n'),
      { timeoutMs: 240_000 },
    );
    const error = errorOf(record);
    if (error) {
      throw new Error(`cell failed: ${error.ename}: ${error.evalue}\n${error.traceback.join('\n')}`);
    }
    const shown = record.iopub
      .map((m) => (m.content as { data?: Record<string, unknown> }).data?.['text/plain'])
      .filter((text): text is string => typeof text === 'string')
      .join('\n');
    return { out: printed<TunedOut>(record), shown };
  }

  it('profiles the fewest and most workers, picks the cheapest predicted to meet the deadline, says why, and trains with it', async () => {
    const { out, shown } = await tuned('mlp-tuned', 600);
    const { tuning } = out;
    expect(tuning.profiled).toEqual({ workers: [1, 2], memoryMb: 1769 });
    // A profiling run of 1 worker and one of 2.
    expect(tuning.invocations).toBe(3);
    expect(tuning.rows.map((r) => `${r.workers}x${r.memoryMb}`)).toEqual([
      '1x512',
      '1x1769',
      '2x512',
      '2x1769',
    ]);
    // The pick is the cheapest of the grid predicted to meet the deadline (ties within 1% go to the faster).
    const inTime = tuning.rows.filter((r) => r.meetsDeadline && r.costUsd !== undefined);
    const cheapest = Math.min(...inTime.map((r) => r.costUsd ?? Infinity));
    const pickRow = tuning.rows.find(
      (r) => r.workers === tuning.pick.workers && r.memoryMb === tuning.pick.memoryMb,
    );
    expect(pickRow?.costUsd).toBeLessThanOrEqual(cheapest * 1.01);
    expect(tuning.meetsDeadline).toBe(true);
    expect(tuning.reason).toMatch(/is the cheapest predicted to finish within the deadline of 600 s/);
    expect(tuning.predicted.seconds).toBeGreaterThan(0);
    // Tuning's cost is the call's too; the training ran with the pick.
    expect(tuning.costUsd).toBeGreaterThan(0);
    expect(out.costUsd).toBeGreaterThan(tuning.costUsd);
    expect(out.workerSeconds).toBeGreaterThan(0);
    expect(out.epochs).toEqual([1]);
    expect(shown).toMatch(new RegExp(`→ ${tuning.pick.workers}\\s+${tuning.pick.memoryMb} MB`));
    expect(shown).toContain(`Training on ${tuning.pick.workers} worker`);
    expect(shown).toMatch(
      new RegExp(`train 'mlp-tuned': ${tuning.pick.workers} workers · ${tuning.pick.memoryMb} MB`),
    );
    // The profiling model is gone; the training's checkpoints are there.
    expect(out.names).toContain('mlp-tuned');
    expect(out.names.filter((n) => n.includes('.tuning-'))).toEqual([]);
  }, 300_000);

  it('a deadline nothing meets: the fastest, and it says so', async () => {
    const { out } = await tuned('mlp-tuned-late', 0.001);
    expect(out.tuning.meetsDeadline).toBe(false);
    expect(out.tuning.reason).toMatch(
      /No workers x memory is predicted to meet the deadline of 0.001 s: the fastest/,
    );
    // The fastest row, or the cheapest of those within TUNE_TIE of it (the tuner's rule for near-ties).
    const fastest = Math.min(...out.tuning.rows.map((r) => r.runMs ?? Infinity));
    const nearFastest = out.tuning.rows.filter((r) => (r.runMs ?? Infinity) <= fastest * (1 + TUNE_TIE));
    const cheapestNear = Math.min(...nearFastest.map((r) => r.costUsd ?? Infinity));
    const pickRow = out.tuning.rows.find(
      (r) => r.workers === out.tuning.pick.workers && r.memoryMb === out.tuning.pick.memoryMb,
    );
    expect(nearFastest).toContain(pickRow);
    expect(pickRow?.costUsd).toBe(cheapestNear);
    expect(out.tuning.predicted.seconds * 1000).toBeCloseTo(pickRow?.runMs ?? NaN, 6);
    expect(out.epochs).toEqual([1]);
  }, 300_000);
});

describe('bad options', () => {
  it.each([
    [
      'train({ model: tf.sequential({ layers: [tf.layers.dense({ inputShape: [784], units: 10 })] }), data: trainSet })',
      /compile the model first/,
    ],
    [
      'train({ model: mlp(1), data: trainSet, workers: 4, batchSize: 2 })',
      /batchSize 2 is smaller than workers 4/,
    ],
    [
      'train({ model: mlp(1), data: trainSet, staleness: 1 })',
      /staleness 1 needs strategy: 'parameter-server'/,
    ],
    ["train({ model: mlp(1), data: trainSet, codec: 'zip' })", /codec/],
    ['train({ model: mlp(1), data: trainSet, memory: 5 })', /memory/],
    ['train({ model: mlp(1), data: { xs: trainSet.xs, ys: test.ys } })', /2000 samples and data.ys 500/],
    ['train({ model: mlp(1), data: trainSet, workers: 2, deadline: 30 })', /give workers: 'auto'/],
    [
      "train({ model: mlp(1), data: trainSet, workers: 'auto', tune: { workers: [4000] } })",
      /tune.workers must be a list of worker counts from 1 to 1000/,
    ],
  ])(
    '%s is refused before anything runs',
    async (call, message) => {
      const record = await execute(fixture.kernel, `await ${call}`, { timeoutMs: 30_000 });
      const error = errorOf(record);
      expect(error?.ename).toMatch(/TrainingConfigError|Error/);
      expect(`${error?.ename}: ${error?.evalue}`).toMatch(message);
    },
    60_000,
  );
});

describe('faults', () => {
  it('an interrupt stops the training and leaves the last checkpoint usable', async () => {
    const future = fixture.kernel.requestExecute({
      code: "await train({ model: mlp(13), data: trainSet, workers: 2, epochs: 50, batchSize: 32, name: 'mlp-interrupt', verbose: true })",
    });
    const sawEpoch = firstEpochShown(future);
    await withTimeout(sawEpoch, 120_000, 'the first epoch of the interrupted training');
    await fixture.kernel.interrupt();
    const reply = await withTimeout(future.done, 30_000, 'the interrupted cell to end');
    expect(reply.content.status).not.toBe('ok');
    const out = await json<{ versions: number; weights: number }>(
      [
        "const saved = await models.list({ name: 'mlp-interrupt' });",
        "const back = await models.load('mlp-interrupt');",
        'JSON.stringify({ versions: saved.length, weights: back.getWeights().length })',
      ].join('\n'),
    );
    expect(out.versions).toBeGreaterThanOrEqual(2);
    expect(out.weights).toBe(4);
  }, 180_000);

  it('a worker killed mid-epoch is retried; the training ends with every epoch and its accuracy', async () => {
    const future = fixture.kernel.requestExecute({
      code: [
        "const killed = await train({ model: mlp(17), data: trainSet, validation: test, workers: 2, epochs: 6, batchSize: 16, name: 'mlp-killed', seed: 17, retries: 2 });",
        'JSON.stringify(killed.history)',
      ].join('\n'),
    });
    const firstEpoch = firstEpochShown(future);
    await withTimeout(firstEpoch, 120_000, 'the first epoch');
    // A training worker (an environment using CPU now), killed from outside as the OOM killer would.
    const victim = busiestEnvironment(fixture.server.pid);
    process.kill(victim, 'SIGKILL');
    const reply = await withTimeout(future.done, 150_000, 'the training after the kill');
    expect(reply.content.status).toBe('ok');
    const history = await json<EpochRow[]>('JSON.stringify(killed.history)');
    expect(history.map((row) => row.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(history[5].valAccuracy).toBeGreaterThan(0.85);
    // The segment's bill counts the killed attempt and its retry: 3 invocations for 2 workers.
    const cost = await execute(fixture.kernel, '%serverless cost', { timeoutMs: 30_000 });
    const report = cost.iopub
      .map((m) => {
        const content = m.content as { text?: string; data?: Record<string, unknown> };
        return content.text ?? String(content.data?.['text/plain'] ?? '');
      })
      .join('\n');
    const row = report.split('\n').find((line) => line.includes("train('mlp-killed')"));
    expect(row).toBeDefined();
    expect(row).toMatch(/workers\s+3\s/);
  }, 300_000);
});
