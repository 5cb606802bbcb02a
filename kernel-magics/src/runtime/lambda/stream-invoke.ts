/**
 * An attempt invoked with `InvokeWithResponseStream`: the runner's output
 * frames reach the kernel as the program makes them (runner
 * `streamingHandler`), and the answer, once the stream ends, reads as a
 * synchronous Invoke's does (response.ts readReply).
 *
 * Not every endpoint has the operation: serverless-offline 13 has no route
 * for it and answers HTTP 404 with its own (unmodelled) body, which the SDK
 * raises as an `Unknown` service exception. That answer comes before any
 * function runs, so falling back to a synchronous Invoke in the same attempt
 * neither loses nor repeats it. A function whose handler is not streamified
 * (a runner deployed with `serverless deploy`) still answers on AWS: its
 * whole response arrives as one chunk, read as an unframed answer.
 */
import { InvokeWithResponseStreamCommand, LambdaClient } from '@aws-sdk/client-lambda';

import type { InvokeReply } from './response';
import { RunnerFrameReader, RunnerOutput } from './protocol';

/** What to invoke. */
export interface StreamInvokeInput {
  functionName: string;
  qualifier: string;
  payload: Uint8Array;
}

/** Raised when the endpoint has no response-streaming operation (serverless-offline): invoke synchronously instead. */
export class StreamingUnsupportedError extends Error {
  override readonly name = 'StreamingUnsupportedError';
}

/**
 * Invokes with a response stream; `onOutput` gets each output item as it
 * arrives. Resolves with the reply once the stream ends.
 *
 * @throws StreamingUnsupportedError when the endpoint has no such operation (nothing ran).
 * @throws RunnerFrameError when the stream is not runner frames or ends inside one.
 * @throws the SDK's errors otherwise (throttling, a missing function, an abort).
 */
export async function invokeStreaming(
  client: LambdaClient,
  input: StreamInvokeInput,
  onOutput: (item: RunnerOutput) => void,
  signal: AbortSignal,
): Promise<InvokeReply> {
  let answer;
  try {
    answer = await client.send(
      new InvokeWithResponseStreamCommand({
        FunctionName: input.functionName,
        Qualifier: input.qualifier,
        InvocationType: 'RequestResponse',
        LogType: 'Tail',
        Payload: input.payload,
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    if (isMissingOperation(error)) {
      throw new StreamingUnsupportedError(
        'This Lambda endpoint has no InvokeWithResponseStream (serverless-offline has none): ' +
          'run %serverless config --stream auto (or off) to invoke it synchronously.',
      );
    }
    throw error;
  }
  const reader = new RunnerFrameReader();
  const output: RunnerOutput[] = [];
  let payload: unknown;
  let bytes = 0;
  let complete: { ErrorCode?: string; ErrorDetails?: string; LogResult?: string } = {};
  const take = (frames: ReturnType<RunnerFrameReader['push']>): void => {
    for (const frame of frames) {
      if ('output' in frame) {
        onOutput(frame.output);
      } else {
        payload = frame.response;
      }
    }
  };
  for await (const event of answer.EventStream ?? []) {
    if (event.PayloadChunk?.Payload) {
      bytes += event.PayloadChunk.Payload.byteLength;
      if (complete.ErrorCode === undefined) {
        take(reader.push(event.PayloadChunk.Payload));
      }
    } else if (event.InvokeComplete) {
      complete = event.InvokeComplete;
    }
  }
  if (complete.ErrorCode !== undefined) {
    // A streamed function error is the runtime's (Unhandled), its payload built from the stream's own fields.
    return {
      functionError: 'Unhandled',
      payload: errorPayload(complete.ErrorCode, complete.ErrorDetails),
      output,
      bytes,
      logResult: complete.LogResult,
    };
  }
  take(reader.end());
  return { payload, output, bytes, logResult: complete.LogResult };
}

/** A synchronous Invoke's error payload, from InvokeComplete's fields (ErrorDetails may be that JSON already). */
function errorPayload(code: string, details: string | undefined): unknown {
  try {
    const parsed = JSON.parse(details ?? '') as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'errorMessage' in parsed) {
      return { errorType: code, ...parsed };
    }
  } catch {
    // Plain text, as the details usually are.
  }
  return { errorType: code, errorMessage: details ?? '' };
}

/**
 * Whether an SDK error says the endpoint has no such operation: a 404 that
 * is none of Lambda's modelled errors (a missing function is a
 * `ResourceNotFoundException`, also 404, and must stay an error).
 */
export function isMissingOperation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) {
    return false;
  }
  const { name, $metadata } = error as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  if (name === 'UnknownOperationException') {
    return true;
  }
  return $metadata?.httpStatusCode === 404 && (name === 'Unknown' || name === 'NotFound');
}
