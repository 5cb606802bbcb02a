/**
 * A run mode: one way of running a `%%serverless` cell (a single
 * invocation, a map over elements; later tuning and training). The runner
 * picks the first mode that accepts the cell's options; modes share the
 * preparation, dispatch and finishing steps of {@link RunSteps}.
 */
import { ExecutionOutcome } from '../kernel/engine';
import { ServerlessCellOptions } from '../magics/options';
import { CellRun } from './services';

/** One way of running a cell. */
export interface RunMode {
  /** Whether this mode runs a cell with these options. */
  accepts(options: ServerlessCellOptions): boolean;
  /**
   * Runs the cell. Errors found before anything is invoked (usage, capture,
   * budget, syntax) are thrown; the runner turns them into the cell's error.
   */
  run(cell: CellRun, signal: AbortSignal): Promise<ExecutionOutcome>;
}
