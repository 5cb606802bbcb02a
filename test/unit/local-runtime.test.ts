/**
 * The embedded runtime with real worker processes: results and captures,
 * cold and warm starts, pool sizing under a concurrency limit, idle expiry,
 * memory and time limits, crash retries (and none for program errors),
 * cancellation, streamed output, a clean environment, and no process left.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deserialize, serialize } from 'node:v8';

import {
  InvocationObserver,
  InvocationRequest,
  ProgramResult,
} from '../../kernel-magics/src/runtime/backend';
import { LocalBackend } from '../../kernel-magics/src/runtime/local';
import { heapLimitFlags } from '../../kernel-magics/src/runtime/local/config';
import { isAlive, waitFor } from '../helpers/processes';
import { REPO_ROOT } from '../helpers/paths';

const WORKER = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'runtime', 'local', 'worker.js');
let sequence = 0;
let backends: LocalBackend[] = [];
let tmp: string;

interface RequestOptions {
  captures?: unknown;
  element?: unknown;
  memoryMb?: number;
  timeoutS?: number;
  retries?: number;
}

/** A request running `body` (JavaScript inside an async function of captures `c` and element `e`). */
function request(body: string, options: RequestOptions = {}): InvocationRequest {
  const source = `(async (c, e, require) => { ${body} })`;
  const captures = serialize(options.captures ?? {});
  sequence += 1;
  const built: InvocationRequest = {
    id: `inv-${sequence}`,
    runId: 'run-1',
    program: { hash: createHash('sha256').update(source).digest('hex'), source, filename: 'test-program' },
    captures: { hash: createHash('sha256').update(captures).digest('hex'), bytes: captures },
    element: options.element === undefined ? undefined : serialize(options.element),
    memoryMb: options.memoryMb ?? 256,
    timeoutS: options.timeoutS ?? 20,
    retries: options.retries ?? 0,
    cwd: REPO_ROOT,
  };
  return built;
}

const value = (body: string): string => `return { hasValue: true, value: (${body}), exports: {} };`;

function backend(options: ConstructorParameters<typeof LocalBackend>[0] = {}): LocalBackend {
  const created = new LocalBackend({ workerPath: WORKER, ...options });
  backends.push(created);
  return created;
}

function resultValue(result: { outcome: { status: string; result?: Uint8Array } }): unknown {
  expect(result.outcome.status).toBe('ok');
  return (deserialize(result.outcome.result as Uint8Array) as ProgramResult).value;
}

const never = new AbortController().signal;

beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'jsl-runtime-'));
});

afterEach(async () => {
  const pids = backends.flatMap((b) => b.pids());
  await Promise.all(backends.map((b) => b.dispose()));
  backends = [];
  // No environment outlives its backend.
  for (const pid of pids) {
    expect(isAlive(pid)).toBe(false);
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('invocations', () => {
  it('returns values (typed arrays intact) computed from captures and the element', async () => {
    const local = backend();
    const result = await local.invoke(
      request(value('new Float64Array(c.data.map((v) => v * e))'), {
        captures: { data: [1, 2, 3] },
        element: 10,
      }),
      {},
      never,
    );
    const got = resultValue(result) as Float64Array;
    expect(Object.prototype.toString.call(got)).toBe('[object Float64Array]');
    expect([...got]).toEqual([10, 20, 30]);
    const [attempt] = result.attempts;
    expect(attempt).toMatchObject({ attempt: 1, cold: true });
    expect(attempt.initMs).toBeGreaterThan(0);
    expect(attempt.bytesIn).toBeGreaterThan(0);
    expect(attempt.bytesOut).toBeGreaterThan(0);
  });

  it('reuses a warm environment, which keeps program and captures (sent once)', async () => {
    const local = backend();
    const first = await local.invoke(
      request(value('process.pid'), { captures: { big: 'x'.repeat(10_000) } }),
      {},
      never,
    );
    const again = request(value('process.pid'), { captures: { big: 'x'.repeat(10_000) } });
    const second = await local.invoke(again, {}, never);
    expect(resultValue(second)).toBe(resultValue(first));
    expect(second.attempts[0]).toMatchObject({
      cold: false,
      initMs: 0,
      environmentId: first.attempts[0].environmentId,
    });
    // Warm: only the (absent) element travels, not the program or the 10 kB of captures.
    expect(second.attempts[0].bytesIn).toBeLessThan(100);
    expect(first.attempts[0].bytesIn).toBeGreaterThan(10_000);
  });

  it('gives each invocation fresh captures (mutations do not leak)', async () => {
    const local = backend();
    const body = 'c.list.push(1); ' + value('c.list.length');
    expect(resultValue(await local.invoke(request(body, { captures: { list: [] } }), {}, never))).toBe(1);
    expect(resultValue(await local.invoke(request(body, { captures: { list: [] } }), {}, never))).toBe(1);
  });

  it('runs at most `concurrency` at once, in at most that many environments', async () => {
    const local = backend({ concurrency: 2 });
    const body = `await new Promise((r) => setTimeout(r, 150)); ${value('process.pid')}`;
    let running = 0;
    let peak = 0;
    const observer: InvocationObserver = {
      onAttemptStart: () => {
        running += 1;
        peak = Math.max(peak, running);
      },
      onAttemptEnd: () => {
        running -= 1;
      },
    };
    const results = await Promise.all(
      Array.from({ length: 6 }, () => local.invoke(request(body), observer, never)),
    );
    expect(peak).toBe(2);
    expect(new Set(results.map((r) => resultValue(r))).size).toBe(2);
    expect(local.status()).toMatchObject({ running: 0, queued: 0, concurrencyLimit: 2 });
    expect(local.status().environments).toHaveLength(2);
  });

  it('starts at most maxColdStarts environments at once; waiting invocations take warm ones first', async () => {
    const local = backend({ concurrency: 4, maxColdStarts: 1 });
    let peakStarting = 0;
    const sampler = setInterval(() => {
      const starting = local.status().environments.filter((e) => e.state === 'starting').length;
      peakStarting = Math.max(peakStarting, starting);
    }, 1);
    const body = `await new Promise((r) => setTimeout(r, 30)); ${value('1')}`;
    const results = await Promise.all(
      Array.from({ length: 8 }, () => local.invoke(request(body), {}, never)),
    );
    clearInterval(sampler);
    expect(results.every((r) => r.outcome.status === 'ok')).toBe(true);
    expect(peakStarting).toBe(1);
    expect(results.filter((r) => !r.attempts[0].cold).length).toBeGreaterThan(0);
    expect(local.status().environments.length).toBeLessThanOrEqual(4);
  });

  it('stops an idle environment after the idle expiry', async () => {
    const local = backend({ idleExpiryMs: 200 });
    const pid = resultValue(await local.invoke(request(value('process.pid')), {}, never)) as number;
    expect(isAlive(pid)).toBe(true);
    await waitFor(() => !isAlive(pid), 5000, 'the idle environment to expire');
    expect(local.status().environments).toHaveLength(0);
  });
});

describe('limits and failures', () => {
  it('enforces --memory on resident memory, with a V8 heap flag only above V8’s default limit or without /proc', () => {
    expect(heapLimitFlags(1024, 4096, true)).toEqual([]);
    expect(heapLimitFlags(10240, 4096, true)).toEqual(['--max-old-space-size=10240']);
    expect(heapLimitFlags(1024, 4096, false)).toEqual(['--max-old-space-size=1024']);
  });

  it('fails as out of memory when the program allocates over --memory', async () => {
    const local = backend();
    const result = await local.invoke(
      request('const hog = []; while (true) hog.push(new Array(1e6).fill(1));', { memoryMb: 128 }),
      {},
      never,
    );
    expect(result.outcome.status).toBe('out-of-memory');
    expect(result.attempts).toHaveLength(1);
    expect(result.outcome.status === 'out-of-memory' && result.outcome.message).toMatch(/128 MB/);
  });

  it('kills an invocation at its timeout (and the environment with it)', async () => {
    const local = backend();
    let pid = 0;
    const started = Date.now();
    const result = await local.invoke(
      request('while (true) {}', { timeoutS: 1 }),
      { onAttemptStart: () => (pid = local.pids()[0] ?? 0) },
      never,
    );
    expect(Date.now() - started).toBeLessThan(2500);
    expect(result.outcome).toEqual({ status: 'timeout', message: 'Task timed out after 1.00 seconds.' });
    await waitFor(() => !isAlive(pid), 2000, 'the timed-out worker to die');
    expect(result.attempts[0].durationMs).toBeGreaterThanOrEqual(1000);
  });

  it('does not retry errors thrown by the program, and maps them with their stack', async () => {
    const local = backend();
    const result = await local.invoke(
      request("throw new TypeError('bad input');", { retries: 3 }),
      {},
      never,
    );
    expect(result.attempts).toHaveLength(1);
    expect(result.outcome.status).toBe('error');
    if (result.outcome.status === 'error') {
      expect(result.outcome.error).toMatchObject({ name: 'TypeError', message: 'bad input' });
      expect(result.outcome.error.stack).toContain('test-program:1:');
    }
  });

  it('retries a crash on a fresh environment, with backoff', async () => {
    const local = backend({ retryBaseMs: 50 });
    const marker = path.join(tmp, 'crashed-once');
    const body =
      "const fs = require('node:fs'); if (!fs.existsSync(c.marker)) { fs.writeFileSync(c.marker, ''); process.exit(3); } " +
      value("'second time lucky'");
    const result = await local.invoke(request(body, { retries: 2, captures: { marker } }), {}, never);
    expect(resultValue(result)).toBe('second time lucky');
    expect(result.attempts.map((a) => a.outcome.status)).toEqual(['crashed', 'ok']);
    expect(result.attempts[0].outcome.status === 'crashed' && result.attempts[0].outcome.message).toMatch(
      /code 3/,
    );
    expect(result.attempts[1].environmentId).not.toBe(result.attempts[0].environmentId);
  });

  it('gives up after --retries crashes', async () => {
    const local = backend({ retryBaseMs: 10 });
    const result = await local.invoke(
      request('process.kill(process.pid, "SIGSEGV");', { retries: 1 }),
      {},
      never,
    );
    expect(result.attempts.map((a) => a.outcome.status)).toEqual(['crashed', 'crashed']);
    expect(result.outcome.status).toBe('crashed');
  });

  it('leaves out declarations that cannot travel (functions silently) and refuses a value that cannot', async () => {
    const local = backend();
    const result = await local.invoke(
      request('return { hasValue: true, value: 1, exports: { n: 2, f: () => 1, w: new WeakMap() } };'),
      {},
      never,
    );
    const back = deserialize((result.outcome as { result: Uint8Array }).result) as ProgramResult;
    expect(back.exports).toEqual({ n: 2 });
    expect(back.notReturned).toEqual(['w']);
    const refused = await local.invoke(
      request('return { hasValue: true, value: () => 1, exports: {} };'),
      {},
      never,
    );
    expect(refused.outcome.status === 'error' && refused.outcome.error.message).toMatch(
      /The cell's value cannot be sent back/,
    );
  });
});

describe('cancellation', () => {
  it('cancels a running invocation (killing its worker) and a queued one, within a second', async () => {
    const local = backend({ concurrency: 1 });
    const controller = new AbortController();
    const sleeper = `await new Promise((r) => setTimeout(r, 10000)); ${value('1')}`;
    let startedPid = 0;
    const running = local.invoke(
      request(sleeper),
      { onAttemptStart: () => (startedPid = local.pids()[0]) },
      controller.signal,
    );
    const queued = local.invoke(request(sleeper), {}, controller.signal);
    await waitFor(() => startedPid > 0, 10000, 'the first invocation to start');
    expect(local.status()).toMatchObject({ running: 1, queued: 1 });
    const abortedAt = Date.now();
    controller.abort();
    const [first, second] = await Promise.all([running, queued]);
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(first.outcome.status).toBe('cancelled');
    expect(first.attempts).toHaveLength(1);
    expect(second).toMatchObject({ attempts: [], outcome: { status: 'cancelled' } });
    await waitFor(() => !isAlive(startedPid), 2000, 'the cancelled worker to die');
  });

  it('answers an already aborted signal at once, without a worker', async () => {
    const local = backend();
    const controller = new AbortController();
    controller.abort();
    const result = await local.invoke(request(value('1')), {}, controller.signal);
    expect(result).toMatchObject({ attempts: [], outcome: { status: 'cancelled' } });
    expect(local.pids()).toHaveLength(0);
  });

  it('dispose ends pending invocations as cancelled and leaves no process', async () => {
    const local = backend({ concurrency: 1 });
    const sleeper = `await new Promise((r) => setTimeout(r, 10000)); ${value('1')}`;
    const pending = [local.invoke(request(sleeper), {}, never), local.invoke(request(sleeper), {}, never)];
    await waitFor(
      () => local.status().running === 1 && local.pids().length === 1,
      10000,
      'a running invocation',
    );
    const [pid] = local.pids();
    await local.dispose();
    expect((await Promise.all(pending)).map((r) => r.outcome.status)).toEqual(['cancelled', 'cancelled']);
    expect(isAlive(pid)).toBe(false);
  });
});

describe('output and isolation', () => {
  it('streams output and displays before the result arrives', async () => {
    const local = backend();
    const events: string[] = [];
    const body =
      "console.log('one'); process.stderr.write('two\\n'); require('serverless-kernel').display.html('<i>x</i>'); " +
      value("'done'");
    const result = await local.invoke(
      request(body),
      {
        onStream: (name, text) => events.push(`${name}:${text}`),
        onDisplay: (data) => events.push(`display:${String(data['text/html'])}`),
        onAttemptEnd: () => events.push('end'),
      },
      never,
    );
    expect(resultValue(result)).toBe('done');
    expect(events).toEqual(['stdout:one\n', 'stderr:two\n', 'display:<i>x</i>', 'end']);
  });

  it("starts workers with a clean environment: none of the kernel's variables", async () => {
    process.env.JSL_SECRET_FOR_TEST = 'top-secret';
    try {
      const local = backend();
      const env = resultValue(
        await local.invoke(request(value('({ ...process.env })')), {}, never),
      ) as Record<string, string>;
      expect(env.JSL_SECRET_FOR_TEST).toBeUndefined();
      expect(Object.values(env)).not.toContain('top-secret');
      expect(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE).toBe('256');
      expect(Object.keys(env).some((k) => k.startsWith('AWS_SECRET') || k.startsWith('JUPYTER'))).toBe(false);
    } finally {
      delete process.env.JSL_SECRET_FOR_TEST;
    }
  });
});
