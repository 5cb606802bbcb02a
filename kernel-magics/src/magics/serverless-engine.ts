/**
 * The kernel's CodeEngine: `%%serverless` cells and `%serverless` line magics
 * are handled here, everything else goes to the TypeScript engine (tslab).
 * Completion and inspection inside a `%%serverless` body are the TypeScript
 * engine's, with offsets shifted past the magic line.
 */
import { setMaxListeners } from 'node:events';

import {
  CodeEngine,
  Completion,
  CompletenessVerdict,
  ExecutionContext,
  ExecutionOutcome,
  Inspection,
} from '../kernel/engine';
import { LineMagics } from './line-magics';
import { isServerlessCell, parseLineMagic } from './parse';
import { MagicUsageError } from './usage';
import { ServerlessRunner } from '../run/runner';

/** A CodeEngine that also exposes the kernel's variables (tslab's does). */
export interface ScopedEngine extends CodeEngine {
  readonly locals: Record<string, unknown>;
}

const LINE_MAGIC = /^\s*%serverless\b/;

/** Splits a `%%serverless` cell into its magic line and body (UTF-16 offset of the body). */
function splitCell(code: string): { bodyOffset: number; body: string } {
  const newline = code.indexOf('\n');
  return newline < 0
    ? { bodyOffset: code.length, body: '' }
    : { bodyOffset: newline + 1, body: code.slice(newline + 1) };
}

/** Routes cells to the serverless runner, the line magics or the TypeScript engine. */
export class ServerlessEngine implements CodeEngine {
  private current?: AbortController;

  constructor(
    private readonly inner: ScopedEngine,
    private readonly runner: ServerlessRunner,
    private readonly lineMagics: LineMagics,
    private readonly onDispose: () => void = () => undefined,
  ) {}

  /** Aborts the running cell's runs (a `%%serverless` run, a `train()`), if any (used by the telemetry cancel request too). */
  cancelRun(): boolean {
    if (!this.current) {
      return false;
    }
    this.current.abort();
    return true;
  }

  async execute(code: string, context: ExecutionContext = {}): Promise<ExecutionOutcome> {
    const serverless = isServerlessCell(code);
    const lineMagic = !serverless && LINE_MAGIC.test(code.split('\n', 1)[0]);
    if (!serverless && !lineMagic) {
      return this.executeOrdinary(code, context);
    }
    const controller = new AbortController();
    // Every queued and running invocation of a run listens to this one signal.
    setMaxListeners(0, controller.signal);
    this.current = controller;
    try {
      if (serverless) {
        return await this.runner.runCell(code, controller.signal, context.executionCount);
      }
      const lines = code.split('\n').filter((line) => line.trim() !== '');
      if (lines.length > 1) {
        return {
          status: 'error',
          error: new MagicUsageError('%serverless line magics go in a cell of their own, one per cell.'),
        };
      }
      const parsed = parseLineMagic(lines[0]);
      if (!parsed) {
        return {
          status: 'error',
          error: new MagicUsageError(`Not a line magic: ${lines[0]}. See %serverless help.`),
        };
      }
      return await this.lineMagics.run(
        parsed.command,
        parsed.args,
        controller.signal,
        context.executionCount,
      );
    } catch (error) {
      if (error instanceof MagicUsageError) {
        return { status: 'error', error };
      }
      throw error;
    } finally {
      if (this.current === controller) {
        this.current = undefined;
      }
    }
  }

  /** What the running cell's interrupt aborts (`train()` in an ordinary cell stops its workers with it). */
  cellSignal(): AbortSignal | undefined {
    return this.current?.signal;
  }

  /** An ordinary cell, with a signal its interrupt aborts. */
  private async executeOrdinary(code: string, context: ExecutionContext): Promise<ExecutionOutcome> {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    this.current = controller;
    try {
      return await this.inner.execute(code, context);
    } finally {
      if (this.current === controller) {
        this.current = undefined;
      }
    }
  }

  complete(code: string, offset: number): Completion {
    if (!isServerlessCell(code)) {
      return this.inner.complete(code, offset);
    }
    const { bodyOffset, body } = splitCell(code);
    if (offset < bodyOffset) {
      return this.lineMagics.completeOption(code.slice(0, offset));
    }
    const inner = this.inner.complete(body, offset - bodyOffset);
    return { start: inner.start + bodyOffset, end: inner.end + bodyOffset, matches: inner.matches };
  }

  inspect(code: string, offset: number): Inspection | undefined {
    if (!isServerlessCell(code)) {
      return this.inner.inspect(code, offset);
    }
    const { bodyOffset, body } = splitCell(code);
    return offset < bodyOffset ? undefined : this.inner.inspect(body, offset - bodyOffset);
  }

  isComplete(code: string): CompletenessVerdict {
    if (LINE_MAGIC.test(code) && !code.includes('\n')) {
      return { status: 'complete' };
    }
    if (!isServerlessCell(code)) {
      return this.inner.isComplete(code);
    }
    const { body } = splitCell(code);
    return body.trim() === '' ? { status: 'incomplete', indent: '' } : this.inner.isComplete(body);
  }

  interrupt(): void {
    this.current?.abort();
    this.inner.interrupt();
  }

  dispose(): void {
    this.current?.abort();
    this.onDispose();
    this.inner.dispose();
  }
}
