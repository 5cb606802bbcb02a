/**
 * The contract between the protocol handler and whatever runs the code
 * (the tslab adapter in production). Kept small so the handler can be
 * tested with the real engine and no sockets.
 */

/** How a piece of code ended. */
export type ExecutionOutcome =
  | { status: 'ok'; hasValue: boolean; value?: unknown }
  | { status: 'error'; error: unknown }
  | { status: 'compile-error'; diagnostics: string[] }
  | { status: 'interrupted' };

/** Completion candidates, as UTF-16 offsets into the code. */
export interface Completion {
  start: number;
  end: number;
  matches: string[];
}

/** Hover text for the symbol at a position, or undefined when none. */
export interface Inspection {
  text: string;
}

/** The verdict of `is_complete`. */
export interface CompletenessVerdict {
  status: 'complete' | 'incomplete' | 'invalid';
  indent?: string;
}

/** What the kernel knows of the cell it asks an engine to run. */
export interface ExecutionContext {
  /** The cell's execution count, when the cell is stored in history (`store_history`). */
  executionCount?: number;
}

/** Runs and analyses cell code. */
export interface CodeEngine {
  /** Compiles and runs a cell; the promise settles when the cell is done. */
  execute(code: string, context?: ExecutionContext): Promise<ExecutionOutcome>;
  /** Completion at a UTF-16 offset. */
  complete(code: string, offset: number): Completion;
  /** Documentation/type of the symbol at a UTF-16 offset. */
  inspect(code: string, offset: number): Inspection | undefined;
  /** Whether a console could run the code as it stands. */
  isComplete(code: string): CompletenessVerdict;
  /** Stops the running cell: pending awaits reject, the engine keeps its state. */
  interrupt(): void;
  /** Releases compiler watchers and timers. */
  dispose(): void;
}
