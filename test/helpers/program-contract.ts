/**
 * The behaviour every entry point over runtime/program must show, whatever
 * carries the invocation: a shipped cell's value, declarations, output and
 * events; values that keep their types; fresh captures; errors as the
 * program threw them; results that cannot travel; output owned by the
 * invocation that wrote it. Run against the local worker (a process behind
 * its fd 3 channel) and in-process (as a Lambda handler runs it) by
 * test/unit/program-contract.test.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';

import { DEFAULT_ELEMENT_NAME, LIMITS } from '../../kernel-magics/src/magics/options';
import { planRun } from '../../kernel-magics/src/plan/plan';
import {
  AttemptOutcome,
  InvocationEvent,
  InvocationObserver,
  InvocationRequest,
  ProgramResult,
} from '../../kernel-magics/src/runtime/backend';

/** Runs one invocation's program and says how it ended. */
export interface ProgramExecutor {
  run(request: InvocationRequest, observer: InvocationObserver): Promise<AttemptOutcome>;
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

let sequence = 0;

/** A request whose program is `body` inside `async (c, e, require) => { ... }` (c: captures, e: element). */
function request(body: string, dir: string, captures: Record<string, unknown> = {}, element?: unknown) {
  sequence += 1;
  const source = `(async (c, e, require) => {\n${body}\n})`;
  const bytes = serialize(captures);
  return {
    id: `contract-${sequence}`,
    runId: 'run-contract',
    program: { hash: sha256(source), source, filename: `contract-${sha256(source).slice(0, 8)}.js` },
    captures: { hash: sha256(bytes), bytes },
    element: element === undefined ? undefined : serialize(element),
    memoryMb: 256,
    timeoutS: 20,
    retries: 0,
    cwd: dir,
  } satisfies InvocationRequest;
}

const returning = (expression: string): string =>
  `return { hasValue: true, value: (${expression}), exports: {} };`;

function resultOf(outcome: AttemptOutcome): ProgramResult {
  if (outcome.status !== 'ok') {
    throw new Error(`expected ok, got ${JSON.stringify(outcome)}`);
  }
  return deserialize(outcome.result) as ProgramResult;
}

function errorOf(outcome: AttemptOutcome): { name: string; message: string; stack: string } {
  if (outcome.status !== 'error') {
    throw new Error(`expected error, got ${JSON.stringify(outcome)}`);
  }
  return outcome.error;
}

/** toString, not instanceof: values built in another realm than jest's. */
const kind = (x: unknown): string => Object.prototype.toString.call(x);

/** Registers the contract's tests for the executor `make()` gives (made in beforeAll, ended in afterAll). */
export function programContract(make: () => Promise<ProgramExecutor & { dispose(): Promise<void> }>): void {
  let executor: ProgramExecutor & { dispose(): Promise<void> };
  let dir = '';
  beforeAll(async () => {
    executor = await make();
  });
  afterAll(async () => {
    await executor?.dispose();
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'jsl-contract-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a shipped cell: captures, the element, its value, its declarations, output, displays, events', async () => {
    const body = [
      "import { display, emitEvent } from 'serverless-kernel';",
      'const scaled = weights.map((w) => w * item);',
      "console.log('scaled', scaled.length);",
      "display.html('<i>shown</i>');",
      "emitEvent('progress', { done: item });",
      'scaled.reduce((a, b) => a + b, 0)',
    ].join('\n');
    const plan = planRun({
      ...cellInput(dir, body, { weights: [1, 2, 3.5] }),
      options: { ...cellInput(dir, body, {}).options, map: '[3]' },
      label: '%%serverless --map [3]',
      elements: [3],
    });
    const seen: string[] = [];
    const events: InvocationEvent[] = [];
    const outcome = await executor.run(plan.requests[0], {
      onStream: (name, text) => seen.push(`${name}:${text}`),
      onDisplay: (data) => seen.push(`display:${String(data['text/html'])}`),
      onEvent: (event) => events.push(event),
    });
    expect(resultOf(outcome)).toMatchObject({ hasValue: true, value: 19.5 });
    expect(seen).toEqual(['stdout:scaled 3\n', 'display:<i>shown</i>']);
    expect(events).toEqual([{ type: 'progress', data: { done: 3 } }]);

    const single = planRun(
      cellInput(dir, 'const total = base + 1;\nlet label = `n=${total}`;', { base: 41 }),
    );
    const declared = resultOf(await executor.run(single.requests[0], {}));
    expect(declared).toMatchObject({ hasValue: false, exports: { total: 42, label: 'n=42' } });
  });

  it('round-trips values with typed arrays intact, from captures and the element', async () => {
    const outcome = await executor.run(
      request(
        returning(
          `{ scaled: new Float64Array(c.data.map((v) => v * e)), bytes: c.bytes.subarray(1), ` +
            `map: new Map([['k', new Int32Array([e])]]) }`,
        ),
        dir,
        { data: [1.5, 2, 3], bytes: new Uint8Array([9, 8, 7]) },
        10,
      ),
      {},
    );
    const value = resultOf(outcome).value as {
      scaled: Float64Array;
      bytes: Uint8Array;
      map: Map<string, Int32Array>;
    };
    expect(kind(value.scaled)).toBe('[object Float64Array]');
    expect([...value.scaled]).toEqual([15, 20, 30]);
    expect(kind(value.bytes)).toBe('[object Uint8Array]');
    expect([...value.bytes]).toEqual([8, 7]);
    expect(kind(value.map.get('k'))).toBe('[object Int32Array]');
    expect([...(value.map.get('k') as Int32Array)]).toEqual([10]);
  });

  it('gives every invocation fresh captures: mutations do not leak into the next', async () => {
    const values: unknown[] = [];
    for (const element of [1, 2, 3]) {
      const outcome = await executor.run(
        request(`c.list.push(e); ${returning('c.list')}`, dir, { list: ['kept'] }, element),
        {},
      );
      values.push(resultOf(outcome).value);
    }
    expect(values).toEqual([
      ['kept', 1],
      ['kept', 2],
      ['kept', 3],
    ]);
  });

  it("returns an error as the program threw it, its stack naming the program's file", async () => {
    const req = request("const x = 1;\nthrow new TypeError('bad input ' + x);", dir);
    const error = errorOf(await executor.run(req, {}));
    expect(error).toMatchObject({ name: 'TypeError', message: 'bad input 1' });
    expect(error.stack).toContain(`${req.program.filename}:3:`);
    // The environment serves the next invocation after a program error.
    expect(resultOf(await executor.run(request(returning('1'), dir), {})).value).toBe(1);
  });

  it('turns a thrown non-Error into an Error named "Error"', async () => {
    const thrown = errorOf(await executor.run(request('throw { toString: () => "plain object" };', dir), {}));
    expect(thrown).toMatchObject({
      name: 'Error',
      message: 'plain object',
      inspected: '{ toString: [Function: toString] }',
    });
    expect(errorOf(await executor.run(request('throw 42;', dir), {}))).toMatchObject({
      message: '42',
      inspected: '42',
    });
  });

  it('refuses a value that cannot be sent back, naming the part at fault; leaves out such declarations', async () => {
    const fn = errorOf(await executor.run(request(returning('() => 1'), dir), {}));
    expect(fn.message).toMatch(
      /The cell's value cannot be sent back to the kernel: the cell's value is a function/,
    );
    const nested = errorOf(
      await executor.run(request(returning('{ ok: [1, 2], model: { fit() {} } }'), dir), {}),
    );
    expect(nested.message).toContain("the cell's value.model.fit is a function");
    const exported = await executor.run(
      request('return { hasValue: true, value: 1, exports: { n: 2, f: () => 1, w: new WeakMap() } };', dir),
      {},
    );
    expect(resultOf(exported)).toEqual({ hasValue: true, value: 1, exports: { n: 2 }, notReturned: ['w'] });
  });

  it('refuses a class instance in the value, naming where it is and its class; leaves out such declarations', async () => {
    const cls = 'class Pt { constructor(x) { this.x = x; } norm() { return this.x; } }\n';
    const direct = errorOf(await executor.run(request(`${cls}${returning('new Pt(1)')}`, dir), {}));
    expect(direct).toMatchObject({ name: 'ResultNotSerializable' });
    expect(direct.message).toMatch(
      /The cell's value cannot be sent back to the kernel: the cell's value is an instance of class Pt, and only its data would arrive/,
    );
    const nested = errorOf(
      await executor.run(request(`${cls}${returning('{ points: [new Pt(1)] }')}`, dir), {}),
    );
    expect(nested.message).toContain("the cell's value.points[0] is an instance of class Pt");
    const exported = await executor.run(
      request(`${cls}return { hasValue: true, value: 1, exports: { n: 2, p: new Pt(3), f: () => 1 } };`, dir),
      {},
    );
    expect(resultOf(exported)).toEqual({ hasValue: true, value: 1, exports: { n: 2 }, notReturned: ['p'] });
    // Built-in types are data, not class instances.
    const builtins = resultOf(
      await executor.run(
        request(
          returning(
            "{ d: new Date(0), re: /x/g, err: new RangeError('r'), set: new Set([1]), b: Buffer.from('hi'), " +
              'bare: Object.assign(Object.create(null), { k: 1 }), boxed: Object(2) }',
          ),
          dir,
        ),
        {},
      ),
    ).value as Record<string, unknown>;
    expect(kind(builtins.d)).toBe('[object Date]');
    expect(kind(builtins.re)).toBe('[object RegExp]');
    expect(kind(builtins.err)).toBe('[object Error]');
    expect((builtins.err as Error).name).toBe('RangeError');
    expect(kind(builtins.set)).toBe('[object Set]');
    expect([...(builtins.b as Uint8Array)]).toEqual([104, 105]);
    expect({ ...(builtins.bare as object) }).toEqual({ k: 1 });
  });

  it('streams output while the program runs, then displays, clears and events, all before it ends', async () => {
    // Told to go on over loopback (a sandboxed program sees none of the test's files).
    let early = false;
    const server = createServer((_req, res) => res.end(early ? 'go' : 'wait'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const go = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const seen: string[] = [];
    const body = [
      "console.log('early');",
      // Goes on only once the test has seen 'early': proof that output streams during the run.
      'let told = false;',
      "for (let i = 0; i < 500 && !told; i++) { told = (await (await fetch(c.go)).text()) === 'go'; if (!told) await new Promise((r) => setTimeout(r, 10)); }",
      "if (!told) throw new Error('output did not stream');",
      "process.stderr.write('two\\n');",
      "const { display, emitEvent } = require('serverless-kernel');",
      "display.html('<b>x</b>');",
      'display.clear();',
      'display.clear(true);',
      'display.clear({ wait: true });',
      "emitEvent('round', { n: 1, bytes: [1, 2] });",
      returning("'done'"),
    ].join('\n');
    const outcome = await executor
      .run(request(body, dir, { go }), {
        onStream: (name, text) => {
          seen.push(`${name}:${text}`);
          if (text.includes('early')) {
            early = true;
          }
        },
        onDisplay: (data) => seen.push(`display:${String(data['text/html'])}`),
        onClear: (wait) => seen.push(`clear:${wait}`),
        onEvent: (event) => seen.push(`event:${JSON.stringify(event)}`),
      })
      .finally(() => server.close());
    seen.push('ended');
    expect(resultOf(outcome).value).toBe('done');
    expect(early).toBe(true);
    expect(seen).toEqual([
      'stdout:early\n',
      'stderr:two\n',
      'display:<b>x</b>',
      'clear:false',
      'clear:true',
      'clear:true',
      'event:{"type":"round","data":{"n":1,"bytes":[1,2]}}',
      'ended',
    ]);
  });

  it('refuses an event whose data is not JSON, in the program that made it', async () => {
    const body =
      "const { emitEvent } = require('serverless-kernel'); const a = {}; a.self = a; emitEvent('x', a);";
    expect(errorOf(await executor.run(request(body, dir), {})).message).toMatch(/circular/i);
  });

  it("does not attribute a finished invocation's late output to the next one", async () => {
    const first: string[] = [];
    const second: string[] = [];
    await executor.run(request(`setTimeout(() => console.log('late'), 100); ${returning('1')}`, dir), {
      onStream: (_name, text) => first.push(text),
    });
    await executor.run(
      request(`await new Promise((r) => setTimeout(r, 400)); console.log('mine'); ${returning('2')}`, dir),
      { onStream: (_name, text) => second.push(text) },
    );
    expect(first).toEqual([]);
    expect(second).toEqual(['mine\n']);
  });
}

/** The plan input of a single invocation of `body` in `dir`, with these kernel variables. */
function cellInput(
  dir: string,
  body: string,
  kernel: Record<string, unknown>,
): Parameters<typeof planRun>[0] {
  return {
    options: {
      backend: 'local',
      memoryMb: 256,
      timeoutS: LIMITS.timeoutS.default,
      concurrency: 1,
      retries: 0,
      maxElements: LIMITS.maxElements.default,
      as: DEFAULT_ELEMENT_NAME,
      dryRun: false,
      cpu: 'host',
    },
    body,
    bodyLine: 1,
    label: '%%serverless',
    kernel,
    sequence: 1,
    cwd: dir,
  };
}
