/**
 * The embedded runtime's pipelining: short invocations queued behind a full
 * pool are handed to busy environments to run next. Lambda's semantics must
 * hold all the same: one invocation at a time per environment, at most
 * `concurrency` running, FIFO per environment; what waits in a worker's line
 * is asked back when the invocation before it turns out long, is cancelled
 * with its run (never started, no attempt), stops when the caller may start
 * no more, and runs elsewhere when the one before it crashes or times out.
 * The workers run the build (`npm run build` first).
 */
import { serialize } from 'node:v8';

import {
  InvocationObserver,
  InvocationRequest,
  InvocationResult,
} from '../../kernel-magics/src/runtime/backend';
import { LocalBackend, LocalBackendOptions } from '../../kernel-magics/src/runtime/local';
import { programResult, sha256, useLocalRuntime } from '../helpers/local-runtime';
import { isAlive, waitFor } from '../helpers/processes';

const never = new AbortController().signal;

let sequence = 0;
const runtime = useLocalRuntime('jsl-runtime-pipeline-');
const backend = (options?: LocalBackendOptions): LocalBackend => runtime.backend(options);

/**
 * One program for every invocation of a test (pipelining needs the same
 * program): `body` runs with `e`, the element; the value is
 * `[pid, e, start, end]`, epoch ms measured in the worker (see runOf).
 */
function request(body: string, element: number, retries = 0, timeoutS = 20): InvocationRequest {
  sequence += 1;
  const source =
    `(async (c, e, require) => { const start = performance.timeOrigin + performance.now();\n${body}\n` +
    'return { hasValue: true, value: [process.pid, e, start, performance.timeOrigin + performance.now()], exports: {} }; })';
  const captures = serialize({});
  return {
    id: `pipe-${sequence}`,
    runId: 'run-pipeline',
    index: element,
    program: { hash: sha256(source), source, filename: 'pipeline.js' },
    captures: { hash: sha256(captures), bytes: captures },
    element: serialize(element),
    memoryMb: 256,
    timeoutS,
    retries,
    cwd: runtime.tmp,
  };
}

type Run = [env: string, element: number, start: number, end: number];

/** The run, its first field the environment's id (inside a sandbox every worker is PID 2). */
function runOf(result: InvocationResult): Run {
  const [, element, start, end] = programResult(result).value as [number, number, number, number];
  return [result.attempts[0].environmentId, element, start, end];
}

/** Runs a few quick invocations of the program so that every environment has run it short. */
async function warmUp(local: LocalBackend, body: string, count: number): Promise<void> {
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) => local.invoke(request(body, 1000 + i), {}, never)),
  );
  results.forEach(runOf);
}

describe('pipelining short invocations', () => {
  it('runs a burst one at a time per environment, FIFO per environment, never over the concurrency', async () => {
    const local = backend({ concurrency: 2 });
    let running = 0;
    let peak = 0;
    const observer: InvocationObserver = {
      onAttemptStart: () => {
        running += 1;
        peak = Math.max(peak, running);
      },
      onAttemptEnd: () => (running -= 1),
    };
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => local.invoke(request('', i), observer, never)),
    );
    const runs = results.map(runOf);
    expect(runs.map(([, element]) => element)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(peak).toBeLessThanOrEqual(2);
    expect(new Set(runs.map(([env]) => env)).size).toBe(2);
    for (const env of new Set(runs.map(([e]) => e))) {
      const mine = runs.filter(([e]) => e === env);
      // In the order queued, and each started after the one before it ended.
      for (let i = 1; i < mine.length; i += 1) {
        expect(mine[i][1]).toBeGreaterThan(mine[i - 1][1]);
        expect(mine[i][2]).toBeGreaterThanOrEqual(mine[i - 1][3]);
      }
    }
    expect(results.every((r) => r.attempts.length === 1 && r.attempts[0].attempt === 1)).toBe(true);
    expect(local.status()).toMatchObject({ running: 0, queued: 0 });
    expect(local.pipelined()).toBeGreaterThan(100);
  });

  it('asks back what waits behind an invocation that turns out long, and runs it elsewhere', async () => {
    const local = backend({ concurrency: 2 });
    const body = 'if (e === 0) await new Promise((r) => setTimeout(r, 1500));';
    await warmUp(local, body, 4);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => local.invoke(request(body, i), {}, never)),
    );
    const runs = results.map(runOf);
    const long = runs[0];
    // Everything else ended while the long one ran, in the other environment.
    expect(runs.slice(1).every(([, , , end]) => end < long[3])).toBe(true);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(results.every((r) => r.attempts.length === 1)).toBe(true);
    expect(local.pipelined()).toBeGreaterThan(0);
  });

  it('cancels what waits in a line with its run: never started, no attempt', async () => {
    const local = backend({ concurrency: 1 });
    // A busy loop: the worker cannot give its line back, which stays until the cancel.
    const body = 'if (e === 0) { const until = Date.now() + 10000; while (Date.now() < until) {} }';
    await warmUp(local, body, 1);
    const pid = local.pids()[0];
    const controller = new AbortController();
    const pending = Array.from({ length: 20 }, (_, i) =>
      local.invoke(request(body, i), {}, controller.signal),
    );
    // Handed to the busy environment's line as soon as the backend gets to it (polled: a loaded machine is slow).
    for (let waited = 0; local.pipelined() === 0 && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(local.pipelined()).toBeGreaterThan(0);
    const t = Date.now();
    controller.abort();
    const results = await Promise.all(pending);
    expect(Date.now() - t).toBeLessThan(1000);
    expect(results[0].outcome.status).toBe('cancelled');
    expect(results[0].attempts).toHaveLength(1);
    for (const result of results.slice(1)) {
      expect(result).toMatchObject({ attempts: [], outcome: { status: 'cancelled' } });
    }
    await waitFor(() => !isAlive(pid), 2000, 'the cancelled worker to exit');
  });

  it('stops what waits in lines once the caller may start no more: what had not started never runs', async () => {
    const local = backend({ concurrency: 1 });
    const body = 'await new Promise((r) => setTimeout(r, 2));';
    await warmUp(local, body, 1);
    let allowed = true;
    let ended = 0;
    const observer: InvocationObserver = {
      mayStart: () => allowed,
      onAttemptEnd: () => {
        ended += 1;
        allowed = ended < 3;
      },
    };
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => local.invoke(request(body, i), observer, never)),
    );
    const ran = results.filter((r) => r.outcome.status === 'ok');
    // The three it allowed, and those the worker had started before it heard of the stop (at most
    // the rest of its line: usually one, more when the kernel lags behind the worker).
    expect(ran.length).toBeGreaterThanOrEqual(3);
    expect(ran.length).toBeLessThanOrEqual(3 + 7);
    // One environment, in order: what ran is the head of the queue, what did not never started.
    expect(results.slice(0, ran.length).every((r) => r.outcome.status === 'ok')).toBe(true);
    for (const result of results.slice(ran.length)) {
      expect(result).toMatchObject({ attempts: [], outcome: { status: 'cancelled' } });
    }
    expect(local.status()).toMatchObject({ running: 0, queued: 0 });
    expect(local.pipelined()).toBeGreaterThan(0);
  });

  it.each([
    [
      'crashes',
      0,
      "if (e === 0) require('node:child_process').execFileSync('kill', ['-KILL', String(process.pid)]);",
      'crashed',
      20,
    ],
    // Its own exit is its error, but its environment is gone all the same.
    ['exits by itself', 0, 'if (e === 0) process.exit(3);', 'error', 20],
    ['times out', 0, 'if (e === 0) { for (;;) {} }', 'timeout', 1],
    // Started from a line: its clock and its timeout run from when the worker started it.
    ['times out after waiting in a line', 1, 'if (e === 1) { for (;;) {} }', 'timeout', 1],
  ])(
    'runs elsewhere what waited behind an invocation that %s, without counting an attempt',
    async (_what, failing, body, status, timeoutS) => {
      const local = backend({ concurrency: 1 });
      await warmUp(local, body, 1);
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => local.invoke(request(body, i, 0, timeoutS), {}, never)),
      );
      const failed = results[failing];
      expect(failed.outcome.status).toBe(status);
      if (status === 'timeout') {
        expect(failed.attempts[0].durationMs).toBeGreaterThanOrEqual(1000);
        expect(failed.attempts[0].durationMs).toBeLessThan(1800);
      }
      expect(local.pipelined()).toBeGreaterThan(0);
      const others = results.filter((r) => r !== failed);
      expect(others.map((r) => r.outcome.status)).toEqual(others.map(() => 'ok'));
      expect(others.every((r) => r.attempts.length === 1 && r.attempts[0].attempt === 1)).toBe(true);
      // The ones that waited behind it ran in a new environment.
      expect(others.some((r) => r.attempts[0].environmentId !== failed.attempts[0].environmentId)).toBe(true);
    },
  );
});
