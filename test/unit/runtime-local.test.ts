/**
 * The embedded runtime (`local` backend) with real worker processes, against
 * AWS Lambda's semantics: results and captures, cold and warm starts, pool
 * sizing, idle expiry, memory and time limits, retries of crashes only,
 * cancellation, a clean environment, and no process left behind. What a
 * program does inside its invocation (values, output, errors) is the
 * program contract (program-contract.test.ts). The workers run the build
 * (`npm run build` first); the backend runs from the sources.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { serialize } from 'node:v8';

import {
  AttemptOutcome,
  InvocationObserver,
  InvocationRequest,
  InvocationResult,
  ShippedFiles,
} from '../../kernel-magics/src/runtime/backend';
import { stageFiles } from '../../kernel-magics/src/runtime/files';
import { LocalBackend, LocalBackendOptions } from '../../kernel-magics/src/runtime/local';
import { heapLimitFlags, MAX_HELD_CAPTURES } from '../../kernel-magics/src/runtime/local/config';
import { currentInvocation } from '../../kernel-magics/src/runtime/program/context';
import { DIST_LOCAL, programResult, sha256, useLocalRuntime } from '../helpers/local-runtime';
import { isAlive, processTree, waitFor } from '../helpers/processes';
import { REPO_ROOT } from '../helpers/paths';

const never = new AbortController().signal;

let sequence = 0;
const runtime = useLocalRuntime('jsl-runtime-local-');
const backend = (options?: LocalBackendOptions): LocalBackend => runtime.backend(options);

interface RequestOptions {
  captures?: Record<string, unknown>;
  element?: unknown;
  memoryMb?: number;
  timeoutS?: number;
  retries?: number;
  cwd?: string;
  files?: ShippedFiles;
  store?: string;
  id?: string;
}

/** A request whose program is `body` inside `async (c, e, require) => { ... }` (c: captures, e: element). */
function request(body: string, options: RequestOptions = {}): InvocationRequest {
  sequence += 1;
  const source = `(async (c, e, require) => {\n${body}\n})`;
  const captures = serialize(options.captures ?? {});
  return {
    id: options.id ?? `inv-${sequence}`,
    runId: 'run-test',
    program: { hash: sha256(source), source, filename: `cell-${sha256(source).slice(0, 8)}.js` },
    captures: { hash: sha256(captures), bytes: captures },
    element: options.element === undefined ? undefined : serialize(options.element),
    memoryMb: options.memoryMb ?? 256,
    timeoutS: options.timeoutS ?? 20,
    retries: options.retries ?? 0,
    cwd: options.cwd ?? runtime.tmp,
    files: options.files,
    store: options.store,
  };
}

/** A body that returns `expression` as the value. */
const returning = (expression: string): string =>
  `return { hasValue: true, value: (${expression}), exports: {} };`;
const sleeping = (ms: number): string => `await new Promise((r) => setTimeout(r, ${ms}));`;
/**
 * A crash from outside the program (a signal another process sends, as the
 * OOM killer or a native fault would): the program's own exits are its errors.
 */
const crashing = (signal = 'KILL'): string =>
  `require('node:child_process').execFileSync('kill', ['-${signal}', String(process.pid)])`;

const valueOf = (result: InvocationResult): unknown => programResult(result).value;

function messageOf(outcome: AttemptOutcome): string {
  if (outcome.status === 'ok') {
    throw new Error('expected a failure, got ok');
  }
  return outcome.status === 'error' ? outcome.error.message : outcome.message;
}

describe('results, captures, cold and warm starts', () => {
  it('round-trips values with typed arrays intact, from captures and the element; every attempt fact filled', async () => {
    const local = backend();
    const before = Date.now();
    const result = await local.invoke(
      request(
        returning(
          `{ scaled: new Float64Array(c.data.map((v) => v * e)), bytes: c.bytes.subarray(1), ` +
            `map: new Map([['k', new Int32Array([e])]]) }`,
        ),
        { captures: { data: [1.5, 2, 3], bytes: new Uint8Array([9, 8, 7]) }, element: 10 },
      ),
      {},
      never,
    );
    const value = valueOf(result) as {
      scaled: Float64Array;
      bytes: Uint8Array;
      map: Map<string, Int32Array>;
    };
    // toString, not instanceof: jest's globals are another realm's.
    const kind = (x: unknown): string => Object.prototype.toString.call(x);
    expect(kind(value.scaled)).toBe('[object Float64Array]');
    expect([...value.scaled]).toEqual([15, 20, 30]);
    expect(kind(value.bytes)).toBe('[object Uint8Array]');
    expect([...value.bytes]).toEqual([8, 7]);
    expect(kind(value.map)).toBe('[object Map]');
    expect(kind(value.map.get('k'))).toBe('[object Int32Array]');
    expect([...(value.map.get('k') as Int32Array)]).toEqual([10]);

    expect(result.id).toBe(`inv-${sequence}`);
    expect(result.attempts).toHaveLength(1);
    const [attempt] = result.attempts;
    expect(attempt).toMatchObject({ attempt: 1, cold: true, outcome: { status: 'ok' } });
    expect(attempt.environmentId).toMatch(/\S/);
    expect(attempt.initMs).toBeGreaterThan(0);
    expect(attempt.durationMs).toBeGreaterThanOrEqual(0);
    expect(attempt.durationMs).toBeLessThan(5000);
    expect(attempt.maxMemoryUsedMb).toBeGreaterThan(10);
    expect(attempt.maxMemoryUsedMb).toBeLessThan(256);
    expect(attempt.bytesIn).toBeGreaterThan(0);
    expect(attempt.bytesOut).toBe((result.outcome as { result: Uint8Array }).result.byteLength);
    expect(attempt.startedAt).toBeGreaterThanOrEqual(before);
    expect(attempt.startedAt).toBeLessThanOrEqual(Date.now());
  });

  it("measures the program's CPU time: all of a busy loop's wall time, little of a sleep's", async () => {
    const local = backend();
    const busy = await local.invoke(
      request(
        `const until = Date.now() + 300; let x = 0; while (Date.now() < until) x += 1;\n${returning('x > 0')}`,
      ),
      {},
      never,
    );
    const idle = await local.invoke(request(`${sleeping(300)}\n${returning('true')}`), {}, never);
    const [busyAttempt] = busy.attempts;
    const [idleAttempt] = idle.attempts;
    expect(busyAttempt.durationMs).toBeGreaterThanOrEqual(300);
    expect(idleAttempt.durationMs).toBeGreaterThanOrEqual(300);
    // The loop is on the CPU while it runs (a loaded machine may take some of it away); the sleep is not.
    expect(busyAttempt.cpuMs).toBeGreaterThan(busyAttempt.durationMs * 0.3);
    expect(idleAttempt.cpuMs).toBeLessThan(idleAttempt.durationMs * 0.2);
    expect(idleAttempt.cpuMs).toBeGreaterThanOrEqual(0);
  });

  it('starts cold, then reuses the environment warm, which keeps the program and the captures', async () => {
    const local = backend();
    const captures = { big: 'x'.repeat(20_000) };
    const starts: unknown[] = [];
    const observer: InvocationObserver = { onAttemptStart: (info) => starts.push(info) };
    const cold = await local.invoke(
      request(returning('[process.pid, c.big.length]'), { captures }),
      observer,
      never,
    );
    const warm = await local.invoke(
      request(returning('[process.pid, c.big.length]'), { captures }),
      observer,
      never,
    );
    expect(valueOf(warm)).toEqual(valueOf(cold));
    expect((valueOf(cold) as number[])[1]).toBe(20_000);
    const [first, second] = [cold.attempts[0], warm.attempts[0]];
    expect(first.cold).toBe(true);
    expect(first.initMs).toBeGreaterThan(0);
    expect(second).toMatchObject({ cold: false, initMs: 0, environmentId: first.environmentId });
    expect(starts).toEqual([
      { attempt: 1, environmentId: first.environmentId, cold: true, initMs: first.initMs },
      { attempt: 1, environmentId: first.environmentId, cold: false, initMs: 0 },
    ]);
    // The program and the 20 kB of captures travel once; the warm invocation sends neither.
    expect(first.bytesIn).toBeGreaterThan(20_000);
    expect(second.bytesIn).toBe(0);
    expect(local.status().environments).toEqual([
      { id: first.environmentId, memoryMb: 256, state: 'idle', invocations: 2 },
    ]);
  });

  it('keeps a bounded number of capture sets per environment, and sends one again once dropped', async () => {
    const local = backend({ concurrency: 1 });
    const body = returning('[process.pid, c.n]');
    const run = (n: number): Promise<InvocationResult> =>
      local.invoke(request(body, { captures: { n, pad: 'p'.repeat(5000) } }), {}, never);
    const results: InvocationResult[] = [];
    for (let n = 0; n <= MAX_HELD_CAPTURES + 1; n += 1) {
      results.push(await run(n));
    }
    const again = await run(0);
    const pids = new Set([...results, again].map((r) => (valueOf(r) as number[])[0]));
    expect(pids.size).toBe(1);
    expect(results.map((r) => (valueOf(r) as number[])[1])).toEqual([0, 1, 2, 3, 4, 5]);
    expect((valueOf(again) as number[])[1]).toBe(0);
    // The first capture set was dropped (least recently used): it travels again.
    expect(again.attempts[0].bytesIn).toBeGreaterThan(5000);
    // The latest one is still held.
    const held = await run(MAX_HELD_CAPTURES + 1);
    expect(held.attempts[0].bytesIn).toBe(0);
  });
});

describe('pool', () => {
  it('starts at most maxColdStarts environments at once; waiting invocations take warm ones first', async () => {
    const local = backend({ concurrency: 4, maxColdStarts: 1 });
    let peakStarting = 0;
    const sampler = setInterval(() => {
      const starting = local.status().environments.filter((e) => e.state === 'starting').length;
      peakStarting = Math.max(peakStarting, starting);
    }, 1);
    const body = `${sleeping(30)} ${returning('1')}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => local.invoke(request(body), {}, never)),
    );
    clearInterval(sampler);
    expect(results.every((r) => r.outcome.status === 'ok')).toBe(true);
    expect(peakStarting).toBe(1);
    expect(results.filter((r) => !r.attempts[0].cold).length).toBeGreaterThan(0);
    expect(local.status().environments.length).toBeLessThanOrEqual(4);
  });

  it('runs at most `concurrency` invocations at once, in at most that many environments', async () => {
    const local = backend({ concurrency: 2 });
    let running = 0;
    let peak = 0;
    const startOrder: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        local.invoke(
          request(`const start = Date.now(); ${sleeping(150)} ${returning('[start, Date.now()]')}`, {
            element: i,
          }),
          {
            onAttemptStart: () => {
              startOrder.push(i);
              running += 1;
              peak = Math.max(peak, running);
            },
            onAttemptEnd: () => {
              running -= 1;
            },
          },
          never,
        ),
      ),
    );
    expect(peak).toBe(2);
    // Every invocation started (the order of starts depends on how long each cold start takes).
    expect([...startOrder].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const runs = results.map((r) => valueOf(r) as [number, number]);
    expect(new Set(results.map((r) => r.attempts[0].environmentId)).size).toBe(2);
    // Measured inside the workers: never more than two programs ran at the same moment.
    const overlap = (t: number): number => runs.filter(([start, end]) => start <= t && t < end).length;
    expect(Math.max(...runs.map(([start]) => overlap(start)))).toBeLessThanOrEqual(2);
    expect(local.status()).toMatchObject({ running: 0, queued: 0, concurrencyLimit: 2 });
    expect(local.status().environments).toHaveLength(2);
  });

  it('runs queued invocations first in, first out', async () => {
    const local = backend({ concurrency: 1 });
    const order: number[] = [];
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        local.invoke(request(returning('e'), { element: i }), { onAttemptStart: () => order.push(i) }, never),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map(valueOf)).toEqual([0, 1, 2, 3, 4]);
  });

  it('says in status() whether environments are sandboxed, and why not when they are not', () => {
    // This machine has bubblewrap and user namespaces (scripts/setup.sh installs it).
    expect(backend().status().isolation).toMatch(/^each environment in a sandbox \(bubblewrap/);
    expect(backend({ sandbox: 'off' }).status().isolation).toMatch(
      /^NOT sandboxed: .*\. Environments have a clean environment and die with the kernel/,
    );
  });

  it('reports running and queued invocations and busy environments in status()', async () => {
    const local = backend({ concurrency: 1 });
    const controller = new AbortController();
    let started = false;
    const first = local.invoke(
      request(`${sleeping(5000)} ${returning('1')}`, { memoryMb: 192 }),
      { onAttemptStart: () => (started = true) },
      controller.signal,
    );
    const second = local.invoke(request(returning('2')), {}, controller.signal);
    await waitFor(() => started, 10_000, 'the first invocation to start');
    expect(local.status()).toEqual({
      environments: [{ id: expect.any(String) as string, memoryMb: 192, state: 'busy', invocations: 1 }],
      queued: 1,
      running: 1,
      concurrencyLimit: 1,
      isolation: expect.any(String) as string,
    });
    controller.abort();
    await Promise.all([first, second]);
  });

  it('keeps the number of environments bounded, stopping idle ones of other configurations', async () => {
    const local = backend({ concurrency: 2 });
    // Environments by id: inside a sandbox every worker is PID 2 of its own namespace.
    const envOf = async (memoryMb: number): Promise<string> =>
      (await local.invoke(request(returning('1'), { memoryMb }), {}, never)).attempts[0].environmentId;
    const a = await envOf(200);
    const b = await envOf(300);
    expect(a).not.toBe(b);
    const [pidA] = local.pids();
    // A third configuration at the limit of 2: the least recently used idle environment (a) goes.
    const c = await envOf(400);
    await waitFor(() => !isAlive(pidA), 3000, 'the evicted environment to exit');
    expect(
      local
        .status()
        .environments.map((env) => env.memoryMb)
        .sort(),
    ).toEqual([300, 400]);
    expect(local.pids().filter(isAlive)).toHaveLength(2);
    // Same configuration: warm.
    expect(await envOf(400)).toBe(c);
  });

  it('stops an idle environment after the idle expiry', async () => {
    const local = backend({ idleExpiryMs: 200 });
    await local.invoke(request(returning('1')), {}, never);
    const [pid] = local.pids();
    expect(isAlive(pid)).toBe(true);
    expect(local.status().environments).toHaveLength(1);
    await waitFor(() => !isAlive(pid), 5000, 'the idle environment to expire');
    expect(local.status().environments).toEqual([]);
    // The next invocation is cold again.
    const next = await local.invoke(request(returning('1')), {}, never);
    expect(next.attempts[0].cold).toBe(true);
  });

  it('refuses a concurrency that is not a whole number >= 1', () => {
    const local = backend();
    expect(() => local.setConcurrency(0)).toThrow(RangeError);
    expect(() => local.setConcurrency(1.5)).toThrow(RangeError);
    expect(() => new LocalBackend({ concurrency: -1 })).toThrow(RangeError);
    local.setConcurrency(3);
    expect(local.status().concurrencyLimit).toBe(3);
  });
});

describe('limits and failures', () => {
  it('enforces --memory on resident memory, with a V8 heap flag only above V8’s default limit or without /proc', () => {
    expect(heapLimitFlags(1024, 4096, true)).toEqual([]);
    expect(heapLimitFlags(10240, 4096, true)).toEqual(['--max-old-space-size=10240']);
    expect(heapLimitFlags(1024, 4096, false)).toEqual(['--max-old-space-size=1024']);
  });

  it('fails as out of memory (not retried) when the program allocates well over --memory 128', async () => {
    const local = backend();
    const result = await local.invoke(
      request('const hog = []; for (;;) hog.push(new Array(1e6).fill(hog.length));', {
        memoryMb: 128,
        retries: 2,
      }),
      {},
      never,
    );
    expect(result.outcome.status).toBe('out-of-memory');
    expect(result.attempts).toHaveLength(1);
    expect(messageOf(result.outcome)).toMatch(/128 MB/);
    expect(messageOf(result.outcome)).toMatch(/Raise --memory/);
    await waitFor(() => local.pids().length === 0, 2000, 'the environment to be gone');
  });

  it("kills an invocation at its timeout with Lambda's message (not retried), and the environment with it", async () => {
    const local = backend();
    let pid = 0;
    const started = Date.now();
    const result = await local.invoke(
      request('while (true) {}', { timeoutS: 1, retries: 2 }),
      { onAttemptStart: () => (pid = local.pids()[0] ?? 0) },
      never,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result.outcome.status).toBe('timeout');
    expect(messageOf(result.outcome)).toMatch(/^Task timed out after 1\.00 seconds/);
    expect(result.attempts).toHaveLength(1);
    expect(result.attempts[0].durationMs).toBeGreaterThanOrEqual(1000);
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !isAlive(pid), 2000, 'the timed-out worker to exit');
    expect(local.status().environments).toEqual([]);
  });

  it('does not retry an error thrown by the program; its stack names the program file', async () => {
    const local = backend();
    const req = request("const x = 1;\nthrow new TypeError('bad input ' + x);", { retries: 3 });
    const result = await local.invoke(req, {}, never);
    expect(result.attempts).toHaveLength(1);
    expect(result.outcome.status).toBe('error');
    if (result.outcome.status === 'error') {
      expect(result.outcome.error).toMatchObject({ name: 'TypeError', message: 'bad input 1' });
      expect(result.outcome.error.stack).toContain(`${req.program.filename}:3:`);
    }
    // The environment survives a program error and serves the next invocation warm.
    const next = await local.invoke(request(returning('1')), {}, never);
    expect(next.attempts[0]).toMatchObject({ cold: false, environmentId: result.attempts[0].environmentId });
  });

  it('retries a crash on a fresh environment, with backoff', async () => {
    const local = backend({ retryBaseMs: 50 });
    // The first attempt is told to crash, the next not: environments share nothing but the network.
    let asked = 0;
    const server = createServer((_req, res) => res.end((asked += 1) === 1 ? 'crash' : 'run'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const body =
      `const crash = () => ${crashing()};\n` +
      `if ((await (await fetch('http://127.0.0.1:${port}/')).text()) === 'crash') crash();\n` +
      returning("'second time lucky'");
    const result = await local.invoke(request(body, { retries: 2 }), {}, never).finally(() => server.close());
    expect(result.attempts.map((a) => a.outcome.status)).toEqual(['crashed', 'ok']);
    // The backend says which attempts it retries after.
    expect(result.attempts.map((a) => a.willRetry)).toEqual([true, false]);
    expect(valueOf(result)).toBe('second time lucky');
    expect(messageOf(result.attempts[0].outcome)).toMatch(/signal SIGKILL/);
    expect(result.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(result.attempts[1].environmentId).not.toBe(result.attempts[0].environmentId);
    expect(result.attempts[1].cold).toBe(true);
    // Backoff: the retry started at least half the base delay after the crash (equal jitter).
    expect(result.attempts[1].startedAt - result.attempts[0].startedAt).toBeGreaterThanOrEqual(25);
  });

  it('counts an environment that dies while starting, its invocation already sent, as a crashed attempt: retried within bounds, never requeued', async () => {
    const broken = path.join(runtime.tmp, 'broken-worker.js');
    writeFileSync(broken, "process.stderr.write('cannot start\\n'); process.exit(7);");
    const local = backend({ workerPath: broken, retryBaseMs: 10 });
    const result = await local.invoke(request(returning('1'), { retries: 2 }), {}, never);
    expect(result.outcome.status).toBe('crashed');
    expect(result.attempts.map((a) => [a.attempt, a.cold, a.willRetry])).toEqual([
      [1, true, true],
      [2, true, true],
      [3, true, false],
    ]);
    expect(messageOf(result.outcome)).toMatch(/did not start.*code 7.*cannot start/s);
    expect(local.status()).toMatchObject({ queued: 0, running: 0, environments: [] });
  });

  it('reports a crash at once with --retries 0', async () => {
    const local = backend();
    const result = await local.invoke(request(`${crashing('SEGV')}; ${sleeping(10_000)}`), {}, never);
    expect(result.attempts).toHaveLength(1);
    expect(result.outcome.status).toBe('crashed');
    expect(messageOf(result.outcome)).toMatch(/SIGSEGV/);
  });

  it.each([
    [
      'an uncaught exception of its timer',
      "setTimeout(() => { throw new RangeError('own-late'); }, 10);",
      'RangeError',
    ],
    ['an unhandled rejection', "Promise.reject(new SyntaxError('own-late'));", 'SyntaxError'],
  ])(
    'fails an invocation with %s while it runs as the error thrown (name, message, stack), not retried; the environment is replaced',
    async (_what, statement, name) => {
      const local = backend({ retryBaseMs: 10 });
      const req = request(`${statement}\n${sleeping(5_000)}`, { retries: 2 });
      const started = Date.now();
      const result = await local.invoke(req, {}, never);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(result.attempts).toHaveLength(1);
      expect(result.outcome).toMatchObject({ status: 'error', error: { name, message: 'own-late' } });
      if (result.outcome.status === 'error') {
        expect(result.outcome.error.stack).toContain(`${req.program.filename}:2:`);
      }
      const next = await local.invoke(request(returning('1')), {}, never);
      expect(next.attempts[0].cold).toBe(true);
    },
  );

  it('reports code an invocation left behind that throws after it returned on that invocation, not on the next one', async () => {
    const local = backend({ concurrency: 1, retryBaseMs: 10 });
    const late: { id: string; name: string; message: string; environmentId: string }[] = [];
    const observer = (id: string): InvocationObserver => ({
      onLateError: ({ error, environmentId }) =>
        late.push({ id, name: error.name, message: error.message, environmentId }),
    });
    const a = request(`setTimeout(() => { throw new Error('A-late'); }, 300);\n${returning("'a'")}`, {
      retries: 2,
    });
    const first = await local.invoke(a, observer(a.id), never);
    expect(first.outcome.status).toBe('ok');
    // The next invocation runs warm in the same environment when A's timer fires under it.
    const b = request(`${sleeping(1_000)}\n${returning("'b'")}`, { retries: 2 });
    const second = await local.invoke(b, observer(b.id), never);
    expect(late).toEqual([
      { id: a.id, name: 'Error', message: 'A-late', environmentId: first.attempts[0].environmentId },
    ]);
    // B did not fail by itself: its attempt there is a crash that names A's error, and is retried.
    expect(second.attempts.map((r) => r.outcome.status)).toEqual(['crashed', 'ok']);
    expect(second.attempts[0].environmentId).toBe(first.attempts[0].environmentId);
    expect(messageOf(second.attempts[0].outcome)).toMatch(/earlier invocation.*Error: A-late/);
    expect(valueOf(second)).toBe('b');
  });

  it('reports code left behind that throws while its environment is idle, and replaces the environment', async () => {
    const local = backend();
    const late: string[] = [];
    const a = request(`setTimeout(() => { throw new Error('idle-late'); }, 50);\n${returning('1')}`);
    const first = await local.invoke(a, { onLateError: ({ error }) => late.push(error.message) }, never);
    expect(first.outcome.status).toBe('ok');
    await waitFor(() => late.length > 0, 3_000, 'the late error');
    expect(late).toEqual(['idle-late']);
    await waitFor(() => local.status().environments.length === 0, 3_000, 'the environment to go');
    const next = await local.invoke(request(returning('2')), {}, never);
    expect(next.attempts[0].cold).toBe(true);
  });

  it.each([
    ['process.exit(0)', 'process.exit(0);', 'ProcessExit', /process\.exit\(0\)/],
    ['process.exit(3)', 'process.exit(3);', 'ProcessExit', /process\.exit\(3\)/],
    ['a self-kill', "process.kill(process.pid, 'SIGKILL');", 'ProcessKilled', /SIGKILL to its own process/],
    ['process.abort()', 'process.abort();', 'ProcessKilled', /process\.abort\(\)/],
  ])('treats %s in the body as its error, not retried', async (_what, statement, name, message) => {
    const local = backend({ retryBaseMs: 10 });
    const req = request(`const x = 1;\n${statement}\n${returning("'unreachable'")}`, { retries: 2 });
    const result = await local.invoke(req, {}, never);
    expect(result.attempts).toHaveLength(1);
    expect(result.outcome).toMatchObject({ status: 'error', error: { name } });
    expect(messageOf(result.outcome)).toMatch(message);
    if (result.outcome.status === 'error') {
      // The stack points at the call in the program.
      expect(result.outcome.error.stack).toContain(`${req.program.filename}:3:`);
    }
  });

  it("shows Node's error line when a worker dies of an error it did not report", async () => {
    const local = backend();
    // Written as Node writes an uncaught error, then a crash from outside.
    const result = await local.invoke(
      request(
        "require('node:fs').writeSync(2, 'file:1\\n  throw x\\n\\nTypeError: the cause\\n    at f (file:1:1)\\n    at g (file:2:2)\\n\\nNode.js v20.0.0\\n');\n" +
          `${crashing()};\n${sleeping(5_000)}`,
      ),
      {},
      never,
    );
    expect(result.outcome.status).toBe('crashed');
    expect(messageOf(result.outcome)).toMatch(/TypeError: the cause \| at f \(file:1:1\) \| at g/);
    expect(messageOf(result.outcome)).not.toMatch(/Node\.js v/);
  });

  it('treats a worker that lost its channel to the kernel (fd 3) as crashed', async () => {
    const local = backend();
    const started = Date.now();
    const result = await local.invoke(
      request(`require('node:fs').closeSync(3); ${sleeping(10_000)}`),
      {},
      never,
    );
    expect(result.outcome.status).toBe('crashed');
    expect(messageOf(result.outcome)).toMatch(/lost its channel to the kernel/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('treats a worker that writes garbage on its channel as crashed, and goes on', async () => {
    const local = backend();
    const result = await local.invoke(
      request(`require('node:fs').writeSync(3, Buffer.from([4, 0, 0, 0, 9, 9, 9, 9])); ${sleeping(10_000)}`),
      {},
      never,
    );
    expect(result.outcome.status).toBe('crashed');
    expect(messageOf(result.outcome)).toMatch(/channel to the kernel/);
    expect(valueOf(await local.invoke(request(returning('1')), {}, never))).toBe(1);
  });
});

describe('cancellation and dispose', () => {
  it('cancels a queued invocation at once and a running one (killing its worker) well under a second', async () => {
    const local = backend({ concurrency: 1 });
    const runningCtl = new AbortController();
    const queuedCtl = new AbortController();
    let pid = 0;
    const running = local.invoke(
      request(`${sleeping(10_000)} ${returning('1')}`),
      { onAttemptStart: () => (pid = local.pids()[0] ?? 0) },
      runningCtl.signal,
    );
    const queued = local.invoke(request(returning('2')), {}, queuedCtl.signal);
    await waitFor(() => pid > 0, 10_000, 'the first invocation to start');
    expect(local.status()).toMatchObject({ running: 1, queued: 1 });

    let t = Date.now();
    queuedCtl.abort();
    expect(await queued).toMatchObject({ attempts: [], outcome: { status: 'cancelled' } });
    expect(Date.now() - t).toBeLessThan(100);
    expect(isAlive(pid)).toBe(true);

    t = Date.now();
    runningCtl.abort();
    const cancelled = await running;
    expect(Date.now() - t).toBeLessThan(1000);
    expect(cancelled.outcome.status).toBe('cancelled');
    expect(cancelled.attempts).toHaveLength(1);
    await waitFor(() => !isAlive(pid), 2000, 'the cancelled worker to exit');
  });

  it('answers an already aborted signal at once, starting no worker', async () => {
    const local = backend();
    const controller = new AbortController();
    controller.abort();
    const result = await local.invoke(request(returning('1')), {}, controller.signal);
    expect(result).toMatchObject({ attempts: [], outcome: { status: 'cancelled' } });
    expect(local.pids()).toEqual([]);
  });

  it('dispose ends running and queued invocations as cancelled and leaves no process alive', async () => {
    const local = backend({ concurrency: 3 });
    // One idle environment, two busy ones, then (limit lowered to 2) one invocation queued.
    await local.invoke(request(returning('1'), { memoryMb: 160 }), {}, never);
    const sleeper = request(`${sleeping(10_000)} ${returning('1')}`);
    const pending = [0, 1].map(() => local.invoke(sleeper, {}, never));
    await waitFor(
      () => local.status().environments.filter((env) => env.state === 'busy').length === 2,
      10_000,
      'two busy environments',
    );
    local.setConcurrency(2);
    pending.push(local.invoke(sleeper, {}, never));
    expect(local.status()).toMatchObject({ running: 2, queued: 1 });
    expect(
      local
        .status()
        .environments.map((env) => env.state)
        .sort(),
    ).toEqual(['busy', 'busy', 'idle']);
    const pids = local.pids();
    expect(pids).toHaveLength(3);
    const t = Date.now();
    await local.dispose();
    expect(Date.now() - t).toBeLessThan(2000);
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
    expect((await Promise.all(pending)).map((r) => r.outcome.status)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
    // A disposed backend runs nothing.
    expect((await local.invoke(request(returning('1')), {}, never)).outcome.status).toBe('cancelled');
  });

  it.each(['auto', 'off'])(
    'environments exit within 2 s when the kernel process is killed, even one spinning in `while (true) {}` (sandbox %s)',
    async (sandbox) => {
      const parent = spawn(
        process.execPath,
        [
          path.join(REPO_ROOT, 'test', 'fixtures', 'runtime', 'orphaning-parent.mjs'),
          path.join(DIST_LOCAL, 'index.js'),
          runtime.tmp,
          sandbox,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      try {
        const pids = await new Promise<number[]>((resolve, reject) => {
          let out = '';
          let err = '';
          parent.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            if (out.includes('\n')) {
              resolve(JSON.parse(out) as number[]);
            }
          });
          parent.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
          parent.once('exit', (code) => reject(new Error(`the parent exited (${code}): ${err}`)));
          setTimeout(() => reject(new Error('the parent did not report its workers')), 15_000);
        });
        expect(pids).toHaveLength(3);
        // In a sandbox, the kernel's child is bubblewrap: the Node processes are below it.
        const processes = pids.flatMap(processTree);
        expect(processes.length).toBeGreaterThanOrEqual(3);
        expect(processes.every(isAlive)).toBe(true);
        parent.kill('SIGKILL');
        await waitFor(() => !processes.some(isAlive), 2000, 'the orphaned workers to exit');
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );
});

describe('output and isolation', () => {
  it("starts workers with a clean environment: nothing of the kernel's", async () => {
    const names = ['JSL_TEST_SECRET', 'AWS_SECRET_ACCESS_KEY', 'JUPYTER_TOKEN', 'NODE_OPTIONS'];
    const saved = names.map((name) => process.env[name]);
    process.env.JSL_TEST_SECRET = 'top-secret-value';
    process.env.AWS_SECRET_ACCESS_KEY = 'top-secret-value';
    process.env.JUPYTER_TOKEN = 'top-secret-value';
    // Would stop every worker from starting if it leaked.
    process.env.NODE_OPTIONS = '--require /nonexistent/jsl-test-preload.js';
    try {
      const local = backend();
      const env = valueOf(
        await local.invoke(request(returning('({ ...process.env })')), {}, never),
      ) as Record<string, string>;
      expect(Object.values(env)).not.toContain('top-secret-value');
      for (const name of names) {
        expect(env[name]).toBeUndefined();
      }
      expect(env).toMatchObject({
        PATH: '/usr/local/bin:/usr/bin:/bin',
        LANG: 'C.UTF-8',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      });
      expect(env.TZ).toMatch(/UTC/);
      expect(env.HOME).toBeTruthy();
      expect(Object.keys(env).filter((name) => /TOKEN|SECRET|KEY|JUPYTER/.test(name))).toEqual([]);
    } finally {
      names.forEach((name, i) => {
        if (saved[i] === undefined) {
          delete process.env[name];
        } else {
          process.env[name] = saved[i];
        }
      });
    }
  });
});

describe('what a program knows of its invocation', () => {
  const context = returning("require('serverless-kernel').invocation()");

  it('gives the body its ids, its attempt and the configured store, inside the invocation only', async () => {
    const local = backend();
    const first = request(context, { store: 'redis://127.0.0.1:6390/2', element: 7 });
    const value = valueOf(await local.invoke({ ...first, index: 3 }, {}, never));
    expect(value).toEqual({
      id: first.id,
      runId: 'run-test',
      index: 3,
      attempt: 1,
      store: 'redis://127.0.0.1:6390/2',
    });
    // A timer the invocation leaves behind runs after it ended: it gets no context.
    const leaving = returning(
      "(setTimeout(() => { globalThis.seenLater = require('serverless-kernel').invocation() ?? 'none'; }, 0), 'left')",
    );
    await local.invoke(request(leaving), {}, never);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const later = await local.invoke(request(returning('globalThis.seenLater')), {}, never);
    expect(valueOf(later)).toBe('none');
    // Outside any invocation (here, in the kernel's process) there is none either.
    expect(currentInvocation()).toBeUndefined();
  });

  it('replaces a running invocation on request: that attempt ends crashed with the reason, the retry runs as attempt 2', async () => {
    const local = backend({ retryBaseMs: 10 });
    const body =
      `const me = require('serverless-kernel').invocation();\n` +
      `if (me.attempt === 1) await new Promise((r) => setTimeout(r, 30000));\n` +
      returning('me.attempt');
    const slow = request(body, { retries: 1 });
    let replaced = false;
    const result = await local.invoke(
      slow,
      {
        onAttemptStart: (info) => {
          if (info.attempt === 1) {
            setTimeout(() => {
              replaced = local.replace(slow.id, 'worker 1 held up round 4');
            }, 100);
          }
        },
      },
      never,
    );
    expect(replaced).toBe(true);
    expect(result.attempts.map((a) => a.outcome.status)).toEqual(['crashed', 'ok']);
    expect(messageOf(result.attempts[0].outcome)).toBe('Replaced by the kernel: worker 1 held up round 4.');
    expect(valueOf(result)).toBe(2);
    // Nothing to replace once it ended, or for an id never seen.
    expect(local.replace(slow.id, 'again')).toBe(false);
    expect(local.replace('no-such-invocation', 'x')).toBe(false);
  });

  it('gives an environment the credentials its store needs, and no other environment any', async () => {
    const saved = { key: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'test-key-id';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret';
    try {
      const local = backend();
      const probe = returning(
        '[process.env.AWS_ACCESS_KEY_ID ?? null, process.env.AWS_SECRET_ACCESS_KEY ?? null]',
      );
      const s3 = await local.invoke(request(probe, { store: 's3://bucket/prefix' }), {}, never);
      const embedded = await local.invoke(request(probe), {}, never);
      const redis = await local.invoke(request(probe, { store: 'redis://127.0.0.1:1' }), {}, never);
      expect(valueOf(s3)).toEqual(['test-key-id', 'test-secret']);
      expect(valueOf(embedded)).toEqual([null, null]);
      expect(valueOf(redis)).toEqual([null, null]);
      // Three stores, three environments: one with S3 credentials is never reused for another store.
      expect(new Set([s3, embedded, redis].map((r) => r.attempts[0].environmentId)).size).toBe(3);
    } finally {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.key],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) {
          delete process.env[name];
        } else {
          process.env[name] = value;
        }
      }
    }
  });
});

describe('the embedded store directory', () => {
  const probe = returning(`(() => {
    const fs = require('node:fs');
    const dir = process.env.SERVERLESS_STORE;
    fs.writeFileSync(dir + '/from-body.txt', 'kept');
    let elsewhere = 'written';
    try { fs.writeFileSync(c.notebook + '/from-body.txt', 'no'); } catch (error) { elsewhere = error.code; }
    return { dir, elsewhere };
  })()`);

  it('is the one directory of the notebook machine a sandboxed body writes to, named by $SERVERLESS_STORE', async () => {
    const storeDir = path.join(runtime.tmp, 'state', 'store');
    const notebook = path.join(runtime.tmp, 'nb');
    mkdirSync(notebook);
    const local = backend({ storeDir });
    const value = valueOf(
      await local.invoke(request(probe, { cwd: notebook, captures: { notebook } }), {}, never),
    );
    expect(value).toMatchObject({ dir: storeDir });
    expect(readFileSync(path.join(storeDir, 'from-body.txt'), 'utf8')).toBe('kept');
    // Elsewhere a write fails or lands in the sandbox's own /tmp (this notebook is under /tmp): never here.
    expect(existsSync(path.join(notebook, 'from-body.txt'))).toBe(false);
  });
});

describe('--files', () => {
  /** A notebook directory with data to ship and a file that must stay out of sight. */
  function notebook(): string {
    const dir = path.join(runtime.tmp, 'notebook');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    writeFileSync(path.join(dir, 'data', 'a.csv'), 'x,y\n1,2\n');
    writeFileSync(path.join(dir, 'secret.txt'), 'not shipped');
    return dir;
  }

  const probe = returning(`(() => {
    const fs = require('node:fs');
    let write = 'written';
    try { fs.writeFileSync('data/a.csv', 'changed'); } catch (error) { write = error.code; }
    return {
      csv: fs.readFileSync('data/a.csv', 'utf8'),
      mode: (fs.statSync('data/a.csv').mode & 0o777).toString(8),
      secret: fs.existsSync('secret.txt') || fs.existsSync(c.notebook + '/secret.txt'),
      write,
    };
  })()`);

  it('in the sandbox: the matched files, read-only, in the working directory; nothing else of the notebook', async () => {
    const cwd = notebook();
    const files = stageFiles(cwd, 'data/*.csv', path.join(runtime.tmp, 'staged'));
    const local = backend();
    const value = valueOf(
      await local.invoke(request(probe, { cwd, files, captures: { notebook: cwd } }), {}, never),
    );
    expect(value).toEqual({ csv: 'x,y\n1,2\n', mode: '444', secret: false, write: 'EROFS' });
  });

  it('without the sandbox: a read-only copy is the working directory (the notebook stays reachable by its path)', async () => {
    const cwd = notebook();
    const files = stageFiles(cwd, 'data/*.csv', path.join(runtime.tmp, 'staged'));
    const local = backend({ sandbox: 'off' });
    const value = valueOf(
      await local.invoke(request(probe, { cwd, files, captures: { notebook: cwd } }), {}, never),
    ) as Record<string, unknown>;
    expect(value).toMatchObject({ mode: '444', secret: true });
    // Root ignores file modes: the copy, never the notebook's file, is what a write can reach.
    expect(value.write).toBe(process.getuid?.() === 0 ? 'written' : 'EACCES');
  });

  it('starts new environments for another set of files, as for a new Lambda version', async () => {
    const cwd = notebook();
    const local = backend();
    const first = stageFiles(cwd, 'data/*.csv', path.join(runtime.tmp, 'staged'));
    const a = await local.invoke(request(returning('1'), { cwd, files: first }), {}, never);
    writeFileSync(path.join(cwd, 'data', 'b.csv'), 'more');
    const second = stageFiles(cwd, 'data/*.csv', path.join(runtime.tmp, 'staged'));
    expect(second.hash).not.toBe(first.hash);
    const b = await local.invoke(
      request(`${returning("require('node:fs').readdirSync('data')")}`, { cwd, files: second }),
      {},
      never,
    );
    expect(b.attempts[0].cold).toBe(true);
    expect(b.attempts[0].environmentId).not.toBe(a.attempts[0].environmentId);
    expect(valueOf(b)).toEqual(['a.csv', 'b.csv']);
  });
});
