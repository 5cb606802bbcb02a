/**
 * How an invocation that Lambda answered with a function error ended, as
 * the kernel's attempt outcomes say it (runtime/backend.ts): the platform's
 * own failures (a timeout, out-of-memory, the runtime exiting) told apart
 * from an error the program threw, worded as the embedded runtime words
 * them (runtime/failure-messages.ts).
 */
import type { AttemptOutcome, RemoteError } from '../backend';
import { OUT_OF_MEMORY, outOfMemoryMessage, timeoutMessage } from '../failure-messages';
import { crashSummary } from '../local/end-report';
import type { LambdaReport } from './report';

/** An Invoke answer with `FunctionError` set, and what came with it. */
export interface FunctionFailure {
  /** The `FunctionError` of the answer: `Handled` or `Unhandled`. */
  functionError: string;
  /** The answer's payload, parsed from JSON: `{ errorType, errorMessage, trace? }` from Node.js runtimes. */
  payload: unknown;
  /** The attempt's REPORT record, when the log tail held one. */
  report?: LambdaReport;
  /** The cell's `--timeout`, s. */
  timeoutS: number;
  /** The cell's `--memory`, MB. */
  memoryMb: number;
  /** The function's log lines from the tail (LambdaLogTail.lines), to tell how the runtime died. */
  logLines?: readonly string[];
}

/** `errorType` of an invocation Lambda stopped at the function's timeout. */
export const TIMEOUT_ERROR_TYPE = 'Sandbox.Timedout';

/** `errorType` (and REPORT `Error Type`) of an invocation Lambda stopped for exceeding its memory. */
export const OUT_OF_MEMORY_ERROR_TYPE = 'Runtime.OutOfMemory';

/** `errorType`s of a runtime that exited for another reason: the environment died, not the program's answer. */
export const RUNTIME_EXIT_ERROR_TYPES: readonly string[] = ['Runtime.ExitError', 'Runtime.Unknown'];

/** Lambda's timeout message, with the seconds it ran. */
const TASK_TIMED_OUT = /Task timed out after (\d+(?:\.\d+)?) seconds/;

/** The same as the platform words it in a payload: `RequestId: <id> Error: Task timed out after ...`. */
const PLATFORM_TIMED_OUT = /^RequestId: \S+ Error: Task timed out after \d+(?:\.\d+)? seconds/;

/** serverless-offline's answer when a handler outlives its timeout (src/lambda/LambdaFunction.js). */
const OFFLINE_TIMEOUT_MESSAGE = '[504] - Lambda timeout.';

/**
 * How Lambda reports a runtime that a memory limit ended: killed (current
 * runtimes), or exited before completing the request (older ones).
 */
const KILLED = /signal: killed|Process exited before completing request/;

/**
 * The share of Memory Size from which Max Memory Used says a killed runtime
 * ran out of memory: Max Memory Used is sampled, so a runtime killed at its
 * limit may report a little less.
 */
export const KILLED_AT_MEMORY_SHARE = 0.95;

/** Lambda's prefix of platform error messages: `RequestId: <id> Error: `. */
const REQUEST_ID_PREFIX = /^RequestId: \S+ Error: /;

/**
 * The outcome of an attempt that ended with a function error:
 * - `timeout` when Lambda stopped it at its timeout (`Sandbox.Timedout`,
 *   "RequestId: ... Error: Task timed out after N seconds", a REPORT with
 *   `Status: timeout`);
 * - `out-of-memory` when it ran out of memory (`Runtime.OutOfMemory` in the
 *   payload or the REPORT, a runtime killed with Max Memory Used at Memory
 *   Size, V8's heap-out-of-memory in the log);
 * - `crashed` (retried) when the runtime exited otherwise
 *   (`Runtime.ExitError`, `Runtime.Unknown`);
 * - `error` for anything else: what the program threw, with its stack.
 * A `Handled` error is the function's own answer: only the REPORT can make
 * it a platform failure, never its payload (a program may rethrow another
 * function's timeout).
 */
export function failureOutcome(input: FunctionFailure): AttemptOutcome {
  const { errorType, errorMessage, trace } = errorFields(input.payload);
  const { report, memoryMb } = input;
  const fromPlatform = input.functionError !== 'Handled';
  if (report?.status === 'timeout' || (fromPlatform && isTimeoutPayload(errorType, errorMessage))) {
    return { status: 'timeout', message: timeoutText(input.timeoutS, errorMessage) };
  }
  if (
    report?.errorType === OUT_OF_MEMORY_ERROR_TYPE ||
    (fromPlatform && errorType === OUT_OF_MEMORY_ERROR_TYPE)
  ) {
    return {
      status: 'out-of-memory',
      message: outOfMemoryMessage(memoryMb, report ? { usedMb: report.maxMemoryUsedMb } : 'platform'),
    };
  }
  const runtimeExited = fromPlatform && RUNTIME_EXIT_ERROR_TYPES.includes(errorType);
  const logText = (input.logLines ?? []).join('\n');
  if (runtimeExited && OUT_OF_MEMORY.test(logText)) {
    return { status: 'out-of-memory', message: outOfMemoryMessage(memoryMb, 'heap-limit') };
  }
  if (
    (runtimeExited || (fromPlatform && errorType === '')) &&
    KILLED.test(errorMessage) &&
    report &&
    report.maxMemoryUsedMb >= report.memorySizeMb * KILLED_AT_MEMORY_SHARE
  ) {
    return {
      status: 'out-of-memory',
      message: outOfMemoryMessage(memoryMb, { usedMb: report.maxMemoryUsedMb }),
    };
  }
  if (runtimeExited) {
    const why = errorMessage.replace(REQUEST_ID_PREFIX, '').trim() || 'Runtime exited';
    const tail = crashSummary(logText);
    return {
      status: 'crashed',
      message: `${why} before the invocation finished (${errorType})${tail ? `: ${tail}` : ''}`,
    };
  }
  return { status: 'error', error: remoteError(errorType, errorMessage, trace) };
}

/** Whether a payload is Lambda's (or serverless-offline's) own timeout answer. */
function isTimeoutPayload(errorType: string, errorMessage: string): boolean {
  return (
    errorType === TIMEOUT_ERROR_TYPE ||
    PLATFORM_TIMED_OUT.test(errorMessage) ||
    // Older runtimes sent the log line alone, with no errorType: `<time> <id> Task timed out after ...`.
    (errorType === '' && TASK_TIMED_OUT.test(errorMessage)) ||
    errorMessage === OFFLINE_TIMEOUT_MESSAGE
  );
}

/**
 * The timeout message of the cell's `--timeout`; when Lambda says it stopped
 * the invocation at another time (the function's own timeout), that too.
 */
function timeoutText(timeoutS: number, errorMessage: string): string {
  const message = timeoutMessage(timeoutS);
  const said = TASK_TIMED_OUT.exec(errorMessage);
  const platformS = said ? Number(said[1]) : undefined;
  if (platformS === undefined || platformS.toFixed(2) === timeoutS.toFixed(2)) {
    return message;
  }
  return `${message} (Lambda stopped it after ${platformS.toFixed(2)} seconds.)`;
}

/** The fields of an error payload, whatever its shape: strings, empty when absent. */
function errorFields(payload: unknown): { errorType: string; errorMessage: string; trace: string } {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return {
      errorType: '',
      errorMessage: payload === undefined || payload === null ? '' : String(payloadText(payload)),
      trace: '',
    };
  }
  const fields = payload as Record<string, unknown>;
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  // Node.js runtimes send `trace`; others (and older ones) `stackTrace`.
  const frames = Array.isArray(fields.trace) ? fields.trace : fields.stackTrace;
  const trace = Array.isArray(frames)
    ? frames.filter((frame): frame is string => typeof frame === 'string').join('\n')
    : text(frames);
  return { errorType: text(fields.errorType), errorMessage: text(fields.errorMessage), trace };
}

function payloadText(payload: unknown): string {
  return typeof payload === 'string' ? payload : JSON.stringify(payload);
}

/**
 * The program's error as the kernel shows a remote one. A Node.js runtime
 * names a thrown non-Error by its `typeof` (`string`, `object`...) with its
 * `String()` as the message and no trace.
 */
function remoteError(errorType: string, errorMessage: string, trace: string): RemoteError {
  const name = errorType || 'Error';
  return { name, message: errorMessage, stack: trace || `${name}: ${errorMessage}` };
}
