/**
 * What a program can know of the invocation running it: its ids, its
 * attempt and the store the kernel configured. The entry point (the local
 * worker, a Lambda handler) supplies it through {@link setInvocationSource};
 * the package's cell API (exchange, models) reads it with
 * {@link currentInvocation}. The source lives on a global symbol so that two
 * copies of this package (the bundled worker's and the one a program
 * requires) share it, as the output sink does.
 */

/** The invocation a program runs as. */
export interface InvocationContext {
  /** The invocation's id (the kernel's). */
  id: string;
  /** The cell run it belongs to. */
  runId: string;
  /** Its element's index with `--map`. */
  index?: number;
  /** 1 for the first attempt, 2 for the first retry... */
  attempt: number;
  /** The store URL the kernel configured (`%serverless config --store`), without credentials. */
  store?: string;
}

const SOURCE_KEY = Symbol.for('serverless-kernel.invocation-source');

type SourceHolder = { [SOURCE_KEY]?: () => InvocationContext | undefined };

/** Installs where {@link currentInvocation} reads from (an entry point does, once). */
export function setInvocationSource(source: () => InvocationContext | undefined): void {
  (globalThis as SourceHolder)[SOURCE_KEY] = source;
}

/** The invocation whose code runs now, or undefined outside any invocation (in the kernel, in plain node). */
export function currentInvocation(): InvocationContext | undefined {
  return (globalThis as SourceHolder)[SOURCE_KEY]?.();
}
