/**
 * The embedded runtime on Lambda's clock (`--cpu lambda`, the default):
 * real cells through the kernel's engine and real worker processes. A
 * CPU-bound body is billed and timed out as Lambda's CPU share of its
 * memory would run it, a sleeping one as it ran; `--cpu host` bills this
 * machine's clock; budgets count the same clock; `--dry-run` at a memory size
 * never run is modelled from a run at another.
 */
import { ExecutionOutcome } from '../../kernel-magics/src/kernel/engine';
import { TelemetryEvent } from '../../kernel-magics/src/telemetry';
import { EngineKernel, startEngineKernel } from '../helpers/engine-kernel';

type Finished = Extract<TelemetryEvent, { type: 'invocation-finished' }>;

let kernel: EngineKernel;
/** The telemetry of the kernel (emptied before each test). */
let events: TelemetryEvent[];

beforeAll(() => {
  kernel = startEngineKernel();
  events = kernel.events;
});

afterAll(async () => {
  await kernel.dispose();
});

beforeEach(() => {
  kernel.clearStdout();
  events.length = 0;
});

async function run(code: string): Promise<ExecutionOutcome> {
  return kernel.run(code);
}

/** A body that runs `ms` of CPU time (however busy the machine is). */
function busy(ms: number): string {
  return (
    `const start = process.cpuUsage();\nlet spins = 0;\n` +
    `while (process.cpuUsage(start).user + process.cpuUsage(start).system < ${ms * 1000}) spins++;\nspins > 0`
  );
}

/** The invocation-finished events of the last cell. */
function finished(): Finished[] {
  return events.filter((e): e is Finished => e.type === 'invocation-finished');
}

/** Runs a single-invocation cell and returns its one attempt's event. */
async function attemptOf(code: string): Promise<Finished> {
  events.length = 0;
  const outcome = await run(code);
  const [attempt, ...more] = finished();
  expect(more).toHaveLength(0);
  expect(attempt).toBeDefined();
  if (outcome.status !== 'ok') {
    return attempt;
  }
  expect(attempt.status).toBe('ok');
  return attempt;
}

describe('billing on Lambda’s CPU share', () => {
  it('bills a CPU-bound body at 128 MB about 1769/128 = 13.8x its duration at 1769 MB', async () => {
    const small = await attemptOf(`%%serverless --memory 128\n${busy(300)}`);
    const full = await attemptOf(`%%serverless --memory 1769\n${busy(300)}`);
    // Both ran 300 ms of CPU here; one vCPU runs it as fast as this machine's core.
    expect(full.cpuMs).toBeGreaterThanOrEqual(300);
    expect(full.lambdaMs).toBeLessThanOrEqual(full.durationMs);
    expect(small.cpuMs).toBeGreaterThanOrEqual(300);
    const ratio = small.billedMs / full.billedMs;
    expect(ratio).toBeGreaterThan(13.8 * 0.85);
    expect(ratio).toBeLessThan(13.8 * 1.15);
    // The bill is the Lambda-equivalent duration, rounded up to the ms.
    expect(small.billedMs).toBe(Math.ceil(small.lambdaMs ?? NaN));
  }, 60_000);

  it('bills a sleeping body about alike at 128 and 1769 MB', async () => {
    const sleep = 'await new Promise((resolve) => setTimeout(resolve, 1000));\n1';
    const small = await attemptOf(`%%serverless --memory 128\n${sleep}`);
    const full = await attemptOf(`%%serverless --memory 1769\n${sleep}`);
    expect(small.billedMs / full.billedMs).toBeGreaterThan(0.85);
    expect(small.billedMs / full.billedMs).toBeLessThan(1.15);
    expect(small.durationMs).toBeGreaterThanOrEqual(1000);
  }, 60_000);

  it('--cpu host bills this machine’s clock, as before the model', async () => {
    const host = await attemptOf(`%%serverless --memory 128 --cpu host\n${busy(100)}`);
    expect(host.lambdaMs).toBeUndefined();
    expect(host.billedMs).toBe(Math.ceil(host.durationMs));
    const started = events.find((e) => e.type === 'run-started');
    expect(started?.type === 'run-started' && started.cpu).toBe('host');
  }, 60_000);
});

describe('--timeout on Lambda’s clock', () => {
  it('times out a body that runs 0.5 s of host CPU with --timeout 3 --memory 128, and says why', async () => {
    const outcome = await run(`%%serverless --timeout 3 --memory 128\n${busy(500)}`);
    expect(outcome.status).toBe('error');
    const [attempt] = finished();
    expect(attempt.status).toBe('timeout');
    // Killed once 3 s of Lambda time had passed: ~0.22 s of CPU here (later on a loaded machine), before the 0.5 s.
    expect(attempt.cpuMs).toBeGreaterThan(150);
    expect(attempt.cpuMs).toBeLessThan(500);
    expect(attempt.lambdaMs).toBe(3000);
    expect(attempt.billedMs).toBe(3000);
    expect(attempt.error?.message).toMatch(/^Task timed out after 3\.00 seconds\. It ran 0\.\d\d s here/);
    expect(attempt.error?.message).toMatch(/128 MB Lambda function has 7% of a vCPU/);
    expect(attempt.error?.message).toMatch(/--cpu host/);
  }, 60_000);

  it('lets the same body finish on the host’s clock, and at a full vCPU', async () => {
    expect((await run(`%%serverless --timeout 3 --memory 128 --cpu host\n${busy(500)}`)).status).toBe('ok');
    expect((await run(`%%serverless --timeout 3 --memory 1769\n${busy(500)}`)).status).toBe('ok');
  }, 60_000);

  it('times out a sleeping body on its wall time at any memory', async () => {
    const attempt = await attemptOf(
      '%%serverless --timeout 1 --memory 128\nawait new Promise((resolve) => setTimeout(resolve, 5000));\n1',
    );
    expect(attempt.status).toBe('timeout');
    expect(attempt.durationMs).toBeGreaterThanOrEqual(950);
    expect(attempt.durationMs).toBeLessThan(2000);
    expect(attempt.error?.message).toBe('Task timed out after 1.00 seconds.');
  }, 60_000);
});

describe('budgets on Lambda’s clock', () => {
  it('stops a CPU-bound map at 128 MB that the host’s clock would let finish', async () => {
    await run('const quick = [1, 1];\nconst slow = [150, 150, 150, 150, 150, 150];');
    const body =
      'const start = process.cpuUsage();\nlet spins = 0;\n' +
      'while (process.cpuUsage(start).user + process.cpuUsage(start).system < ms * 1000) spins++;\nms';
    const cell = (elements: string, cpu: string, budget = ''): string =>
      `%%serverless --map ${elements} --as ms --concurrency 1 --memory 128 --cpu ${cpu}${budget}\n${body}`;
    // Measured runs of ~1 ms on each clock: the estimates of the slow maps are small...
    expect((await run(cell('quick', 'host'))).status).toBe('ok');
    expect((await run(cell('quick', 'lambda'))).status).toBe('ok');
    events.length = 0;
    // ...but each slow element is ~150 ms of CPU = ~2.1 s on a 128 MB Lambda = ~$4.4e-6 (~$3.2e-7 on the host's clock).
    expect((await run(cell('slow', 'host', ' --budget 0.000009'))).status).toBe('ok');
    expect(finished()).toHaveLength(6);
    events.length = 0;
    const outcome = await run(cell('slow', 'lambda', ' --budget 0.000009'));
    expect(outcome.status).toBe('error');
    const ran = finished();
    expect(ran.length).toBeGreaterThanOrEqual(2);
    expect(ran.length).toBeLessThan(6);
    const end = events.find((e) => e.type === 'run-finished');
    expect(end?.type === 'run-finished' && end.status).toBe('budget-stopped');
  }, 60_000);
});

describe('--dry-run at a memory size never run', () => {
  it('is modelled from a run at another size, within 20% of the measured cost and duration', async () => {
    await run('const four = [1, 2, 3, 4];');
    const body = `await new Promise((resolve) => setTimeout(resolve, 100));\n${busy(150)}`;
    const cell = (memory: number, dry: boolean): string =>
      `%%serverless --map four --as n --concurrency 1 --memory ${memory}${dry ? ' --dry-run' : ''}\n${body}`;
    expect((await run(cell(1024, false))).status).toBe('ok');
    kernel.clearStdout();
    await run(cell(256, true));
    const line =
      /Estimate: 4 invocations x 256 MB, ~([\d.]+) s at concurrency 1, \$([\d.]+) \(modelled: /.exec(
        kernel.stdout(),
      );
    expect(line).not.toBeNull();
    expect(kernel.stdout()).toMatch(/from 4 earlier invocations at 1024 MB/);
    const [estimatedS, estimatedUsd] = [Number(line?.[1]), Number(line?.[2])];
    events.length = 0;
    expect((await run(cell(256, false))).status).toBe('ok');
    const measuredMs = finished().reduce((sum, e) => sum + e.billedMs, 0);
    const measuredUsd = finished().reduce((sum, e) => sum + e.bill.totalUsd - e.bill.initUsd, 0);
    expect(estimatedS * 1000).toBeGreaterThan(measuredMs * 0.8);
    expect(estimatedS * 1000).toBeLessThan(measuredMs * 1.2);
    expect(estimatedUsd).toBeGreaterThan(measuredUsd * 0.8);
    expect(estimatedUsd).toBeLessThan(measuredUsd * 1.2);
  }, 60_000);
});
