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

/** Reads an Invoke's output for `event`. */
export async function readAnswer(
  output: InvokeCommandOutput,
  event: RunnerEvent,
  signal: AbortSignal,
): Promise<AttemptAnswer> {
  const { report, lines } = parseLogTail(output.LogResult);
  const raw = output.Payload ?? new Uint8Array();
  const empty = {
    output: [],
    droppedOutputBytes: 0,
    lateErrors: [],
    report,
    stored: [],
    payloadRequests: { put: 0, get: 0, list: 0, delete: 0 },
  };
  const parsed = parseJson(raw);
  if (output.FunctionError) {
    const outcome = failureOutcome({
      functionError: output.FunctionError,
      payload: parsed,
      report,
      timeoutS: event.timeoutS,
      memoryMb: event.memoryMb,
      logLines: lines,
    });
    return { ...empty, outcome, bytesOut: raw.byteLength };
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
      bytesOut: raw.byteLength,
    };
  }
  let response: RunnerResponse;
  let bytesOut = raw.byteLength;
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
    output: response.output,
    droppedOutputBytes: response.droppedOutputBytes,
    lateErrors: response.lateErrors,
    figures: response.figures,
    report,
    bytesOut,
    stored,
  };
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
