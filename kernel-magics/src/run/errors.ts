/**
 * Errors a `%%serverless` run ends with, shaped for the cell's `error`
 * output: the remote error with its stack mapped to cell lines, and the
 * runtime's own failures (timeout, out of memory, crash) with what to do.
 */
import { AttemptOutcome, InvocationResult } from '../runtime/backend';
import { CellPosition, mapStackFrames } from '../plan/stack-map';

/** An error thrown by the cell's code in an invocation; `stack` holds cell-line frames. */
export class RemoteCellError extends Error {
  constructor(name: string, message: string, frames: string[], where: string) {
    super(message);
    this.name = name;
    this.stack = [`${name}: ${message}`, ...frames, `    at ${where}`].join('\n');
  }
}

/** The runtime stopped the invocation (timeout, out of memory, crash, cancelled). */
export class InvocationFailedError extends Error {
  constructor(
    name: string,
    message: string,
    readonly status: AttemptOutcome['status'],
  ) {
    super(message);
    this.name = name;
    this.stack = `${name}: ${message}`;
  }
}

/** Some elements of a `--map` failed. */
export class MapFailedError extends Error {
  override readonly name = 'ServerlessMapError';
  constructor(
    readonly failed: number[],
    total: number,
  ) {
    const shown = failed.slice(0, 10).join(', ') + (failed.length > 10 ? ', ...' : '');
    super(
      `${failed.length} of ${total} elements failed (index ${shown}). ` +
        `The results of the others are kept; run %serverless retry to re-run only the failed ones.`,
    );
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Where an invocation ran, for the last traceback line. */
function whereItRan(result: InvocationResult, index?: number): string {
  const attempt = result.attempts[result.attempts.length - 1];
  const element = index === undefined ? '' : `, element ${index}`;
  return attempt
    ? `invocation ${result.id.slice(0, 8)} in ${attempt.environmentId}${element}`
    : `invocation ${result.id.slice(0, 8)}${element}`;
}

/** The error a failed invocation becomes in the cell. */
export function invocationError(result: InvocationResult, position: CellPosition, index?: number): Error {
  const outcome = result.outcome;
  switch (outcome.status) {
    case 'ok':
      throw new Error('invocationError called for a successful invocation');
    case 'error':
      return new RemoteCellError(
        outcome.error.name,
        outcome.error.message,
        mapStackFrames(outcome.error.stack, position),
        whereItRan(result, index),
      );
    case 'timeout':
      return new InvocationFailedError(
        'InvocationTimeout',
        `${outcome.message} Raise --timeout.`,
        outcome.status,
      );
    case 'out-of-memory':
      return new InvocationFailedError('OutOfMemory', outcome.message, outcome.status);
    case 'crashed': {
      const tries = result.attempts.length;
      return new InvocationFailedError(
        'InvocationCrashed',
        `${outcome.message} (${tries} attempt${tries === 1 ? '' : 's'}; retries are set with --retries)`,
        outcome.status,
      );
    }
    case 'cancelled':
      return new InvocationFailedError('Cancelled', outcome.message, outcome.status);
  }
}

/** A one-line description of a failed element for the failure table. */
export function failureSummary(error: Error): string {
  const firstFrame = (error.stack ?? '').split('\n').find((line) => line.includes('<cell>:'));
  const at = firstFrame ? ` (${firstFrame.trim().replace(/^at /, '')})` : '';
  return `${error.name}: ${error.message}${at}`;
}
