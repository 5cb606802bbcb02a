/**
 * Errors a `%%serverless` run ends with, shaped for the cell's `error`
 * output: the remote error with its stack mapped to cell lines, and the
 * runtime's own failures (timeout, out of memory, crash) with what to do.
 * Each class's `name` (the cell's `ename`) is the class's own name, except
 * {@link RemoteCellError}'s, which is the name of what the code threw.
 */
import { errorHeader, UNCAUGHT } from '../output/format';
import { InvocationRequest, InvocationResult, LateErrorInfo } from '../runtime/backend';
import { CellPosition, mapStackFrames } from '../plan/stack-map';

/** An error thrown by the cell's code in an invocation; `stack` holds cell-line frames. */
export class RemoteCellError extends Error {
  constructor(name: string, message: string, frames: string[], where: string) {
    super(message);
    this.name = name;
    this.stack = [errorHeader(name, message), ...frames, `    at ${where}`].join('\n');
  }
}

/** The runtime stopped the invocation; the subclass says how. */
export abstract class InvocationFailedError extends Error {
  constructor(message: string) {
    super(message);
    // The stack would show the kernel's frames, which say nothing about the cell.
    this.stack = `${new.target.name}: ${message}`;
  }
}

/** The invocation ran past its `--timeout` and was killed. */
export class InvocationTimeout extends InvocationFailedError {
  override readonly name = 'InvocationTimeout';
}

/** The invocation's environment went over its `--memory`. */
export class OutOfMemory extends InvocationFailedError {
  override readonly name = 'OutOfMemory';
}

/** The invocation's environment died otherwise, on every attempt. */
export class InvocationCrashed extends InvocationFailedError {
  override readonly name = 'InvocationCrashed';
}

/** The invocation was cancelled before it finished. */
export class InvocationCancelled extends InvocationFailedError {
  override readonly name = 'InvocationCancelled';
}

/** Some elements of a `--map` failed. */
export class MapFailedError extends Error {
  override readonly name = 'MapFailedError';
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

/** The run spent its `--budget` before all its invocations were dispatched. */
export class BudgetSpentError extends Error {
  override readonly name = 'BudgetSpentError';
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
    case 'error': {
      const { inspected } = outcome.error;
      // A thrown non-Error is shown as an ordinary cell shows it: `Uncaught <value>`.
      return inspected === undefined
        ? new RemoteCellError(
            outcome.error.name,
            outcome.error.message,
            mapStackFrames(outcome.error.stack, position),
            whereItRan(result, index),
          )
        : new RemoteCellError(UNCAUGHT, inspected, [], whereItRan(result, index));
    }
    case 'timeout':
      return new InvocationTimeout(`${outcome.message} Raise --timeout.`);
    case 'out-of-memory':
      return new OutOfMemory(outcome.message);
    case 'crashed': {
      const tries = result.attempts.length;
      return new InvocationCrashed(
        `${outcome.message} (${tries} attempt${tries === 1 ? '' : 's'}; retries are set with --retries)`,
      );
    }
    case 'cancelled':
      return new InvocationCancelled(outcome.message);
  }
}

/** A one-line description of a failed element for the failure table. */
export function failureSummary(error: Error): string {
  const firstFrame = (error.stack ?? '').split('\n').find((line) => line.includes('<cell>:'));
  const at = firstFrame ? ` (${firstFrame.trim().replace(/^at /, '')})` : '';
  return `${errorHeader(error.name, error.message)}${at}`;
}

/**
 * The warning that code an invocation left behind failed after it ended.
 * It is written where output goes when it happens (the run's cell while the
 * run goes on, else the cell running then), so it names the run.
 */
export function lateErrorNote(
  label: string,
  executionCount: number | undefined,
  request: InvocationRequest,
  info: LateErrorInfo,
  position: CellPosition,
): string {
  const { error } = info;
  const run = `${executionCount === undefined ? '' : `[${executionCount}] `}${label}`;
  const element = request.index === undefined ? '' : `, element ${request.index}`;
  const header =
    error.inspected === undefined ? errorHeader(error.name, error.message) : `${UNCAUGHT} ${error.inspected}`;
  const frames = mapStackFrames(error.stack, position);
  return (
    `Warning: code that invocation ${request.id.slice(0, 8)}${element} of ${run} left running after ` +
    `it returned failed, and its environment ${info.environmentId} was replaced (the invocation's ` +
    `own result stands; await timers and promises, or clear them, before the body ends):\n` +
    `${[header, ...frames].join('\n')}\n`
  );
}
