/**
 * Reads what an Invoke returned: the runner's response (or the platform's
 * error when the function failed), the payloads it put in the bucket, and
 * the REPORT line of the log tail.
 */
import type { InvokeCommandOutput } from '@aws-sdk/client-lambda';

import type { StoreRequests } from '../../exchange/store/object-store';
import type { AttemptOutcome } from '../backend';
import { failureOutcome } from './outcome';
import { readPayload } from './payload';
import {
  isSpilled,
  RunnerEvent,
  RunnerFrameError,
  RunnerFrameReader,
  RunnerLateError,
  RunnerOutput,
  RunnerResponse,
  SpilledResponse,
  StoredRef,
} from './protocol';
import { LambdaReport, parseLogTail } from './report';

/** One attempt's answer, as the kernel uses it. */
export interface AttemptAnswer {
  outcome: AttemptOutcome;
  output: RunnerOutput[];
  droppedOutputBytes: number;
  lateErrors: RunnerLateError[];
  /** The runner's own figures (absent when the function failed before answering). */
  figures?: RunnerResponse['figures'];
  /** The platform's REPORT line, when the log tail had one (AWS; serverless-offline sends none). */
  report?: LambdaReport;
  /** Bytes received (the response, and what it pointed to in the bucket). */
  bytesOut: number;
  /** Objects the answer left in the bucket (delete them once read). */
  stored: StoredRef[];
  /** The runner's requests to the payload bucket (the spilled response's own PUT included). */
  payloadRequests: StoreRequests;
}

/**
 * What an invocation answered, however it travelled (a synchronous Invoke,
 * or a response stream once read to its end).
 */
export interface InvokeReply {
  /** Set when the function failed: `Handled`, `Unhandled`, or a streamed InvokeComplete's ErrorCode. */
  functionError?: string;
  /** With a function error, its payload (`{ errorType, errorMessage }`); else the runner's answer, parsed. */
  payload: unknown;
  /** Output items that came framed before the answer (a streamed answer's). */
  output: RunnerOutput[];
  /** Bytes received. */
  bytes: number;
  /** The base64 log tail (`LogType: 'Tail'`). */
  logResult?: string;
}

/** Reads an Invoke's output for `event`: a plain or a framed (streamed, then buffered by Lambda) answer. */
export async function readAnswer(
  output: InvokeCommandOutput,
  event: RunnerEvent,
  signal: AbortSignal,
): Promise<AttemptAnswer> {
  const raw = output.Payload ?? new Uint8Array();
  const reply = { functionError: output.FunctionError, bytes: raw.byteLength, logResult: output.LogResult };
  if (output.FunctionError) {
    return readReply({ ...reply, payload: parseJson(raw), output: [] }, event, signal);
  }
  return readReply({ ...reply, ...unframe(raw) }, event, signal);
}

/** Reads what an invocation answered for `event`. */
export async function readReply(
  reply: InvokeReply,
  event: RunnerEvent,
  signal: AbortSignal,
): Promise<AttemptAnswer> {
  const { report, lines } = parseLogTail(reply.logResult);
  const empty = {
    output: reply.output,
    droppedOutputBytes: 0,
    lateErrors: [],
    report,
    stored: [],
    payloadRequests: { put: 0, get: 0, list: 0, delete: 0 },
  };
  const parsed = reply.payload;
  if (reply.functionError) {
    const outcome = failureOutcome({
      functionError: reply.functionError,
      payload: parsed,
      report,
      timeoutS: event.timeoutS,
      memoryMb: event.memoryMb,
      logLines: lines,
    });
    return { ...empty, outcome, bytesOut: reply.bytes };
  }
  if (!isAnswer(parsed)) {
    return {
      ...empty,
      outcome: {
        status: 'crashed',
        message:
          'The function answered something that is not a serverless-kernel runner response: ' +
          'is --function the runner? Deploy it with %serverless deploy.',
      },
      bytesOut: reply.bytes,
    };
  }
  let response: RunnerResponse;
  let bytesOut = reply.bytes;
  const stored: StoredRef[] = [];
  if (isSpilled(parsed)) {
    const bytes = await readPayload({ stored: parsed.spilled }, signal);
    stored.push(parsed.spilled);
    bytesOut += bytes.byteLength;
    response = JSON.parse(Buffer.from(bytes).toString('utf8')) as RunnerResponse;
  } else {
    response = parsed;
  }
  let outcome: AttemptOutcome;
  if (response.outcome.status === 'ok') {
    const result = await readPayload(response.outcome.result, signal);
    if ('stored' in response.outcome.result) {
      stored.push(response.outcome.result.stored);
      bytesOut += result.byteLength;
    }
    outcome = { status: 'ok', result };
  } else {
    outcome = response.outcome;
  }
  const payloadRequests = { ...response.payloadRequests };
  if (isSpilled(parsed)) {
    payloadRequests.put += 1;
  }
  return {
    outcome,
    payloadRequests,
    output: [...reply.output, ...response.output],
    droppedOutputBytes: response.droppedOutputBytes,
    lateErrors: response.lateErrors,
    figures: response.figures,
    report,
    bytesOut,
    stored,
  };
}

/** The output frames and the answer of a body: framed (NDJSON) or one plain JSON response. */
function unframe(bytes: Uint8Array): { output: RunnerOutput[]; payload: unknown } {
  const reader = new RunnerFrameReader();
  const output: RunnerOutput[] = [];
  let payload: unknown;
  try {
    for (const frame of [...reader.push(bytes), ...reader.end()]) {
      if ('output' in frame) {
        output.push(frame.output);
      } else {
        payload = frame.response;
      }
    }
  } catch (error) {
    if (error instanceof RunnerFrameError) {
      return { output, payload: undefined };
    }
    throw error;
  }
  return { output, payload };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isAnswer(value: unknown): value is RunnerResponse | SpilledResponse {
  return (
    typeof value === 'object' &&
    value !== null &&
    'protocol' in value &&
    ('outcome' in value || 'spilled' in value)
  );
}
