/**
 * Function errors Lambda answers an Invoke with, as attempt outcomes: the
 * platform's own failures (timeout, out-of-memory, the runtime exiting)
 * told apart from the program's errors, worded as the embedded runtime
 * words them. Payloads and REPORT lines are real ones, quoted from where
 * they are documented or were logged.
 */
import type { AttemptOutcome } from '../../kernel-magics/src/runtime/backend';
import { failureOutcome, FunctionFailure } from '../../kernel-magics/src/runtime/lambda/outcome';
import { LambdaReport, parseTextReport } from '../../kernel-magics/src/runtime/lambda/report';

function report(line: string): LambdaReport {
  const parsed = parseTextReport(line);
  if (!parsed) {
    throw new Error(`not a REPORT line: ${line}`);
  }
  return parsed;
}

function outcome(failure: Partial<FunctionFailure> & Pick<FunctionFailure, 'payload'>): AttemptOutcome {
  return failureOutcome({ functionError: 'Unhandled', timeoutS: 3, memoryMb: 128, ...failure });
}

function messageOf(result: AttemptOutcome): string {
  return 'message' in result ? result.message : '';
}

// The Lambda console's answer and log of a function that timed out (Sandbox.Timedout, AWS Lambda
// Developer Guide, "Troubleshoot invocation issues"; quoted from a public lab write-up).
const TIMED_OUT_PAYLOAD = {
  errorType: 'Sandbox.Timedout',
  errorMessage: 'RequestId: 1f60b20c-8ed7-41ed-9945-08dcafcc74ee Error: Task timed out after 3.00 seconds',
};
const TIMED_OUT_REPORT = report(
  'REPORT RequestId: 1f60b20c-8ed7-41ed-9945-08dcafcc74ee\tDuration: 3000.00 ms\tBilled Duration: 3403 ms\t' +
    'Memory Size: 128 MB\tMax Memory Used: 73 MB\tInit Duration: 402.04 ms\tStatus: timeout',
);

// An out-of-memory death as logged in production (REPORT `Status: error`, `Error Type:
// Runtime.OutOfMemory`; the Telemetry API's platform.report status and errorType).
const OUT_OF_MEMORY_REPORT = report(
  'REPORT RequestId: fa4e6a1f-083b-573d-ace2-090d2b00a3ac\tDuration: 6954.19 ms\tBilled Duration: 6955 ms\t' +
    'Memory Size: 1024 MB\tMax Memory Used: 1023 MB\tStatus: error\tError Type: Runtime.OutOfMemory',
);

// A runtime killed at its memory size: "Runtime exited with error: signal: killed" (a Runtime.ExitError)
// with Max Memory Used just under Memory Size, as sampled (cloudwithgagan.com, "Fix Lambda function
// timeout and memory errors", REPORT and error as quoted there).
const KILLED_PAYLOAD = {
  errorType: 'Runtime.ExitError',
  errorMessage: 'RequestId: abc-123 Error: Runtime exited with error: signal: killed',
};
const AT_MEMORY_SIZE_REPORT = report(
  'REPORT RequestId: abc-123\tDuration: 3001.50 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 127 MB',
);
// The same REPORT with Max Memory Used far below Memory Size (ours): a kill that is not memory's.
const WELL_BELOW_REPORT = report(
  'REPORT RequestId: abc-123\tDuration: 3001.50 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 61 MB',
);
// An older runtime's death over its memory: no errorType, "Process exited before completing request",
// Max Memory Used over Memory Size (gist a-h/5760e3f9599a880794bb69c2d0ab4aa2, "Lambda Failure Log Entries").
const EXITED_PAYLOAD = {
  errorMessage: 'RequestId: 16f8d3a2-26fc-11e8-bca6-73dbc61c39e7 Process exited before completing request',
};
const OVER_MEMORY_SIZE_REPORT = report(
  'REPORT RequestId: 16f8d3a2-26fc-11e8-bca6-73dbc61c39e7\tDuration: 24792.85 ms\tBilled Duration: 24800 ms\t' +
    'Memory Size: 128 MB\tMax Memory Used: 129 MB',
);

describe('failureOutcome: timeouts', () => {
  it('recognises Sandbox.Timedout with its REPORT, worded as the embedded runtime', () => {
    const result = outcome({ payload: TIMED_OUT_PAYLOAD, report: TIMED_OUT_REPORT });
    expect(result).toEqual({ status: 'timeout', message: 'Task timed out after 3.00 seconds.' });
  });

  it('names the cell’s --timeout, and Lambda’s own when it stopped the invocation at another time', () => {
    const result = outcome({ payload: TIMED_OUT_PAYLOAD, timeoutS: 1 });
    expect(result.status).toBe('timeout');
    expect(messageOf(result)).toMatch(/^Task timed out after 1\.00 seconds\./);
    expect(messageOf(result)).toContain('Lambda stopped it after 3.00 seconds');
  });

  it('recognises a REPORT with Status: timeout alone, whatever the payload', () => {
    const result = outcome({ payload: { errorType: 'Error', errorMessage: 'x' }, report: TIMED_OUT_REPORT });
    expect(result.status).toBe('timeout');
  });

  it('recognises the older runtimes’ payload: the log line, no errorType', () => {
    // As quoted in SST's Lambda log parser: `<time> <request id> Task timed out after 3.00 seconds`.
    const payload = {
      errorMessage:
        '2019-11-12T21:02:33.745Z 3df631f5-8d77-4429-a0e5-4ebb9a8714a1 Task timed out after 3.00 seconds',
    };
    expect(outcome({ payload }).status).toBe('timeout');
  });

  it('recognises serverless-offline’s timeout (src/lambda/LambdaFunction.js, LambdaTimeoutError)', () => {
    const payload = { errorType: 'Error', errorMessage: '[504] - Lambda timeout.', trace: [] };
    expect(outcome({ payload, timeoutS: 1 })).toEqual({
      status: 'timeout',
      message: 'Task timed out after 1.00 seconds.',
    });
  });

  it('leaves the program’s own error alone when it only mentions a timeout', () => {
    // A program that rethrows another function's timeout: its own Error, not Lambda's answer.
    const payload = {
      errorType: 'Error',
      errorMessage: 'the downstream call failed: Task timed out after 3.00 seconds',
      trace: [
        'Error: the downstream call failed: Task timed out after 3.00 seconds',
        '    at run (cell:3:9)',
      ],
    };
    expect(outcome({ payload }).status).toBe('error');
    expect(outcome({ payload: TIMED_OUT_PAYLOAD, functionError: 'Handled' }).status).toBe('error');
  });
});

describe('failureOutcome: out of memory', () => {
  it('recognises Runtime.OutOfMemory, naming --memory and what the REPORT says was used', () => {
    const result = outcome({
      payload: {
        errorType: 'Runtime.OutOfMemory',
        errorMessage: 'RequestId: fa4e6a1f Error: Runtime exited',
      },
      report: OUT_OF_MEMORY_REPORT,
      memoryMb: 1024,
    });
    expect(result).toEqual({
      status: 'out-of-memory',
      message:
        'Runtime exited: out of memory (it used 1023 MB, at --memory 1024 MB). ' +
        'Raise --memory or use less data per invocation.',
    });
  });

  it('recognises the REPORT’s Error Type alone, and the payload’s alone', () => {
    expect(outcome({ payload: KILLED_PAYLOAD, report: OUT_OF_MEMORY_REPORT }).status).toBe('out-of-memory');
    const alone = outcome({ payload: { errorType: 'Runtime.OutOfMemory' }, memoryMb: 512 });
    expect(alone.status).toBe('out-of-memory');
    expect(messageOf(alone)).toContain('--memory 512 MB');
  });

  it('recognises a runtime killed at its memory size, and not one killed well below it', () => {
    const killed = outcome({ payload: KILLED_PAYLOAD, report: AT_MEMORY_SIZE_REPORT });
    expect(killed.status).toBe('out-of-memory');
    expect(messageOf(killed)).toContain('it used 127 MB, at --memory 128 MB');
    const exited = outcome({ payload: EXITED_PAYLOAD, report: OVER_MEMORY_SIZE_REPORT });
    expect(messageOf(exited)).toContain('it used 129 MB, over --memory 128 MB');
    expect(outcome({ payload: KILLED_PAYLOAD, report: WELL_BELOW_REPORT }).status).toBe('crashed');
    expect(outcome({ payload: KILLED_PAYLOAD }).status).toBe('crashed');
  });

  it('recognises V8’s heap running out before Node aborts (Runtime.ExitError, "signal: aborted")', () => {
    // Node on Lambda: "Runtime exited with error: signal: aborted (core dumped)" (as quoted in SST's
    // Lambda log parser), after V8's fatal error on stderr.
    const result = outcome({
      payload: {
        errorType: 'Runtime.ExitError',
        errorMessage:
          'RequestId: 80925099-25b1-4a56-8f76-e0eda7ebb6d3 Error: Runtime exited with error: signal: aborted (core dumped)',
      },
      logLines: [
        '<--- Last few GCs --->',
        'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
      ],
      memoryMb: 256,
    });
    expect(result).toEqual({
      status: 'out-of-memory',
      message:
        'Runtime exited: out of memory (the V8 heap reached its limit at --memory 256 MB). ' +
        'Raise --memory or use less data per invocation.',
    });
  });
});

describe('failureOutcome: the runtime exiting (retried)', () => {
  it('makes Runtime.ExitError a crash, saying how the runtime exited', () => {
    // AWS re:Post Knowledge Center, "Lambda runtime error" (Runtime.ExitError).
    const result = outcome({
      payload: {
        errorType: 'Runtime.ExitError',
        errorMessage:
          'RequestId: 1234aa1b-cd50-6c78-90cd-ce1234ce9950 Error: Runtime exited with error: exit status 129',
      },
    });
    expect(result).toEqual({
      status: 'crashed',
      message:
        'Runtime exited with error: exit status 129 before the invocation finished (Runtime.ExitError)',
    });
  });

  it('adds what the log says last', () => {
    // The Node.js runtime's text log line of an uncaught error (tab-separated, level ERROR).
    const result = outcome({
      payload: {
        errorType: 'Runtime.ExitError',
        errorMessage: 'RequestId: r Error: Runtime exited without providing a reason',
      },
      logLines: ['2024-01-01T00:00:00.000Z\tr\tERROR\tTypeError: boom'],
    });
    expect(result.status).toBe('crashed');
    expect(messageOf(result)).toBe(
      'Runtime exited without providing a reason before the invocation finished (Runtime.ExitError): ' +
        '2024-01-01T00:00:00.000Z\tr\tERROR\tTypeError: boom',
    );
  });

  it('makes Runtime.Unknown a crash', () => {
    // The Runtime Interface Emulator's answer to an unknown runtime failure: `{"errorType":"Runtime.Unknown"}`.
    expect(outcome({ payload: { errorType: 'Runtime.Unknown' } })).toEqual({
      status: 'crashed',
      message: 'Runtime exited before the invocation finished (Runtime.Unknown)',
    });
  });
});

describe('failureOutcome: the program’s errors', () => {
  it('keeps the program’s error, its stack the Node.js runtime’s trace', () => {
    // aws-lambda-nodejs-runtime-interface-client, Errors.toRapidResponse: { errorType: error.name,
    // errorMessage: error.message, trace: error.stack.split('\n') }.
    const trace = [
      "TypeError: Cannot read properties of undefined (reading 'x')",
      '    at run (cell.js:3:14)',
    ];
    const result = outcome({
      payload: {
        errorType: 'TypeError',
        errorMessage: "Cannot read properties of undefined (reading 'x')",
        trace,
      },
    });
    expect(result).toEqual({
      status: 'error',
      error: {
        name: 'TypeError',
        message: "Cannot read properties of undefined (reading 'x')",
        stack: trace.join('\n'),
      },
    });
  });

  it('keeps a thrown non-Error as the runtime names it (its typeof), with no trace', () => {
    // The same function, for a value that is not an Error: { errorType: typeof error, errorMessage: error.toString(), trace: [] }.
    expect(outcome({ payload: { errorType: 'string', errorMessage: 'oops', trace: [] } })).toEqual({
      status: 'error',
      error: { name: 'string', message: 'oops', stack: 'string: oops' },
    });
  });

  it('keeps the runtime’s other errors as errors (not retried): the same code fails the same way', () => {
    // AWS Lambda Developer Guide, "Troubleshoot invocation issues": Runtime.NodejsExit, "Lambda runtime
    // client detected an unexpected Node.js exit code" (a promise that never settles).
    const payload = {
      errorType: 'Runtime.NodeJsExit',
      errorMessage: 'RequestId: r Error: Lambda runtime client detected an unexpected Node.js exit code',
    };
    expect(outcome({ payload }).status).toBe('error');
    expect(outcome({ payload: { errorType: 'Runtime.ImportModuleError', errorMessage: 'x' } }).status).toBe(
      'error',
    );
  });

  it('reads any payload without throwing', () => {
    for (const payload of [undefined, null, 'a string', 42, [1, 2], { errorType: 7, trace: 'x' }, {}]) {
      const result = outcome({ payload });
      expect(result.status).toBe('error');
    }
    expect(outcome({ payload: 'a string' })).toEqual({
      status: 'error',
      error: { name: 'Error', message: 'a string', stack: 'Error: a string' },
    });
  });
});
