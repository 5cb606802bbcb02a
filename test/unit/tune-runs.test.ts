/**
 * `%%serverless --tune` on the embedded runtime, through the kernel's engine
 * and real worker processes, against brute force: for a CPU-bound, a
 * memory-bound and an I/O-bound body and a map, the cell is also run at
 * every size of the same grid and billed; the tuner's pick must cost within
 * 10% of the cheapest size found so, having run at most a third of brute
 * force's invocations. Out-of-memory sizes are found by running them.
 */
import type { TuneResult } from '../../kernel-magics/src/run/tune';
import { EngineKernel, startEngineKernel } from '../helpers/engine-kernel';

/** The grid every test tunes over (nine sizes: a third of brute force is three runs of the sample). */
const GRID = [128, 256, 384, 512, 768, 1024, 1536, 1769, 3008];

let kernel: EngineKernel;

beforeEach(() => {
  kernel = startEngineKernel();
});

afterEach(async () => {
  await kernel.dispose();
});

/** Tunes `body` (with `options`, after `setup`) over GRID in the test's kernel, and reads the result back. */
async function tune(body: string, options = '', setup = ''): Promise<TuneResult> {
  if (setup) {
    expect((await kernel.run(setup)).status).toBe('ok');
  }
  const outcome = await kernel.run(
    `%%serverless --tune --memory ${GRID.join(',')} --out tuned ${options}\n${body}`,
  );
  expect(outcome).toMatchObject({ status: 'ok' });
  const read = await kernel.run('tuned');
  expect(read.status).toBe('ok');
  return (read as { value: TuneResult }).value;
}

/**
 * Runs `body` at every size of GRID, once each, in a kernel of its own (so
 * each size runs in a fresh environment, as the tuner's did); what each run
 * cost, USD (undefined where it failed).
 */
async function bruteForce(body: string, options = '', setup = ''): Promise<Map<number, number | undefined>> {
  const costs = new Map<number, number | undefined>();
  const own = startEngineKernel();
  try {
    if (setup) {
      expect((await own.run(setup)).status).toBe('ok');
    }
    for (const memoryMb of GRID) {
      own.events.length = 0;
      const outcome = await own.run(`%%serverless --memory ${memoryMb} ${options}\n${body}`);
      const end = own.events.find((e) => e.type === 'run-finished');
      costs.set(
        memoryMb,
        outcome.status === 'ok' && end?.type === 'run-finished' ? end.bill.totalUsd : undefined,
      );
    }
  } finally {
    await own.dispose();
  }
  return costs;
}

/** The tuner's pick costs within 10% of the cheapest size brute force found, with a third of its invocations. */
function expectNearCheapest(result: TuneResult, costs: Map<number, number | undefined>): void {
  const measured = [...costs].filter((entry): entry is [number, number] => entry[1] !== undefined);
  const cheapest = Math.min(...measured.map(([, usd]) => usd));
  expect(result.pick).toBeDefined();
  const picked = costs.get(result.pick ?? -1);
  // What the tuner saw and what brute force measured, to read when it fails.
  const seen = JSON.stringify({ pick: result.pick, rows: result.rows, costs: [...costs] });
  expect({ picked: picked !== undefined && picked <= cheapest * 1.1, seen }).toEqual({ picked: true, seen });
  expect(result.invocations).toBeLessThanOrEqual(result.bruteForceInvocations / 3);
}

describe('%%serverless --tune against brute force over the same grid', () => {
  it('picks for a CPU-bound body, from one run', async () => {
    const body =
      'const start = process.cpuUsage();\nlet spins = 0;\n' +
      'while (process.cpuUsage(start).user + process.cpuUsage(start).system < 1_000_000) spins++;\nspins > 0';
    const result = await tune(body);
    expect(result.goal).toBe('cost');
    expect(result.invocations).toBe(1);
    expect(result.bruteForceInvocations).toBe(GRID.length);
    // Below one vCPU its CPU time costs the same at every size; what is left (INIT) grows with memory.
    expect(result.rows.find((r) => r.memoryMb === 128)?.perInvocationMs).toBeGreaterThan(10_000);
    expect(result.costUsd).toBeGreaterThan(0);
    // The table, the chart and the pick, in the cell.
    const { displays } = kernel;
    expect(String(displays[0]['text/plain'])).toMatch(/^memory\s+how\s+per invocation/);
    expect(String(displays[0]['text/html'])).toContain('jp-serverless-Tune-table');
    const figure = displays[1]['application/vnd.plotly.v1+json'] as { data: { name: string }[] };
    expect(figure.data.map((trace) => trace.name)).toContain('pick (cost)');
    expect(kernel.stdout()).toMatch(new RegExp(`Use --memory ${result.pick}: `));
    expect(kernel.stdout()).toMatch(
      /Tuning ran 1 invocation at 3008 MB \(running every size would take 9\) and cost \$/,
    );
    expectNearCheapest(result, await bruteForce(body));
  }, 180_000);

  it('finds out-of-memory sizes by running them, and picks the smallest size that fits for a memory-bound body', async () => {
    // ~96 MB held while it waits: the cost is memory x time, out of memory at 128 MB. Held in a
    // function, not at the top level, whose declarations would travel back to the kernel.
    const body =
      'async function hold(): Promise<number> {\n  const held: Float64Array[] = [];\n' +
      '  for (let i = 0; i < 12; i++) held.push(new Float64Array(1_000_000).fill(i));\n' +
      '  await new Promise((resolve) => setTimeout(resolve, 400));\n  return held.length;\n}\nawait hold()';
    const result = await tune(body);
    const brute = await bruteForce(body);
    expect(brute.get(128)).toBeUndefined();
    expectNearCheapest(result, brute);
    expect(result.pick).toBeGreaterThanOrEqual(256);
    const small = result.rows.find((r) => r.memoryMb === 128);
    expect(small?.status).toBe('out-of-memory');
    // Found by running a size, not predicted: some size of the grid ran out of memory.
    expect(result.rows.some((r) => r.status === 'out-of-memory' && r.how.endsWith('here'))).toBe(true);
  }, 180_000);

  it('picks the smallest size for an I/O-bound body', async () => {
    const body = 'await new Promise((resolve) => setTimeout(resolve, 300));\n1';
    const result = await tune(body);
    expect(result.pick).toBe(128);
    expectNearCheapest(result, await bruteForce(body));
  }, 180_000);

  it('tunes a map from a sample of its elements', async () => {
    const setup = 'const work = Array.from({ length: 24 }, (_, i) => 40 + (i % 6) * 20);';
    const body =
      'const start = process.cpuUsage();\nlet spins = 0;\n' +
      'while (process.cpuUsage(start).user + process.cpuUsage(start).system < ms * 1000) spins++;\nms';
    const options = '--map work --as ms --concurrency 4';
    const result = await tune(body, options, setup);
    expect(result.bruteForceInvocations).toBe(24 * GRID.length);
    expect(result.invocations).toBeLessThanOrEqual(16);
    expectNearCheapest(result, await bruteForce(body, options, setup));
  }, 300_000);
});

describe('%%serverless --tune goals and deadlines', () => {
  const body =
    'const start = process.cpuUsage();\nlet spins = 0;\n' +
    'while (process.cpuUsage(start).user + process.cpuUsage(start).system < 300_000) spins++;\nspins > 0';

  it('picks a full vCPU for speed', async () => {
    const fast = await tune(body, '--goal speed');
    expect(fast.pick).toBeGreaterThanOrEqual(1769);
    expect(fast.reason).toMatch(/is the fastest/);
  }, 120_000);

  it('meets a deadline at the lowest cost', async () => {
    // 300 ms of CPU and 500 ms of waiting: ~4.6 s at 128 MB, ~2.6 s at 256, ~1.9 s at 384, ~1.5 s at 512 (and
    // INIT); the waiting costs more with more memory, so the smallest size in time is the cheapest.
    const waiting = `${body};\nawait new Promise((resolve) => setTimeout(resolve, 500));`;
    const inTime = await tune(waiting, '--deadline 2.5');
    expect(inTime.pick).toBe(384);
    const row = inTime.rows.find((r) => r.memoryMb === inTime.pick);
    expect(row?.runMs).toBeLessThanOrEqual(2500);
    expect(inTime.rows.find((r) => r.memoryMb === 256)?.runMs).toBeGreaterThan(2500);
    expect(inTime.reason).toMatch(/^384 MB is the cheapest within the deadline of 2\.50 s\.$/);
  }, 120_000);

  it('says when no size meets the deadline, and picks the fastest', async () => {
    const result = await tune(body, '--deadline 0.01');
    expect(result.reason).toMatch(/^No size meets the deadline of 0\.01 s: the fastest, \d+ MB/);
    expect(result.pick).toBeGreaterThanOrEqual(1769);
  }, 120_000);

  it('refuses options that contradict --tune before running anything', async () => {
    for (const [line, message] of [
      ['%%serverless --tune --dry-run', /--tune runs a sample of the body.*--dry-run runs nothing/],
      ['%%serverless --tune --memory 512', /give them as a list \(--memory 128,512,1024\)/],
      ['%%serverless --memory 128,512', /a list of sizes .* is for --tune/],
      ['%%serverless --goal speed', /--goal is an option of --tune/],
      ['%%serverless --tune --map [] --as x', /the --map has no elements, so there is nothing to measure/],
      ['%%serverless --tune --goal fastest', /--goal.*Allowed choices are cost, speed, balanced/],
      [
        '%%serverless --tune --memory 128,99999',
        /memory sizes are whole numbers of MB from 128 to 10240, comma-separated \(e\.g\. 1024,2048\), not 99999/,
      ],
    ] as const) {
      const outcome = await kernel.run(`${line}\n1 + 1`);
      expect(outcome.status).toBe('error');
      expect((outcome as { error: Error }).error.message).toMatch(message);
    }
    const config = await kernel.run('%serverless config --memory 128,512');
    expect(config.status).toBe('error');
    expect((config as { error: Error }).error.message).toMatch(/a list of sizes is for %%serverless --tune/);
    expect(kernel.events.filter((e) => e.type === 'run-started')).toHaveLength(0);
  });
});
