/**
 * Turning values into MIME bundles (execute_result, user_expressions) and
 * thrown values into Jupyter error content.
 */
import { inspect } from 'node:util';

import { ErrorContent, MimeBundle } from '../kernel/messages';

/**
 * A value may describe its own rich representation by defining a method
 * under this symbol that returns a MIME bundle (as IPython's
 * `_repr_mimebundle_`). `text/plain` is added when missing.
 */
export const MIME_BUNDLE = Symbol.for('jupyter.mimebundle');

type RichValue = { [MIME_BUNDLE]: () => MimeBundle };

function isRich(value: unknown): value is RichValue {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as Partial<RichValue>)[MIME_BUNDLE] === 'function'
  );
}

/** text/plain as Node's REPL shows it (no colors). */
export function plainText(value: unknown): string {
  return inspect(value, { depth: 4, maxArrayLength: 100, maxStringLength: 10_000 });
}

/** The MIME bundle of a value: its own rich form when it has one, else text/plain. */
export function toMimeBundle(value: unknown): MimeBundle {
  if (isRich(value)) {
    try {
      const bundle = value[MIME_BUNDLE]();
      return { 'text/plain': plainText(value), ...bundle };
    } catch {
      // A broken custom representation still shows as text.
    }
  }
  return { 'text/plain': plainText(value) };
}

/** Frames of the kernel itself, which say nothing about the user's code. */
const INTERNAL_FRAME =
  /\(node:internal|at node:internal|[\\/]tslab[\\/]dist[\\/]|[\\/]serverless-kernel[\\/]|[\\/]kernel-magics[\\/]dist[\\/]/;

/**
 * The `ename` of a thrown value that is not an Error, as Node's REPL names
 * it (`Uncaught { a: 1 }`); errors that carry such a value from elsewhere
 * (an invocation) use it too, with the value's text as their message.
 */
export const UNCAUGHT = 'Uncaught';

/** The first traceback line of an error: `Name: message`, or `Uncaught <value>`. */
export function errorHeader(name: string, message: string): string {
  return name === UNCAUGHT ? `${UNCAUGHT} ${message}` : `${name}: ${message}`;
}

/** Error content for a value thrown by user code. */
export function errorContent(thrown: unknown): ErrorContent {
  if (thrown instanceof Error || (thrown !== null && typeof thrown === 'object' && 'stack' in thrown)) {
    const error = thrown as Error;
    const ename = typeof error.name === 'string' && error.name ? error.name : 'Error';
    const evalue = typeof error.message === 'string' ? error.message : plainText(error);
    const frames = (typeof error.stack === 'string' ? error.stack.split('\n') : [])
      .filter((line) => /^\s+at /.test(line) && !INTERNAL_FRAME.test(line))
      .map((line) => line.replace(/evalmachine\.<anonymous>/g, '<cell>'));
    return { ename, evalue, traceback: [errorHeader(ename, evalue), ...frames] };
  }
  const evalue = plainText(thrown);
  return { ename: UNCAUGHT, evalue, traceback: [errorHeader(UNCAUGHT, evalue)] };
}

/** Error content for TypeScript diagnostics (already formatted `line:col - text`). */
export function compileErrorContent(diagnostics: string[]): ErrorContent {
  const first = diagnostics[0] ?? 'The cell does not compile';
  return {
    ename: 'CompileError',
    evalue: first,
    traceback: diagnostics.length > 0 ? diagnostics : [first],
  };
}

/** Error content for a cell stopped by an interrupt. */
export function interruptedContent(): ErrorContent {
  return {
    ename: 'Interrupted',
    evalue: 'Execution interrupted by the user',
    traceback: ['Interrupted: execution interrupted by the user (kernel state is kept)'],
  };
}
