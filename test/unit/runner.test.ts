/**
 * The kernel's engine with `%%serverless` (real tslab engine, real embedded
 * runtime, no sockets): budgets that stop dispatching once spent, session
 * defaults from `%serverless config`, retry after an interrupt, estimates
 * from measured runs, and telemetry seen by an in-kernel subscriber.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CommRegistry } from '../../kernel-magics/src/kernel/comms';
import { ExecutionOutcome } from '../../kernel-magics/src/kernel/engine';
import { JsonObject, MimeBundle } from '../../kernel-magics/src/kernel/messages';
import { createKernelEngine } from '../../kernel-magics/src/kernel-engine';
import { errorContent } from '../../kernel-magics/src/output/format';
import { ServerlessEngine } from '../../kernel-magics/src/magics/serverless-engine';
import { setOutputSink } from '../../kernel-magics/src/output/sink';
import { LocalBackend } from '../../kernel-magics/src/runtime/local';
import { TelemetryEvent, TelemetryHub } from '../../kernel-magics/src/telemetry';
import { TslabEngine } from '../../kernel-magics/src/tslab';
import { LOCAL_WORKER } from '../helpers/local-runtime';
import { REPO_ROOT } from '../helpers/paths';

const WORKER = LOCAL_WORKER;

let dir: string;
let engine: ServerlessEngine;
let telemetry: TelemetryHub;
let backend: LocalBackend;
const events: TelemetryEvent[] = [];
let stdout = '';
let stderr = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-runner-'));
  setOutputSink({
    stream: (name, text) => {
      if (name === 'stdout') stdout += text;
      else stderr += text;
    },
    display: (_data: MimeBundle, _metadata: JsonObject) => undefined,
    clear: () => undefined,
  });
  ({ engine, telemetry } = createKernelEngine({
    inner: new TslabEngine(dir),
    comms: new CommRegistry(),
    cwd: dir,
    backends: { local: () => (backend = new LocalBackend({ workerPath: WORKER })) },
  }));
  telemetry.subscribe((event) => events.push(event));
});

afterAll(async () => {
  engine.dispose();
  await backend?.dispose();
  setOutputSink(undefined);
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stdout = '';
  stderr = '';
  events.length = 0;
});

async function run(code: string): Promise<ExecutionOutcome> {
  return engine.execute(code);
}

function errorOf(outcome: ExecutionOutcome): Error {
  expect(outcome.status).toBe('error');
  return (outcome as { error: Error }).error;
}

describe('--map expressions and usage errors, before anything is invoked', () => {
  it('reads an expression with spaces and brackets as written, up to the next option', async () => {
    expect(await run('%%serverless --map [1, 2, 3, 4] --as n\nn * 2')).toMatchObject({
      status: 'ok',
      value: [2, 4, 6, 8],
    });
    await run('const someXs = [1, 2, 3, 4, 5];');
    expect(await run('%%serverless --map someXs.filter((x) => x > 2) --as n --out big\nn')).toMatchObject({
      status: 'ok',
      value: [3, 4, 5],
    });
    expect(await run('big.length')).toMatchObject({ status: 'ok', value: 3 });
  }, 30_000);

  it('binds the default element name when the body uses it', async () => {
    expect(await run('%%serverless --map [1, 2]\nitem * 3')).toMatchObject({ status: 'ok', value: [3, 6] });
  }, 30_000);

  it.each([
    [
      '--map [1, 2]\n42',
      /never uses item.*Name the element with --as NAME \(e\.g\. --map \[1, 2\] --as x\)/s,
    ],
    ['--map null --as n\nn', /--map null gave null; it must give an array or another iterable/],
    ['--map undefined --as n\nn', /--map undefined gave undefined/],
    [
      "--map 'text' --as c\nc",
      /--map 'text' gave a string\. --map takes an array or another iterable of elements, and a string would be split into its characters\. To map over the characters, say so: --map \[\.\.\.'text'\]/,
    ],
    ['--map [1] --as class\nclass', /'class' is a reserved word in JavaScript/],
    ['--map [1] --as n --out let\nn', /'let' is a reserved word/],
    [
      '--map [1] --as n --concurrency 2 --concurrency 3\nn',
      /--concurrency is given 2 times \(2, 3\); give it once/,
    ],
    [
      '--map [1, (2] --as n\nn',
      /--map \[1, \(2\] --as n: its '\]' at column 7 does not close the '\(' open there/,
    ],
  ])('%s is refused', async (cell, message) => {
    const error = errorOf(await run(`%%serverless ${cell}`));
    expect(error.name).toBe('MagicUsageError');
    expect(error.message).toMatch(message);
    expect(events.filter((e) => e.type === 'run-started')).toHaveLength(0);
  });
});

describe('results', () => {
  it('--out says on stderr that it replaced a kernel variable, and what it was', async () => {
    await run("const prior = 'old';");
    expect(await run('%%serverless --out prior\n1 + 1')).toMatchObject({ status: 'ok', value: 2 });
    expect(stderr).toBe('--out prior replaced the kernel variable prior (it was string).\n');
    expect(await run('prior')).toMatchObject({ status: 'ok', value: 2 });
    stderr = '';
    await run('%%serverless --out brandNew\n3');
    expect(stderr).toBe('');
  }, 30_000);

  it('maps an error on the last line (the cell’s value) to its own column', async () => {
    const error = errorOf(
      await run(
        "%%serverless\nfunction fail(): number {\n  throw new Error('boom');\n}\nconst n = 1;\nn + fail()",
      ),
    );
    expect(error.message).toBe('boom');
    // Line 1 is the magic: `throw` is at 3:9, the call `fail()` at 6:5.
    expect(error.stack).toMatch(/at fail \(<cell>:3:9\)\n\s+at <cell>:6:5\n/);
  }, 30_000);
});

describe('kernel variables as shorthand properties', () => {
  it('are captured by a body, and what comes back reads as shorthand in later cells', async () => {
    await run('const shortSeed = 5;');
    // In a --map body and in a single run; nested, and in a returned object.
    expect(await run('%%serverless --map [1, 2] --as n\n({ shortSeed, n })')).toMatchObject({
      status: 'ok',
      value: [
        { shortSeed: 5, n: 1 },
        { shortSeed: 5, n: 2 },
      ],
    });
    expect(
      await run(
        '%%serverless\nconst packed = { outer: { shortSeed } };\n(() => ({ shortSeed }))().shortSeed * 2',
      ),
    ).toMatchObject({ status: 'ok', value: 10 });
    // `packed` is a kernel variable now (declared by the kernel after the run).
    expect(await run('JSON.stringify({ packed, shortSeed })')).toMatchObject({
      status: 'ok',
      value: '{"packed":{"outer":{"shortSeed":5}},"shortSeed":5}',
    });
  }, 30_000);
});

describe('a thrown value that is not an Error', () => {
  it('shows as an ordinary cell shows it, in a single run and in a map’s failure list', async () => {
    const ordinary = errorContent(errorOf(await run('throw { a: 1 };')));
    expect(ordinary).toEqual({ ename: 'Uncaught', evalue: '{ a: 1 }', traceback: ['Uncaught { a: 1 }'] });
    const remote = errorContent(errorOf(await run('%%serverless\nthrow { a: 1 };')));
    expect(remote).toMatchObject({ ename: ordinary.ename, evalue: ordinary.evalue });
    expect(remote.traceback[0]).toBe(ordinary.traceback[0]);
    expect(remote.traceback[1]).toMatch(/^ {4}at invocation \w+ in /);
    errorOf(await run("%%serverless --map [1, 2] --as n\nif (n === 2) throw ['no', n];\nn"));
    expect(stderr).toContain("[1] Uncaught [ 'no', 2 ]");
  }, 30_000);
});

describe('line magics', () => {
  it('parse their arguments one way: unknown ones are refused, --help shows each command’s options', async () => {
    expect(errorOf(await run('%serverless status --verbose')).message).toMatch(
      /^%serverless status: unknown option '--verbose'/,
    );
    expect(errorOf(await run('%serverless cost extra')).message).toMatch(
      /^%serverless cost: too many arguments/,
    );
    expect((await run('%serverless config --help')).status).toBe('ok');
    expect(stdout).toMatch(/Usage: %serverless config \[options\][\s\S]*--memory <MB>[\s\S]*--reset/);
    stdout = '';
    await run('%serverless help');
    expect(stdout).toMatch(/^%serverless <command>\n {2}config \[--backend <name>\] \[--memory <MB>\]/);
    expect(stdout).toMatch(/\n {2}retry\n {6}re-run only the failed elements/);
    stdout = '';
    await run('%%serverless\n1');
    await run('%serverless status');
    expect(stdout).toMatch(/\n {2}isolation: each environment in a sandbox \(bubblewrap/);
  });
});

describe('budgets', () => {
  it('stops dispatching once a run has spent its budget', async () => {
    const body = 'await new Promise((resolve) => setTimeout(resolve, ms));\nms';
    await run('const quick = [1, 1, 1, 1];\nconst slow = Array.from({ length: 20 }, () => 400);');
    // Measured runs of this body take ~1 ms, so the estimate for 20 is small...
    expect((await run(`%%serverless --map quick --as ms\n${body}`)).status).toBe('ok');
    events.length = 0;
    // ...but each of these costs ~0.4 s x 1 GB = $6.7e-6: a $1.5e-5 budget lasts ~2 of 20.
    const outcome = await run(`%%serverless --map slow --as ms --concurrency 1 --budget 0.000015\n${body}`);
    const error = errorOf(outcome);
    expect(error.name).toBe('BudgetSpentError');
    const finished = events.filter((e) => e.type === 'invocation-finished');
    expect(finished.length).toBeGreaterThanOrEqual(2);
    expect(finished.length).toBeLessThan(6);
    const runEnd = events.find((e) => e.type === 'run-finished');
    expect(runEnd?.type === 'run-finished' && runEnd.status).toBe('budget-stopped');
    // The elements that never ran are the ones retry would run.
    expect(error.message).toMatch(/elements failed/);
  }, 60_000);
});

describe('estimates', () => {
  it('--dry-run uses measured durations of the same body, else the timeout-bounded worst case', async () => {
    await run('%%serverless --dry-run --timeout 30\n40 + 2');
    expect(stdout).toMatch(/worst case: every invocation runs its full --timeout of 30 s/);
    stdout = '';
    await run('%%serverless --timeout 30\n40 + 2');
    await run('%%serverless --dry-run --timeout 30\n40 + 2');
    expect(stdout).toMatch(/measured: median [\d.]+ ms over 1 earlier invocation of this body/);
    expect(events.filter((e) => e.type === 'run-started')).toHaveLength(1);
  }, 30_000);
});

describe('%serverless config', () => {
  it('sets this kernel’s defaults, which a cell’s own options override, and rejects bad ones', async () => {
    expect((await run('%serverless config --memory 256 --timeout 5')).status).toBe('ok');
    expect(stdout).toMatch(/--memory 256 --timeout 5/);
    await run('%%serverless\nprocess.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE');
    const started = events.find((e) => e.type === 'invocation-started');
    expect(started?.type === 'invocation-started' && started.memoryMb).toBe(256);
    events.length = 0;
    const own = await run('%%serverless --memory 512\nprocess.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE');
    expect(own).toMatchObject({ status: 'ok', value: '512' });
    expect(errorOf(await run('%serverless config --map xs')).message).toMatch(/--map cannot be a default/);
    expect(errorOf(await run('%serverless config --memory 99')).message).toMatch(
      /--memory must be a whole number/,
    );
    await run('%serverless config --reset');
    expect(stdout).toMatch(/--memory 1024 --timeout 60/);
  }, 30_000);
});

describe('the output cap per invocation', () => {
  const MB = 1024 * 1024;

  it('keeps the first MB of each invocation and says how much it dropped, once per invocation', async () => {
    const outcome = await run(
      '%%serverless --map [0, 1] --as i --output-cap 1\n' +
        "for (let k = 0; k < 3; k++) console.log('x'.repeat(512 * 1024 - 1));\ni",
    );
    expect(outcome).toMatchObject({ status: 'ok', value: [0, 1] });
    expect(stdout.length).toBeGreaterThanOrEqual(2 * MB);
    expect(stdout.length).toBeLessThanOrEqual(2 * MB + 2);
    const notices = stderr.split('\n').filter((line) => line.startsWith('...'));
    expect(notices.sort()).toEqual([
      '... 0.5 MB of output dropped from element 0 (cap 1 MB per invocation; raise with --output-cap MB or %serverless config --output-cap MB)',
      '... 0.5 MB of output dropped from element 1 (cap 1 MB per invocation; raise with --output-cap MB or %serverless config --output-cap MB)',
    ]);
  }, 60_000);

  it('caps 20 MB of stdout at the default, a few MB, and takes the cap from %serverless config', async () => {
    await run(
      "%%serverless\nconst line = 'y'.repeat(1023);\nfor (let k = 0; k < 20 * 1024; k++) console.log(line);",
    );
    expect(stdout.length).toBe(5 * MB);
    expect(stderr).toContain('... 15 MB of output dropped from the invocation (cap 5 MB per invocation;');
    stdout = '';
    stderr = '';
    await run('%serverless config --output-cap 2');
    stdout = '';
    await run("%%serverless\nconsole.log('z'.repeat(3 * 1024 * 1024 - 1))");
    // Cut at the cap, and ended with a newline so the notice starts a line.
    expect(stdout.length).toBe(2 * MB + 1);
    expect(stderr).toContain('... 1.0 MB of output dropped from the invocation (cap 2 MB per invocation;');
    await run('%serverless config --reset');
    expect(errorOf(await run('%%serverless --output-cap 0\n1')).message).toMatch(
      /--output-cap must be a whole number from 1 to 1024/,
    );
  }, 60_000);
});

describe('interrupts', () => {
  it('cancels a long map quickly and %serverless retry finishes only the unfinished elements', async () => {
    await run('const waits = [0, 0, 0, 0, 2000, 2000];');
    const body =
      '%%serverless --map waits --as w --concurrency 6 --out done\nawait new Promise((r) => setTimeout(r, w));\nw';
    const pending = run(body);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const interruptedAt = Date.now();
    engine.interrupt();
    const outcome = await pending;
    // Reading all 10,000,000 elements takes minutes: ending within seconds is the interrupt at work (how
    // soon it ends on an idle machine is bench/runtime's to measure, not a test's on a loaded one).
    expect(Date.now() - interruptedAt).toBeLessThan(5000);
    expect(outcome.status).toBe('interrupted');
    expect(stderr).toMatch(/2 element\(s\) did not finish/);
    events.length = 0;
    await run('const again = 1;');
    const retried = await run('%serverless retry');
    if (retried.status === 'error') throw retried.error;
    expect(retried).toMatchObject({ status: 'ok', value: [0, 0, 0, 0, 2000, 2000] });
    expect(events.filter((e) => e.type === 'invocation-queued')).toHaveLength(2);
    expect(backend.status()).toMatchObject({ running: 0, queued: 0 });
  }, 60_000);
});

describe('class instances', () => {
  it('are refused before anything is invoked, naming the variable and the class; the class itself travels as code', async () => {
    await run(
      'class Pt { constructor(public x: number, public y: number) {} norm() { return Math.hypot(this.x, this.y); } }\n' +
        'const p = new Pt(3, 4);\nconst pts = { list: [new Pt(1, 1)] };',
    );
    const refused = errorOf(await run('%%serverless\np.norm()'));
    expect(refused.name).toBe('CaptureError');
    expect(refused.message).toMatch(/'p'.*p is an instance of class Pt.*Pt itself travels as code/);
    expect(errorOf(await run('%%serverless\npts.list.length')).message).toMatch(
      /pts\.list\[0\] is an instance of class Pt/,
    );
    expect(errorOf(await run('%%serverless --map [p] --as q\nq.x')).message).toMatch(
      /element 0 of --map \[p\] is an instance of class Pt/,
    );
    expect(events.filter((e) => e.type === 'run-started')).toHaveLength(0);
    // Built in the cell from the captured class, it works; its data comes back as data.
    expect(await run('%%serverless\nconst q = new Pt(3, 4);\n[q.norm(), q instanceof Pt]')).toMatchObject({
      status: 'ok',
      value: [5, true],
    });
  }, 30_000);

  it('returned are refused, naming the class; declared ones are not brought back, and said so', async () => {
    const returned = errorOf(
      await run('%%serverless\nclass Box { constructor(public v: number) {} }\nnew Box(1)'),
    );
    expect(returned.name).toBe('ResultNotSerializable');
    expect(returned.message).toMatch(/the cell's value is an instance of class Box/);
    expect(
      await run(
        '%%serverless\nclass Bag { constructor(public v: number) {} }\nconst bag = new Bag(2);\nconst n = bag.v;\nn',
      ),
    ).toMatchObject({ status: 'ok', value: 2 });
    expect(stderr).toMatch(/Not brought back to the kernel .*: bag/);
    expect(await run('n')).toMatchObject({ status: 'ok', value: 2 });
  }, 30_000);
});

describe('--map over an iterable', () => {
  it('reads a generator up to --max-elements, and refuses one that goes on past it, before invoking', async () => {
    await run('function* inf() { let i = 0; while (true) yield i++; }');
    expect(await run('%%serverless --map inf() --as n --max-elements 1000\nn')).toMatchObject({
      status: 'error',
      error: {
        name: 'MagicUsageError',
        message: expect.stringMatching(
          /--map inf\(\) gave more than that many elements, over --max-elements 1,000.*Raise --max-elements/,
        ),
      },
    });
    // The default bound holds too.
    const outcome = await run('%%serverless --map inf() --as n\nn');
    expect(errorOf(outcome).message).toMatch(/over --max-elements 100,000/);
    expect(errorOf(await run('%%serverless --map [1, 2, 3] --as n --max-elements 2\nn')).message).toMatch(
      /--map \[1, 2, 3\] gave 3 elements, over --max-elements 2/,
    );
    expect(await run('%%serverless --map new Set([1, 2]) --as n --max-elements 2\nn * 2')).toMatchObject({
      status: 'ok',
      value: [2, 4],
    });
    expect(events.filter((e) => e.type === 'run-started')).toHaveLength(1);
  }, 30_000);

  it('stops reading an endless generator within a second of an interrupt', async () => {
    await run('function* endless() { let i = 0; while (true) yield i++; }');
    const pending = run('%%serverless --map endless() --as n --max-elements 10000000\nn');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const interruptedAt = Date.now();
    engine.interrupt();
    const outcome = await pending;
    // Reading all 10,000,000 elements takes minutes: ending within seconds is the interrupt at work (how
    // soon it ends on an idle machine is bench/runtime's to measure, not a test's on a loaded one).
    expect(Date.now() - interruptedAt).toBeLessThan(5000);
    expect(outcome.status).toBe('interrupted');
    expect(events.filter((e) => e.type === 'run-started')).toHaveLength(0);
  }, 30_000);
});

describe('what ends an environment', () => {
  it("names an error that code a cell left behind threw on that cell's run; the next cell succeeds", async () => {
    const a = await run("%%serverless\nsetTimeout(() => { throw new Error('A-late'); }, 300);\n'a'");
    expect(a).toMatchObject({ status: 'ok', value: 'a' });
    const started = events.find((e) => e.type === 'run-started');
    const runA = started?.type === 'run-started' ? started.runId : undefined;
    expect(runA).toBeDefined();
    // B runs warm in the environment A left its timer in.
    const b = await run("%%serverless\nawait new Promise((r) => setTimeout(r, 1000));\n'b'");
    expect(b).toMatchObject({ status: 'ok', value: 'b' });
    const late = events.filter((e) => e.type === 'invocation-late-error');
    expect(late).toEqual([
      expect.objectContaining({ runId: runA, error: { name: 'Error', message: 'A-late' } }),
    ]);
    // Said where output goes when it happens, naming A's run, at A's line.
    expect(stderr).toMatch(
      /Warning: code that invocation \w+ of %%serverless left running after it returned failed/,
    );
    expect(stderr).toMatch(/Error: A-late\n {4}at (Timeout\.)?.*<cell>:2:/);
  }, 30_000);

  it("warns in a map's own output when an element's leftover code fails while the map runs", async () => {
    const outcome = await run(
      '%%serverless --map [0, 1] --as i --concurrency 1\n' +
        "if (i === 0) setTimeout(() => { throw new Error('late-' + i); }, 200);\n" +
        'else await new Promise((r) => setTimeout(r, 1000));\ni',
    );
    expect(outcome).toMatchObject({ status: 'ok', value: [0, 1] });
    expect(stderr).toMatch(
      /Warning: code that invocation \w+, element 0 of %%serverless --map .* failed.*\nError: late-0/s,
    );
    expect(events.filter((e) => e.type === 'invocation-late-error')).toEqual([
      expect.objectContaining({ index: 0, error: { name: 'Error', message: 'late-0' } }),
    ]);
  }, 30_000);

  it('fails a cell that calls process.exit(0) with ProcessExit at its line, not retried', async () => {
    const error = errorOf(await run('%%serverless --retries 2\nconst x = 1;\nprocess.exit(0);\nx'));
    expect(error.name).toBe('ProcessExit');
    expect(error.message).toMatch(/called process\.exit\(0\)/);
    expect(error.stack).toMatch(/<cell>:3:/);
    expect(events.filter((e) => e.type === 'invocation-finished')).toEqual([
      expect.objectContaining({ status: 'error' }),
    ]);
  }, 30_000);
});

describe('tfjs tensors', () => {
  it('travel as typed arrays (no JSON) and are tensors again in the invocation', async () => {
    // tfjs resolves from the repository (a devDependency), as from a notebook's node_modules.
    const { engine: repoEngine } = createKernelEngine({
      inner: new TslabEngine(REPO_ROOT),
      comms: new CommRegistry(),
      cwd: REPO_ROOT,
      backends: { local: () => new LocalBackend({ workerPath: WORKER }) },
    });
    try {
      const setup = await repoEngine.execute(
        "import * as tf from '@tensorflow/tfjs';\nconst weights = tf.tensor2d([[1, 2], [3, 4]]);",
      );
      expect(setup.status).toBe('ok');
      const outcome = await repoEngine.execute(
        '%%serverless\nconst kind = weights.constructor.name;\n[kind, weights.shape, Array.from(weights.mul(2).dataSync())]',
      );
      if (outcome.status === 'error') throw outcome.error;
      expect(outcome).toMatchObject({ status: 'ok', value: ['Tensor', [2, 2], [2, 4, 6, 8]] });
    } finally {
      repoEngine.dispose();
    }
  }, 60_000);
});
