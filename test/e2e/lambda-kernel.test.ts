/**
 * `--backend lambda` through a real jupyter_server and serverless-ts kernel,
 * against the runner under serverless-offline and s3rver (the product's
 * `npm run offline` code): throttling (a proxy in front of the Lambda API
 * answers 429 to a share of the Invokes) shown as retried attempts in the
 * telemetry the panel draws, and billed nothing; `--concurrency` held on the
 * runner's side; `train()` with its workers on Lambda and the S3 store; the
 * embedded store refused for remote workers.
 */
import { KernelMessage } from '@jupyterlab/services';

import { OfflineServers, S3RVER_CREDENTIALS, startOffline } from '../../kernel-magics/src/cli/offline';
import { TELEMETRY_TARGET, TelemetryEvent } from '../../kernel-magics/src/telemetry';
import { execute, ExecutionRecord, resultText, useServerKernel } from '../helpers/kernel-session';
import { startThrottleProxy, ThrottleProxy } from '../helpers/lambda-throttle-proxy';
import { freePort } from '../helpers/processes';

// Read by the kernel jupyter_server starts: the only credentials s3rver accepts.
Object.assign(process.env, S3RVER_CREDENTIALS);
const fixture = useServerKernel();
let servers: OfflineServers;
let proxy: ThrottleProxy;
/** Every byte between the kernel and the Lambda API, both ways. */
const traffic: Buffer[] = [];
/** A secret in the kernel's environment (the process Jupyter starts it from). */
const SECRET = 'kernel-secret-7f3c9a1e';
process.env.JSL_TEST_SECRET = SECRET;

beforeAll(async () => {
  servers = await startOffline({ lambdaPort: await freePort(), s3Port: await freePort() });
  // Nothing throttled until a test asks.
  proxy = await startThrottleProxy(servers.lambdaEndpoint, { share: 0 }, (_direction, chunk) => {
    traffic.push(chunk);
  });
}, 90_000);

afterAll(async () => {
  await proxy?.close();
  await servers?.stop();
}, 30_000);

const errorOf = (record: ExecutionRecord): KernelMessage.IErrorMsg['content'] | undefined =>
  record.iopub.find((m) => m.header.msg_type === 'error')?.content as
    KernelMessage.IErrorMsg['content'] | undefined;

async function run(code: string, timeoutMs = 120_000): Promise<ExecutionRecord> {
  const record = await execute(fixture.kernel, code, { timeoutMs });
  const error = errorOf(record);
  if (error) {
    throw new Error(
      `cell failed: ${error.ename}: ${error.evalue}\n${error.traceback.join('\n')}\n--- ${code}`,
    );
  }
  return record;
}

function collectTelemetry(): TelemetryEvent[] {
  const comm = fixture.kernel.createComm(TELEMETRY_TARGET);
  const events: TelemetryEvent[] = [];
  comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
    const envelope = msg.content.data as unknown as { type: string; events: TelemetryEvent[] };
    if (envelope.type === 'events') {
      events.push(...envelope.events);
    }
  };
  comm.open({});
  return events;
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('--backend lambda in a kernel', () => {
  beforeAll(async () => {
    // Through the proxy: what it lets through reaches serverless-offline unchanged.
    await run(servers.configLine.replace(servers.lambdaEndpoint, proxy.endpoint));
    await run('const ids = Array.from({ length: 30 }, (_, i) => i);');
  }, 60_000);

  it('retries throttled Invokes with backoff, shows them as retried, bills them nothing, and completes every element', async () => {
    const events = collectTelemetry();
    const throttledBefore = proxy.throttled;
    proxy.throttle({ share: 0.3 });
    try {
      const record = await run('%%serverless --map ids --as n --concurrency 4\nn * 3');
      expect(resultText(record)?.replace(/\s+/g, '')).toBe(
        `[${Array.from({ length: 30 }, (_, i) => i * 3).join(',')}]`,
      );
    } finally {
      proxy.throttle({ share: 0 });
    }
    await until(() => events.some((e) => e.type === 'run-finished'), 'run-finished');
    const throttled = proxy.throttled - throttledBefore;
    expect(throttled).toBeGreaterThan(0);
    const finished = events.filter(
      (e): e is Extract<TelemetryEvent, { type: 'invocation-finished' }> => e.type === 'invocation-finished',
    );
    const retried = finished.filter((e) => e.status === 'retried');
    // One retried attempt per 429 the proxy answered, each billed nothing (Lambda does not bill a throttle).
    expect(retried).toHaveLength(throttled);
    expect(retried.every((e) => e.bill.totalUsd === 0)).toBe(true);
    expect(finished.filter((e) => e.status === 'ok')).toHaveLength(30);
  }, 180_000);

  it("keeps the kernel's credentials and secrets out of payloads, outputs and telemetry", async () => {
    const events = collectTelemetry();
    const before = traffic.length;
    const record = await run(
      [
        '%%serverless',
        "const seen = Object.entries(process.env).filter(([, value]) => value === 'S3RVER' || (value ?? '').includes('kernel-secret'));",
        'seen.map(([name]) => name)',
      ].join('\n'),
    );
    await until(() => events.some((e) => e.type === 'run-finished'), 'run-finished');
    const sent = Buffer.concat(traffic.slice(before)).toString('latin1');
    expect(sent.length).toBeGreaterThan(0);
    // The kernel's secret access key (s3rver's is 'S3RVER') and its other secrets never travel to the runner.
    expect(sent).not.toContain(SECRET);
    expect(sent).not.toContain('S3RVER');
    const shown = JSON.stringify(record.iopub.map((m) => m.content));
    expect(shown).not.toContain(SECRET);
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(JSON.stringify(events)).not.toContain('S3RVER');
    // In the runner, the program's process has only its function's own credentials (serverless-offline's
    // here, AWS_* copied into the function as the execution role's are), never the kernel's secrets.
    expect(resultText(record)).not.toContain('JSL_TEST_SECRET');
  }, 120_000);

  it('holds --concurrency: no more Invokes run at once than asked', async () => {
    const record = await run(
      [
        '%%serverless --map ids.slice(0, 12) --as n --concurrency 3',
        'const startedAt = Date.now();',
        'await new Promise((resolve) => setTimeout(resolve, 300));',
        '[startedAt, Date.now()]',
      ].join('\n'),
    );
    const spans = JSON.parse(resultText(record)?.replace(/'/g, '"') ?? '[]') as [number, number][];
    expect(spans).toHaveLength(12);
    const edges = spans.flatMap(([start, end]) => [
      { at: start, delta: 1 },
      { at: end, delta: -1 },
    ]);
    // Ends before starts at the same instant: touching spans do not overlap.
    edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let running = 0;
    let most = 0;
    for (const edge of edges) {
      running += edge.delta;
      most = Math.max(most, running);
    }
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('tunes memory on Lambda from what the runner reports: one size run, the other predicted', async () => {
    const events = collectTelemetry();
    await run(
      '%%serverless --tune --memory 512,1024 --out tuned\n' +
        'const start = process.cpuUsage();\nlet spins = 0;\n' +
        'while (process.cpuUsage(start).user + process.cpuUsage(start).system < 100_000) spins++;\nspins > 0',
    );
    const record = await run(
      'JSON.stringify({ pick: tuned.pick, invocations: tuned.invocations, rows: tuned.rows.map((r) => [r.memoryMb, r.status]) })',
    );
    // A string result is shown quoted: '...'.
    const result = JSON.parse((resultText(record) ?? "''").slice(1, -1)) as {
      pick: number;
      invocations: number;
      rows: [number, string][];
    };
    expect(result.invocations).toBe(1);
    expect(result.rows).toEqual([
      [512, 'modelled'],
      [1024, 'measured'],
    ]);
    expect([512, 1024]).toContain(result.pick);
    // The telemetry replays earlier runs too: the tuning's own run is the one labelled --tune.
    const tuning = (): TelemetryEvent | undefined =>
      events.find((e) => e.type === 'run-started' && e.label.includes('--tune'));
    await until(() => tuning() !== undefined, 'the tuning run');
    const started = tuning();
    const runId = started?.type === 'run-started' ? started.runId : '';
    await until(() => events.some((e) => e.type === 'run-finished' && e.runId === runId), 'run-finished');
    expect(started?.type === 'run-started' && started.backend).toBe('lambda');
    expect(started?.type === 'run-started' && started.cpu).toBeUndefined();
    // Billed from the REPORT line: no Lambda-equivalent duration of the embedded runtime's.
    const finished = events.filter((e) => e.type === 'invocation-finished' && e.runId === runId);
    expect(finished).toHaveLength(1);
    expect(finished[0].type === 'invocation-finished' && finished[0].lambdaMs).toBeUndefined();
    expect(finished[0].type === 'invocation-finished' && finished[0].cpuMs).toBeGreaterThan(50);
  }, 180_000);

  it('refuses the embedded store for train() workers on Lambda, saying what to use', async () => {
    await run(
      [
        "import * as tf from '@tensorflow/tfjs';",
        "import { datasets, models, train } from 'serverless-kernel';",
        'const { train: trainSet, test } = await datasets.mnist({ train: 1000, test: 200 });',
        'function mlp(seed: number) {',
        '  const model = tf.sequential({ layers: [',
        "    tf.layers.dense({ inputShape: [784], units: 32, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),",
        "    tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),",
        '  ] });',
        "  model.compile({ optimizer: tf.train.adam(0.005), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });",
        '  return model;',
        '}',
      ].join('\n'),
    );
    const record = await execute(
      fixture.kernel,
      "await train({ model: mlp(1), data: trainSet, workers: 2, epochs: 1, batchSize: 64, backend: 'lambda', store: 'embedded' });",
      { timeoutMs: 60_000 },
    );
    const error = errorOf(record);
    expect(error?.ename).toBe('TrainingConfigError');
    expect(error?.evalue).toMatch(/cannot reach/);
    expect(error?.evalue).toMatch(/s3:\/\//);
  }, 120_000);

  it('trains an epoch with its workers on Lambda and the S3 store; the checkpoint is in S3', async () => {
    const store = `s3://${servers.bucket}/training?endpoint=${servers.s3Endpoint}&region=us-east-1`;
    // The kernel's store: train() and models in the kernel use it, and so do the workers.
    await run(`%serverless config --store ${store}`);
    const record = await run(
      [
        'const model = mlp(3);',
        "const result = await train({ model, data: trainSet, validation: test, workers: 2, epochs: 1, batchSize: 64, backend: 'lambda', name: 'lambda-mlp', seed: 5, verbose: false });",
        "const listed = await models.list({ name: 'lambda-mlp' });",
        'JSON.stringify({ history: result.history, versions: listed.map((v) => v.version) })',
      ].join('\n'),
      240_000,
    );
    const out = JSON.parse((resultText(record) ?? '').replace(/^'|'$/g, '')) as {
      history: {
        epoch: number;
        loss: number;
        valAccuracy?: number;
        costUsd: number;
        bytesExchanged: number;
      }[];
      versions: number[];
    };
    expect(out.history.map((row) => row.epoch)).toEqual([1]);
    expect(Number.isFinite(out.history[0].loss)).toBe(true);
    // 1,000 digits, one epoch: well above chance (0.1).
    expect(out.history[0].valAccuracy).toBeGreaterThan(0.5);
    expect(out.history[0].bytesExchanged).toBeGreaterThan(0);
    expect(out.history[0].costUsd).toBeGreaterThan(0);
    // The starting model and the epoch's checkpoint.
    expect(out.versions).toEqual([1, 2]);
  }, 300_000);
});
