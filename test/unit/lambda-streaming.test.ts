/**
 * Output that streams on --backend lambda: the runner's NDJSON frames, its
 * streamingHandler run in this process under an `awslambda` global like
 * AWS's Node.js runtime's, and the kernel's LambdaBackend reading
 * InvokeWithResponseStream from a local endpoint that speaks the API's
 * event-stream wire format over that real handler (helpers/lambda-stream-server),
 * or that has no streaming route, as serverless-offline (then `auto` falls
 * back to the synchronous Invoke). The handler is the compiled one: `npm run build` first.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { deserialize } from 'node:v8';

import { closeSharedStores } from '../../kernel-magics/src/exchange/store/shared';
import type { InvocationResult, ProgramResult } from '../../kernel-magics/src/runtime/backend';
import type { LambdaSettings, StreamMode } from '../../kernel-magics/src/runtime/lambda/config';
import { EventBuilder } from '../../kernel-magics/src/runtime/lambda/event';
import type * as HandlerModule from '../../kernel-magics/src/runtime/lambda/handler';
import { LambdaBackend } from '../../kernel-magics/src/runtime/lambda/lambda-backend';
import {
  encodeFrame,
  RunnerFrame,
  RunnerFrameError,
  RunnerFrameReader,
  RunnerResponse,
} from '../../kernel-magics/src/runtime/lambda/protocol';
import { readReply } from '../../kernel-magics/src/runtime/lambda/response';
import { cellRequest, s3rverSettings } from '../helpers/lambda-requests';
import { startStreamServer, StreamServer } from '../helpers/lambda-stream-server';
import { REPO_ROOT } from '../helpers/paths';
import { S3rverServer, S3RVER_ENV, startS3rver } from '../helpers/stores';

jest.setTimeout(60_000);

const SOURCE = path.join(REPO_ROOT, 'kernel-magics', 'src', 'runtime', 'lambda', 'handler.ts');
const COMPILED = path.join(REPO_ROOT, 'kernel-magics', 'dist', 'src', 'runtime', 'lambda', 'handler.js');
const savedEnv = Object.fromEntries(Object.keys(S3RVER_ENV).map((name) => [name, process.env[name]]));
/** Prints, sleeps half a second, prints: the first line must reach the kernel before the program ends. */
const PRINT_SLEEP_PRINT =
  "console.log('first');\nawait new Promise((resolve) => setTimeout(resolve, 500));\nconsole.log('second');\n6 * 7";

let runner: typeof HandlerModule;
let s3rver: S3rverServer;
let s3: LambdaSettings;
const never = new AbortController().signal;

beforeAll(async () => {
  if (statSync(COMPILED).mtimeMs < statSync(SOURCE).mtimeMs) {
    throw new Error(`${COMPILED} is older than handler.ts: run \`npm run build\` first`);
  }
  // As AWS's runtime: the global exists when the handler module loads; streamifying marks the function.
  (globalThis as { awslambda?: unknown }).awslambda = {
    streamifyResponse: <F>(fn: F): F => fn,
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the compiled runner, typed by its source
  runner = require(COMPILED) as typeof HandlerModule;
  s3rver = await startS3rver();
  Object.assign(process.env, S3RVER_ENV);
  s3 = s3rverSettings(s3rver.endpoint);
});

afterAll(async () => {
  delete (globalThis as { awslambda?: unknown }).awslambda;
  await runner?.disposeRunner();
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

/** Every frame of `bytes` fed in chunks cut at `cuts`. */
function readInChunks(bytes: Uint8Array, cuts: number[]): RunnerFrame[] {
  const reader = new RunnerFrameReader();
  const frames: RunnerFrame[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    frames.push(...reader.push(bytes.subarray(from, cut)));
    from = cut;
  }
  return [...frames, ...reader.end()];
}

const RESPONSE: RunnerResponse = {
  protocol: 1,
  outcome: { status: 'crashed', message: 'x' },
  output: [],
  droppedOutputBytes: 0,
  payloadRequests: { put: 0, get: 0, list: 0, delete: 0 },
  lateErrors: [],
  figures: { environmentId: 'lambda-00000000', cold: false, initMs: 0, durationMs: 1 },
};

describe('runner frames (NDJSON)', () => {
  const frames: RunnerFrame[] = [
    { output: { kind: 'stream', name: 'stdout', text: 'héllo, 世界 🌍\n' } },
    { output: { kind: 'clear', wait: true } },
    { response: RESPONSE },
  ];
  const bytes = Buffer.from(frames.map(encodeFrame).join(''), 'utf8');

  it('reads the same frames whatever the chunk boundaries, inside multibyte characters too', () => {
    const emoji = bytes.indexOf(Buffer.from('🌍'));
    expect(readInChunks(bytes, [])).toEqual(frames);
    expect(readInChunks(bytes, [emoji + 1, emoji + 2, emoji + 3])).toEqual(frames);
    const everyByte = Array.from({ length: bytes.length - 1 }, (_, k) => k + 1);
    expect(readInChunks(bytes, everyByte)).toEqual(frames);
  });

  it('gives each frame as soon as its line is complete', () => {
    const reader = new RunnerFrameReader();
    const firstLineEnd = bytes.indexOf(0x0a) + 1;
    expect(reader.push(bytes.subarray(0, firstLineEnd - 1))).toEqual([]);
    expect(reader.push(bytes.subarray(firstLineEnd - 1, firstLineEnd))).toEqual([frames[0]]);
  });

  it('refuses a body cut inside its last line, or inside a character', () => {
    expect(() => readInChunks(bytes.subarray(0, bytes.length - 5), [])).toThrow(RunnerFrameError);
    const emoji = bytes.indexOf(Buffer.from('🌍'));
    expect(() => readInChunks(bytes.subarray(0, emoji + 2), [])).toThrow(RunnerFrameError);
  });

  it('reads an unframed response (a handler that does not stream) as its response frame', () => {
    expect(readInChunks(Buffer.from(JSON.stringify(RESPONSE)), [7])).toEqual([{ response: RESPONSE }]);
  });

  it('refuses a line that is not a frame', () => {
    expect(() => new RunnerFrameReader().push(Buffer.from('{"hello":1}\n'))).toThrow(RunnerFrameError);
  });
});

describe("the runner's streamingHandler", () => {
  it('writes each output line while the program runs, then the response without output', async () => {
    const streaming = runner.streamingHandler;
    if (!streaming) {
      throw new Error('streamingHandler is undefined although awslambda.streamifyResponse exists');
    }
    const built = await new EventBuilder().build(cellRequest(PRINT_SLEEP_PRINT), 1, s3, never);
    let settled = false;
    const writes: { bytes: Buffer; programEnded: boolean }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        writes.push({ bytes: chunk, programEnded: settled });
        done();
      },
    });
    await streaming(JSON.parse(JSON.stringify(built.event)), sink).then(() => (settled = true));
    expect(sink.writableFinished).toBe(true);
    const frames = readInChunks(Buffer.concat(writes.map((w) => w.bytes)), []);
    expect(frames.slice(0, 2)).toEqual([
      { output: { kind: 'stream', name: 'stdout', text: 'first\n' } },
      { output: { kind: 'stream', name: 'stdout', text: 'second\n' } },
    ]);
    // The first line went out on its own write, before the handler (so the program) finished.
    expect(readInChunks(writes[0].bytes, [])).toEqual([frames[0]]);
    expect(writes[0].programEnded).toBe(false);
    const last = frames.at(-1);
    if (!last || !('response' in last)) {
      throw new Error('the last frame is not the response');
    }
    expect(last.response).toMatchObject({ output: [], outcome: { status: 'ok' } });
    const answer = await readReply({ payload: last.response, output: [], bytes: 0 }, built.event, never);
    expect(answer.outcome.status).toBe('ok');
    const result = deserialize((answer.outcome as { result: Uint8Array }).result) as ProgramResult;
    expect(result.value).toBe(42);
  });
});

describe('LambdaBackend with response streaming', () => {
  let server: StreamServer | undefined;
  let backend: LambdaBackend | undefined;

  afterEach(async () => {
    await backend?.dispose();
    await server?.stop();
    backend = undefined;
    server = undefined;
  });

  /** Runs the print-sleep-print cell; what the observer saw, and whether the runner was still running then. */
  async function run(): Promise<{
    result: InvocationResult;
    seen: { text: string; whileRunning: boolean }[];
  }> {
    const current = server;
    if (!current) {
      throw new Error('no server');
    }
    const seen: { text: string; whileRunning: boolean }[] = [];
    const result = await backend!.invoke(
      cellRequest(PRINT_SLEEP_PRINT),
      { onStream: (_name, text) => seen.push({ text, whileRunning: current.running() }) },
      never,
    );
    return { result, seen };
  }

  function start(streaming: boolean, stream: StreamMode): Promise<void> {
    return startStreamServer(runner, { streaming }).then((started) => {
      server = started;
      const settings: LambdaSettings = { ...s3, endpoint: started.endpoint, stream };
      backend = new LambdaBackend({ settings: () => settings });
    });
  }

  it('hands output to the observer while the invocation runs, once, then the result', async () => {
    await start(true, 'auto');
    const { result, seen } = await run();
    expect(result.outcome.status).toBe('ok');
    expect(seen.map((s) => s.text)).toEqual(['first\n', 'second\n']);
    expect(seen[0].whileRunning).toBe(true);
    expect(result.attempts).toHaveLength(1);
    expect(server!.calls).toEqual(['stream']);
  });

  it('auto: falls back to Invoke where there is no streaming route, in the same attempt, and remembers it', async () => {
    await start(false, 'auto');
    const first = await run();
    const second = await run();
    for (const { result, seen } of [first, second]) {
      expect(result.outcome.status).toBe('ok');
      expect(result.attempts).toHaveLength(1);
      expect(seen.map((s) => s.text)).toEqual(['first\n', 'second\n']);
      // Buffered: the output came with the answer.
      expect(seen[0].whileRunning).toBe(false);
    }
    expect(server!.calls).toEqual(['refused', 'invoke', 'invoke']);
  });

  it('off: invokes synchronously; on: an endpoint without streaming is an error, not a fallback', async () => {
    await start(false, 'off');
    const off = await run();
    expect(off.result.outcome.status).toBe('ok');
    expect(server!.calls).toEqual(['invoke']);
    await backend!.dispose();
    await server!.stop();
    await start(false, 'on');
    const on = await run();
    expect(on.result.outcome.status).toBe('error');
    expect(on.seen).toEqual([]);
    expect(server!.calls).toEqual(['refused']);
  });
});
