/**
 * The runner: the one Lambda handler every `--backend lambda` invocation
 * runs. It is a thin entry over the embedded runtime's own worker (and so
 * over runtime/program): each Lambda execution environment keeps one warm
 * program process, started from the same worker bundle the embedded runtime
 * starts, which runs one attempt at a time. The process boundary is what
 * lets the runner enforce a cell's `--timeout` and `--memory` inside a
 * function whose own timeout and memory are fixed (a runaway loop is killed
 * at the cell's timeout, not billed up to the function's), and report a
 * crash, an exit or an out-of-memory as such rather than losing the
 * environment with it. Output is collected in order and returned with the
 * outcome (`handler`), or streamed as it is made (`streamingHandler`, on
 * AWS); what does not fit the response goes through the payload bucket.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Writable } from 'node:stream';

import { SDK_NODE_WARNING_OFF } from '../../aws-sdk-env';
import type { AttemptRecord, InvocationObserver, InvocationRequest } from '../backend';
import { WORKER_BUNDLE } from '../local/config';
import { LocalBackend } from '../local/local-backend';
import { ENVELOPE_RESERVE_BYTES, LAMBDA_LIMITS } from './config';
import { sharedStore } from '../../exchange/store/shared';
import { readPayload, storePayload, toPayload } from './payload';
import {
  encodeFrame,
  RUNNER_PROTOCOL,
  RunnerEvent,
  RunnerLateError,
  RunnerOutcome,
  RunnerOutput,
  RunnerResponse,
  SpilledResponse,
} from './protocol';

/** Output an attempt keeps for its response, bytes; the rest is dropped and counted. */
export const RUNNER_OUTPUT_LIMIT_BYTES = 32 * 1024 * 1024;

/** Raised for an event that is not a runner event of this protocol. */
export class RunnerEventError extends Error {
  override readonly name = 'RunnerEventError';
}

Object.assign(process.env, SDK_NODE_WARNING_OFF);

/** This execution environment's id, in telemetry and `%serverless status`. */
const environmentId = `lambda-${randomUUID().slice(0, 8)}`;

/** The worker bundle: next to this file in the deployment package, else the compiled package's. */
function workerPath(): string {
  const packaged = path.join(__dirname, 'src', 'runtime', 'local', WORKER_BUNDLE);
  return existsSync(packaged) ? packaged : path.join(__dirname, '..', 'local', WORKER_BUNDLE);
}

let programs: LocalBackend | undefined;

/** The environment's one program process manager, made on first use and kept while the environment lives. */
function programProcesses(): LocalBackend {
  programs ??= new LocalBackend({
    concurrency: 1,
    maxColdStarts: 1,
    pipelineDepth: 1,
    // A Lambda environment is isolated already, and has no user namespaces for bubblewrap.
    sandbox: 'off',
    // Frozen between invocations, so never expires while the sandbox lives.
    idleExpiryMs: LAMBDA_LIMITS.maxTimeoutS * 1000 * 16,
    storeDir: path.join(os.tmpdir(), 'serverless-kernel-store'),
    embeddedStoreUnavailable:
      "This invocation runs on AWS Lambda, and the embedded store is a directory on the notebook's " +
      'machine that it cannot reach. Give the kernel a store both reach: %serverless config --store ' +
      's3://BUCKET/PREFIX (or a redis:// URL), or --store on the cell.',
    workerPath: workerPath(),
  });
  return programs;
}

/**
 * Stops this environment's program process and forgets the late errors
 * waiting for a response; the next invocation starts afresh. A Lambda
 * environment's process ends with its sandbox: this is for a process that
 * hosts the handler itself and must exit cleanly (tests).
 */
export async function disposeRunner(): Promise<void> {
  const running = programs;
  programs = undefined;
  lateErrors.splice(0);
  await running?.dispose();
}

/** Late errors of earlier invocations in this environment, sent with the next response. */
const lateErrors: RunnerLateError[] = [];
/** At most this many late errors wait for a response (the oldest are dropped). */
const MAX_PENDING_LATE_ERRORS = 16;

/** The Lambda handler (buffered): the output returns with the response. serverless-offline calls this one. */
export async function handler(event: unknown): Promise<RunnerResponse | SpilledResponse> {
  return run(event, new OutputCollector());
}

/** A response-streaming handler, as AWS's Node.js runtime calls it once streamified. */
export type StreamingHandler = (event: unknown, responseStream: Writable, context?: unknown) => Promise<void>;

/** What AWS's Node.js runtime provides as the global `awslambda` (only the part used here). */
interface AwsLambdaGlobal {
  streamifyResponse?: (handler: StreamingHandler) => StreamingHandler;
}

/**
 * The Lambda handler that streams (what `%serverless deploy` deploys): each
 * output item is written as a frame as the program makes it, then the
 * response (protocol.ts RunnerFrame). Defined only where the runtime
 * provides `awslambda.streamifyResponse` when this module loads (AWS
 * Lambda); elsewhere undefined.
 */
export const streamingHandler: StreamingHandler | undefined = (
  globalThis as { awslambda?: AwsLambdaGlobal }
).awslambda?.streamifyResponse?.(streamAnswer);

async function streamAnswer(event: unknown, responseStream: Writable): Promise<void> {
  try {
    const response = await run(
      event,
      new OutputCollector((item) => responseStream.write(encodeFrame({ output: item }))),
    );
    responseStream.write(encodeFrame({ response }));
  } finally {
    await new Promise<void>((resolve) => responseStream.end(resolve));
  }
}

/** Runs the event's attempt; output goes to `collected`. */
async function run(event: unknown, collected: OutputCollector): Promise<RunnerResponse | SpilledResponse> {
  const request = checkEvent(event);
  const inputs = await readInputs(request);
  const invocation: InvocationRequest = {
    id: request.id,
    runId: request.runId,
    index: request.index,
    program: { hash: request.program.hash, filename: request.program.filename, source: inputs.source },
    captures: { hash: request.captures.hash, bytes: inputs.captures },
    element: inputs.element,
    memoryMb: request.memoryMb,
    timeoutS: request.timeoutS,
    // The kernel retries, across environments: a retry here would hide a crash from it.
    retries: 0,
    cwd: __dirname,
    store: request.store,
  };
  const observer = collected.observer(request);
  // Never aborted: the function's own timeout is the backstop, the cell's is enforced by the process.
  const result = await programProcesses().invoke(invocation, observer, new AbortController().signal);
  const last = result.attempts.at(-1);
  const outcome = await toRunnerOutcome(result.outcome, request);
  const response: RunnerResponse = {
    protocol: RUNNER_PROTOCOL,
    outcome,
    output: collected.output,
    droppedOutputBytes: collected.dropped,
    // This process reads and writes the bucket for payloads only (programs run in their own process).
    payloadRequests: sharedStore(request.spill.store).take().requests,
    lateErrors: lateErrors.splice(0),
    figures: figuresOf(last),
  };
  return fitResponse(response, request);
}

function figuresOf(record: AttemptRecord | undefined): RunnerResponse['figures'] {
  return {
    environmentId,
    cold: record?.cold ?? false,
    initMs: record?.initMs ?? 0,
    durationMs: record?.durationMs ?? 0,
    cpuMs: record?.cpuMs,
    maxMemoryUsedMb: record?.maxMemoryUsedMb,
  };
}

/** The event, checked: a runner event of this protocol. */
function checkEvent(event: unknown): RunnerEvent {
  if (typeof event !== 'object' || event === null || !('protocol' in event)) {
    throw new RunnerEventError(
      'This function is the serverless-kernel runner: invoke it from a serverless-ts kernel ' +
        '(%%serverless --backend lambda), not directly.',
    );
  }
  const protocol = (event as { protocol: unknown }).protocol;
  if (protocol !== RUNNER_PROTOCOL) {
    throw new RunnerEventError(
      `The runner speaks protocol ${RUNNER_PROTOCOL} and the kernel sent ${String(protocol)}: ` +
        'deploy the runner of this kernel version with %serverless deploy.',
    );
  }
  return event as RunnerEvent;
}

async function readInputs(
  request: RunnerEvent,
): Promise<{ source: string; captures: Uint8Array; element?: Uint8Array }> {
  const [source, captures, element] = await Promise.all([
    readPayload(request.program.source),
    readPayload(request.captures.bytes),
    request.element === undefined ? undefined : readPayload(request.element),
  ]);
  return { source: Buffer.from(source).toString('utf8'), captures, element };
}

/** The outcome for the response; a result too large to return inline goes to the bucket. */
async function toRunnerOutcome(
  outcome: Awaited<ReturnType<LocalBackend['invoke']>>['outcome'],
  request: RunnerEvent,
): Promise<RunnerOutcome> {
  if (outcome.status === 'ok') {
    const inlineLimit = LAMBDA_LIMITS.syncPayloadBytes - ENVELOPE_RESERVE_BYTES;
    const ref = { store: request.spill.store, key: `${request.spill.key}.result` };
    return { status: 'ok', result: await toPayload(outcome.result, inlineLimit, ref) };
  }
  if (outcome.status === 'error') {
    return { status: 'error', error: outcome.error };
  }
  return { status: outcome.status, message: outcome.message };
}

/** The response, or a pointer to it in the bucket when it would pass the payload limit. */
async function fitResponse(
  response: RunnerResponse,
  request: RunnerEvent,
): Promise<RunnerResponse | SpilledResponse> {
  const json = JSON.stringify(response);
  if (Buffer.byteLength(json) <= LAMBDA_LIMITS.syncPayloadBytes - ENVELOPE_RESERVE_BYTES) {
    return response;
  }
  const ref = { store: request.spill.store, key: `${request.spill.key}.response` };
  await storePayload(Buffer.from(json), ref);
  // Billed to the attempt, though made after the count in the response: the kernel adds it when it reads the pointer.
  sharedStore(request.spill.store).take();
  return { protocol: RUNNER_PROTOCOL, spilled: ref };
}

/**
 * An attempt's output, in order, up to RUNNER_OUTPUT_LIMIT_BYTES: kept for
 * the response, or handed to `forward` as it is made (and not kept).
 */
class OutputCollector {
  readonly output: RunnerOutput[] = [];
  dropped = 0;
  private bytes = 0;

  constructor(private readonly forward?: (item: RunnerOutput) => void) {}

  observer(request: RunnerEvent): InvocationObserver {
    return {
      onStream: (name, text) => this.add({ kind: 'stream', name, text }),
      onDisplay: (data, metadata, displayId, update) =>
        this.add({ kind: 'display', data, metadata, displayId, update }),
      onClear: (wait) => this.add({ kind: 'clear', wait }),
      onEvent: (event) => this.add({ kind: 'event', event }),
      onLateError: (info) => {
        lateErrors.push({ invocationId: request.id, attempt: request.attempt, error: info.error });
        lateErrors.splice(0, Math.max(0, lateErrors.length - MAX_PENDING_LATE_ERRORS));
      },
    };
  }

  private add(item: RunnerOutput): void {
    const size = Buffer.byteLength(JSON.stringify(item));
    if (this.bytes + size > RUNNER_OUTPUT_LIMIT_BYTES) {
      this.dropped += size;
      return;
    }
    this.bytes += size;
    if (this.forward) {
      this.forward(item);
    } else {
      this.output.push(item);
    }
  }
}
