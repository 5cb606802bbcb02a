/**
 * `execute_request`: runs a cell and publishes execute_input, output,
 * execute_result or error; answers with execute_reply. Also evaluates
 * `user_expressions` and records history.
 */
import { compileErrorContent, errorContent, interruptedContent, toMimeBundle } from '../output/format';
import { CodeEngine, ExecutionOutcome } from './engine';
import { HistoryStore } from './history';
import { IopubOutput } from './iopub-output';
import {
  booleanField,
  ErrorContent,
  JsonObject,
  JupyterMessage,
  MessageHeader,
  MimeBundle,
  objectField,
  stringField,
} from './messages';
import { StdinBroker } from './stdin';

/** What the execute handler needs from the kernel. */
export interface ExecuteContext {
  engine: CodeEngine;
  output: IopubOutput;
  history: HistoryStore;
  stdin: StdinBroker;
  publish(msgType: string, content: JsonObject, parent: MessageHeader): void;
}

/** The parsed fields of an execute_request. */
export interface ExecuteRequest {
  code: string;
  silent: boolean;
  storeHistory: boolean;
  userExpressions: JsonObject;
  allowStdin: boolean;
  stopOnError: boolean;
}

/** Reads an execute_request's content with the spec's defaults. */
export function parseExecuteRequest(content: JsonObject): ExecuteRequest {
  const silent = booleanField(content, 'silent', false);
  return {
    code: stringField(content, 'code'),
    silent,
    // silent=true forces store_history=false.
    storeHistory: !silent && booleanField(content, 'store_history', true),
    userExpressions: objectField(content, 'user_expressions'),
    allowStdin: booleanField(content, 'allow_stdin', true),
    stopOnError: booleanField(content, 'stop_on_error', true),
  };
}

/** The result of running one request: its reply content, and whether it failed with stop_on_error. */
export interface ExecuteResult {
  reply: JsonObject;
  /** The cell failed and asked (stop_on_error) that cells queued behind it be aborted. */
  abortsQueue: boolean;
}

function outcomeError(outcome: ExecutionOutcome): ErrorContent | undefined {
  switch (outcome.status) {
    case 'ok':
      return undefined;
    case 'error':
      return errorContent(outcome.error);
    case 'compile-error':
      return compileErrorContent(outcome.diagnostics);
    case 'interrupted':
      return interruptedContent();
  }
}

/** Runs execute requests one at a time (the caller serializes them). */
export class ExecuteHandler {
  private executionCount = 0;

  constructor(private readonly context: ExecuteContext) {}

  /** The count the next stored cell will get minus one (as in kernel replies). */
  get count(): number {
    return this.executionCount;
  }

  /** Runs the cell of `message` and returns the reply content. */
  async run(message: JupyterMessage): Promise<ExecuteResult> {
    const { engine, output, history, stdin, publish } = this.context;
    const request = parseExecuteRequest(message.content);
    if (request.storeHistory) {
      this.executionCount += 1;
    }
    const count = this.executionCount;
    if (!request.silent) {
      publish('execute_input', { code: request.code, execution_count: count }, message.header);
    }
    output.begin(message.header, request.silent);
    stdin.setTarget({ request: message, allowStdin: request.allowStdin });
    let outcome: ExecutionOutcome;
    try {
      outcome = await engine.execute(request.code, {
        executionCount: request.storeHistory ? count : undefined,
      });
    } finally {
      stdin.setTarget(undefined);
      stdin.cancel();
      output.flush();
    }
    const error = outcomeError(outcome);
    let resultText: string | null = null;
    if (outcome.status === 'ok' && outcome.hasValue) {
      const data = toMimeBundle(outcome.value);
      resultText = typeof data['text/plain'] === 'string' ? data['text/plain'] : null;
      if (!request.silent) {
        publish('execute_result', { execution_count: count, data, metadata: {} }, message.header);
      }
    }
    if (error && !request.silent) {
      publish('error', { ...error }, message.header);
    }
    if (request.storeHistory) {
      history.record(count, request.code, resultText);
    }
    if (error) {
      return {
        abortsQueue: request.stopOnError,
        reply: { status: 'error', execution_count: count, ...error },
      };
    }
    const userExpressions =
      Object.keys(request.userExpressions).length > 0
        ? await this.evaluateUserExpressions(request.userExpressions)
        : {};
    return {
      abortsQueue: false,
      reply: { status: 'ok', execution_count: count, payload: [], user_expressions: userExpressions },
    };
  }

  /** The reply to an execute request aborted after an earlier error. */
  abortedReply(): JsonObject {
    return { status: 'aborted', execution_count: this.executionCount };
  }

  private async evaluateUserExpressions(expressions: JsonObject): Promise<JsonObject> {
    const results: JsonObject = {};
    for (const [name, expression] of Object.entries(expressions)) {
      if (typeof expression !== 'string') {
        results[name] = {
          status: 'error',
          ename: 'TypeError',
          evalue: 'Expression is not a string',
          traceback: [],
        };
        continue;
      }
      const outcome = await this.context.engine.execute(expression);
      const error = outcomeError(outcome);
      if (error) {
        results[name] = { status: 'error', ...error };
      } else {
        const data: MimeBundle =
          outcome.status === 'ok' && outcome.hasValue
            ? toMimeBundle(outcome.value)
            : { 'text/plain': 'undefined' };
        results[name] = { status: 'ok', data, metadata: {} };
      }
    }
    return results;
  }
}
