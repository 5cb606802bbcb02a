/**
 * What every run mode is given: the kernel it runs for, the backends, the
 * accounting, and the parsed cell.
 */
import { ExecutionOutcome } from '../kernel/engine';
import { BackendName, ServerlessCellOptions } from '../magics/options';
import { Backend } from '../runtime/backend';
import type { FileStaging } from '../runtime/files';
import { RunAccounting } from './accounting';

/** The kernel as the runner sees it. */
export interface KernelScope {
  /** Kernel variables by name. */
  readonly locals: Record<string, unknown>;
  /** Runs TypeScript in the kernel (for `--map EXPR` and declarations). */
  execute(code: string): Promise<ExecutionOutcome>;
}

/** What the runner needs. */
export interface RunnerServices {
  scope: KernelScope;
  backend(name: BackendName): Backend;
  accounting: RunAccounting;
  /** Directory modules resolve from in invocations (the notebook's). */
  cwd: string;
  /** Extra arguments put before a cell's own (session defaults from `%serverless config`). */
  defaultArgs(): string[];
  /** Where `--files` are staged for this kernel (removed with it). */
  files: FileStaging;
}

/** A parsed `%%serverless` cell, as a mode receives it. */
export interface CellRun {
  options: ServerlessCellOptions;
  body: string;
  /** 0-based line of the cell where the body starts. */
  bodyLine: number;
  /** Short description of the run (the magic line). */
  label: string;
  /** The cell's execution count, when it is stored in history. */
  executionCount?: number;
}

/** The outcome of a cell that ran and has no value. */
export const NO_VALUE: ExecutionOutcome = { status: 'ok', hasValue: false };
