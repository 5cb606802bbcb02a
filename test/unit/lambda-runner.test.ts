/**
 * The Lambda runner's handler (runtime/lambda/handler.ts), in this process:
 * events built by the kernel's EventBuilder for real compiled bodies, the
 * payload bucket a real s3rver, the programs run by the embedded runtime's
 * worker as on Lambda. What the handler returns is read back by the
 * kernel's readAnswer from an InvokeCommandOutput as the SDK gives it.
 * The handler is the compiled one (it starts the built worker bundle next
 * to it, as the deployed runner does): `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deserialize } from 'node:v8';

import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';

import { closeSharedStores, sharedStore } from '../../kernel-magics/src/exchange/store/shared';
import { mapStackFrames } from '../../kernel-magics/src/plan/stack-map';
import type { InvocationRequest, ProgramResult } from '../../kernel-magics/src/runtime/backend';
import { LAMBDA_LIMITS, LambdaSettings } from '../../kernel-magics/src/runtime/lambda/config';
import { EventBuilder } from '../../kernel-magics/src/runtime/lambda/event';
import type * as HandlerModule from '../../kernel-magics/src/runtime/lambda/handler';
import {
  isSpilled,
  RunnerEvent,
  RunnerResponse,
  SpilledResponse,
} from '../../kernel-magics/src/runtime/lambda/protocol';
import { AttemptAnswer, readAnswer } from '../../kernel-magics/src/runtime/lambda/response';
import { cellRequest, compileCell, patternBytes, s3rverSettings } from '../helpers/lambda-requests';
import { REPO_ROOT } from '../helpers/paths';
import { S3rverServer, S3RVER_ENV, startS3rver } from '../helpers/stores';

jest.setTimeout(60_000);

const MB = 1024 * 1024;
const SOURCE = path.join(REPO_ROOT, 'kernel-magics', 'src', 'runtime', 'lambda', 'handler.ts');
const COMPILED = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'runtime', 'lambda', 'handler.js');
const savedEnv = Object.fromEntries(Object.keys(S3RVER_ENV).map((name) => [name, process.env[name]]));

let runner: typeof HandlerModule;
let s3rver: S3rverServer;
let settings: LambdaSettings;
const builder = new EventBuilder();
const never = new AbortController().signal;

beforeAll(async () => {
  if (statSync(COMPILED).mtimeMs < statSync(SOURCE).mtimeMs) {
    throw new Error(`${COMPILED} is older than handler.ts: run \`npm run build\` first`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled runner, typed by its source
  runner = require(COMPILED) as typeof HandlerModule;
  s3rver = await startS3rver();
  // Both sides reach the bucket through the AWS SDK's default chain (a Lambda's execution role).
  Object.assign(process.env, S3RVER_ENV);
  settings = s3rverSettings(s3rver.endpoint);
});

afterAll(async () => {
  await runner?.disposeRunner();
  expect(workerChildren()).toEqual([]);
  await closeSharedStores();
  await s3rver?.stop();
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = value;
    }
  }
});

/** The event of attempt 1 of `request`, as the Lambda backend builds it. */
async function eventOf(request: InvocationRequest): Promise<RunnerEvent> {
  const built = await builder.build(request, 1, settings, never);
  return built.event;
}

/** What the SDK's InvokeCommand resolves to for a function that returned `response`. */
function invokeOutput(response: unknown): InvokeCommandOutput {
  return {
    $metadata: { httpStatusCode: 200 },
    StatusCode: 200,
    ExecutedVersion: '$LATEST',
    Payload: Uint8ArrayBlobAdapter.fromString(JSON.stringify(response)),
  };
}

/** Runs `request` through the handler and reads the answer as the kernel does. */
async function invoke(
  request: InvocationRequest,
): Promise<{ response: RunnerResponse | SpilledResponse; answer: AttemptAnswer; event: RunnerEvent }> {
  const event = await eventOf(request);
  // Through JSON, as Lambda delivers it.
  const response = await runner.handler(JSON.parse(JSON.stringify(event)));
  const answer = await readAnswer(invokeOutput(response), event, never);
  return { response, answer, event };
}

/** The program's result of an ok answer. */
function resultOf(answer: AttemptAnswer): ProgramResult {
  if (answer.outcome.status !== 'ok') {
    throw new Error(`expected ok, got ${JSON.stringify(answer.outcome)}`);
  }
  return deserialize(answer.outcome.result) as ProgramResult;
}

/** The response, which must not have been spilled. */
function inlineResponse(response: RunnerResponse | SpilledResponse): RunnerResponse {
  if (isSpilled(response)) {
    throw new Error('expected the response inline');
  }
  return response;
}

/** PIDs of this process's children running the worker bundle (the runner's program processes). */
function workerChildren(): number[] {
  const lines = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], {
    encoding: 'utf8',
  }).split('\n');
  return lines.filter((line) => line.includes('worker.bundle.js')).map((line) => Number.parseInt(line, 10));
}

describe('the Lambda runner handler', () => {
  it('runs a program with its captures and returns its value, output and figures inline', async () => {
    const request = cellRequest(
      "console.log('hello from', where);\nconst doubled = xs.map((x: number) => x * 2);\ndoubled",
      { captures: { where: 'lambda', xs: [1, 2, 3] } },
    );
    const { response, answer } = await invoke(request);
    const inline = inlineResponse(response);
    expect(inline.outcome.status).toBe('ok');
    expect(inline.output).toEqual([{ kind: 'stream', name: 'stdout', text: 'hello from lambda\n' }]);
    expect(inline.figures.environmentId).toMatch(/^lambda-[0-9a-f]{8}$/);
    expect(resultOf(answer)).toMatchObject({
      hasValue: true,
      value: [2, 4, 6],
      exports: { doubled: [2, 4, 6] },
    });
    // readAnswer gives back exactly what the handler returned.
    expect(answer.output).toEqual(inline.output);
    expect(answer.figures).toEqual(inline.figures);
    expect(answer.lateErrors).toEqual([]);
    expect(answer.droppedOutputBytes).toBe(0);
    expect(answer.stored).toEqual([]);
    expect(answer.bytesOut).toBe(Buffer.byteLength(JSON.stringify(response)));
  });

  it('keeps its program process warm between invocations, as a Lambda environment does', async () => {
    const first = inlineResponse((await invoke(cellRequest('1 + 1'))).response);
    const second = inlineResponse((await invoke(cellRequest('2 + 2'))).response);
    expect(second.figures.environmentId).toBe(first.figures.environmentId);
    expect(second.figures.cold).toBe(false);
  });

  it('runs each element of a map with its own element', async () => {
    const runId = 'run-map';
    const values = await Promise.all(
      [3, 4, 5].map(async (value, index) => {
        const request = cellRequest('n * n', {
          element: { name: 'n', value },
          runId,
          index,
          id: `map-${index}`,
        });
        return resultOf((await invoke(request)).answer).value;
      }),
    );
    expect(values).toEqual([9, 16, 25]);
  });

  it("returns a thrown error with a stack naming the program's line, which maps to the cell's", async () => {
    const body = [
      'const limit = 3;',
      'function check(n: number): void {',
      '  if (n > limit) {',
      "    throw new RangeError('too far: ' + n);",
      '  }',
      '}',
      'check(7);',
    ].join('\n');
    const compiled = compileCell(body, { filename: 'serverless-cell-9' });
    const request = cellRequest(body, { filename: 'serverless-cell-9' });
    const throwLine = request.program.source.split('\n').findIndex((line) => line.includes('throw new')) + 1;
    const { response, answer } = await invoke(request);
    const inline = inlineResponse(response);
    expect(inline.outcome).toMatchObject({
      status: 'error',
      error: { name: 'RangeError', message: 'too far: 7' },
    });
    expect(answer.outcome).toEqual(inline.outcome);
    if (answer.outcome.status !== 'error') {
      throw new Error('expected an error');
    }
    expect(answer.outcome.error.stack).toMatch(
      new RegExp(`at check \\(serverless-cell-9:${throwLine}:\\d+\\)`),
    );
    const frames = mapStackFrames(answer.outcome.error.stack, { compiled, bodyLine: 1 });
    expect(frames[0]).toMatch(/at check \(<cell>:5:\d+\)/);
    expect(frames[1]).toMatch(/<cell>:8:\d+/);
  });

  it('reads captures of 7 MB from the bucket', async () => {
    const big = patternBytes(7 * MB);
    const request = cellRequest('[big.length, big[4097], big[big.length - 1]]', { captures: { big } });
    const { answer, event } = await invoke(request);
    expect('stored' in event.captures.bytes).toBe(true);
    expect(resultOf(answer).value).toEqual([big.length, big[4097], big[big.length - 1]]);
  });

  it('returns a 7 MB result through the bucket, and readAnswer reads it back exactly', async () => {
    const body = [
      'const out = new Uint8Array(7 * 1024 * 1024);',
      'for (let k = 0; k < out.length; k += 1) out[k] = (k * 131 + (k >> 12)) % 251;',
      'out',
    ].join('\n');
    const { response, answer, event } = await invoke(cellRequest(body));
    const inline = inlineResponse(response);
    if (inline.outcome.status !== 'ok' || !('stored' in inline.outcome.result)) {
      throw new Error(`expected a stored result, got ${JSON.stringify(inline.outcome).slice(0, 200)}`);
    }
    const ref = inline.outcome.result.stored;
    expect(ref).toEqual({ store: event.spill.store, key: `${event.spill.key}.result` });
    expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThan(LAMBDA_LIMITS.syncPayloadBytes);
    const value = resultOf(answer).value as Uint8Array;
    expect(value).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(value).equals(Buffer.from(patternBytes(7 * MB)))).toBe(true);
    expect(answer.stored).toEqual([ref]);
    const stored = await sharedStore(ref.store).get(ref.key);
    expect(answer.bytesOut).toBe(Buffer.byteLength(JSON.stringify(response)) + (stored?.byteLength ?? 0));
  });

  it('puts a whole response over the payload limit in the bucket (7 MB of output)', async () => {
    const { response, answer, event } = await invoke(
      cellRequest("console.log('x'.repeat(7 * 1024 * 1024));\n42"),
    );
    if (!isSpilled(response)) {
      throw new Error('expected the response in the bucket');
    }
    expect(response.spilled).toEqual({ store: event.spill.store, key: `${event.spill.key}.response` });
    expect(Buffer.byteLength(JSON.stringify(response))).toBeLessThan(1024);
    expect(resultOf(answer).value).toBe(42);
    const printed = answer.output.map((item) => (item.kind === 'stream' ? item.text : '')).join('');
    expect(printed).toBe(`${'x'.repeat(7 * MB)}\n`);
    expect(answer.stored).toEqual([response.spilled]);
    expect(answer.bytesOut).toBeGreaterThan(7 * MB);
  });

  it("runs a program whose imports were bundled from the notebook's directory", async () => {
    const notebook = mkdtempSync(path.join(os.tmpdir(), 'lambda-runner-'));
    try {
      mkdirSync(path.join(notebook, 'node_modules', 'times-table'), { recursive: true });
      writeFileSync(
        path.join(notebook, 'node_modules', 'times-table', 'index.js'),
        "const os = require('node:os');\nmodule.exports = (n) => [n * 6, n * 7, typeof os.cpus];\n",
      );
      writeFileSync(path.join(notebook, 'seven.ts'), 'export const seven: number = 7;\n');
      const request = cellRequest(
        "import table from 'times-table';\nimport { seven } from './seven';\ntable(seven)",
        {
          cwd: notebook,
        },
      );
      const { answer } = await invoke(request);
      expect(resultOf(answer).value).toEqual([42, 49, 'function']);
    } finally {
      rmSync(notebook, { recursive: true, force: true });
    }
  });

  it('refuses an event that is not a runner event, or of another protocol, saying what to do', async () => {
    await expect(runner.handler({ hello: 'world' })).rejects.toMatchObject({
      name: 'RunnerEventError',
      message: expect.stringContaining('not directly') as string,
    });
    const event = await eventOf(cellRequest('1'));
    await expect(runner.handler({ ...event, protocol: 99 })).rejects.toMatchObject({
      name: 'RunnerEventError',
      message: expect.stringContaining('%serverless deploy') as string,
    });
  });

  it('stops its program process on disposeRunner; the next invocation starts a new one, cold', async () => {
    inlineResponse((await invoke(cellRequest('1'))).response);
    expect(workerChildren()).toHaveLength(1);
    await runner.disposeRunner();
    expect(workerChildren()).toEqual([]);
    const again = inlineResponse((await invoke(cellRequest('2'))).response);
    expect(again.figures.cold).toBe(true);
    expect(workerChildren()).toHaveLength(1);
  });
});
