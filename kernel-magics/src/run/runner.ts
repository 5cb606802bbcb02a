/**
 * Runs `%%serverless` cells: parses the magic line, hands the cell to the
 * first run mode that accepts its options, and turns the errors found before
 * anything was invoked into the cell's error.
 */
import { BudgetExceededError } from '../cost';
import { ExecutionOutcome } from '../kernel/engine';
import { parseCellMagic } from '../magics/parse';
import { MagicUsageError } from '../magics/usage';
import { getOutputSink } from '../output/sink';
import { CaptureError } from '../plan/capture';
import { BodySyntaxError } from '../plan/plan';
import { MapMode } from './map';
import { RunMode } from './mode';
import { reclaimHeapAfter, usedHeap } from './reclaim-heap';
import { CellRun, NO_VALUE, RunnerServices } from './services';
import { SingleMode } from './single';
import { RunSteps } from './steps';
import { TuneMode } from './tune';

/** The outcome of an error found before anything was invoked; other errors are the kernel's own. */
function refusal(error: unknown): ExecutionOutcome {
  if (error instanceof BodySyntaxError) {
    return { status: 'compile-error', diagnostics: error.diagnostics };
  }
  if (
    error instanceof MagicUsageError ||
    error instanceof CaptureError ||
    error instanceof BudgetExceededError
  ) {
    return { status: 'error', error };
  }
  throw error;
}

/** Runs `%%serverless` cells and `%serverless retry`. */
export class ServerlessRunner {
  private readonly map: MapMode;
  /** Asked in order; the last accepts every cell. */
  private readonly modes: readonly RunMode[];

  constructor(private readonly services: RunnerServices) {
    const steps = new RunSteps(services);
    this.map = new MapMode(steps);
    this.modes = [new TuneMode(steps), this.map, new SingleMode(steps)];
  }

  /** Runs a `%%serverless` cell. */
  async runCell(code: string, signal: AbortSignal, executionCount?: number): Promise<ExecutionOutcome> {
    const heapBefore = usedHeap();
    try {
      return await this.runCellOnce(code, signal, executionCount);
    } finally {
      // The run's requests and results are garbage now (the map keeps only what it can retry).
      reclaimHeapAfter(heapBefore);
    }
  }

  private async runCellOnce(
    code: string,
    signal: AbortSignal,
    executionCount?: number,
  ): Promise<ExecutionOutcome> {
    try {
      const magic = parseCellMagic(code, this.services.defaultArgs());
      if (magic.kind === 'help') {
        getOutputSink().stream('stdout', magic.text);
        return NO_VALUE;
      }
      const cell: CellRun = {
        options: magic.options,
        body: magic.body,
        bodyLine: magic.bodyLine,
        label: code.split('\n', 1)[0].trim(),
        executionCount,
      };
      const mode = this.modes.find((candidate) => candidate.accepts(cell.options)) as RunMode;
      return await mode.run(cell, signal);
    } catch (error) {
      return refusal(error);
    }
  }

  /** Re-runs only the failed elements of the last `--map` run. */
  async retry(signal: AbortSignal, executionCount?: number): Promise<ExecutionOutcome> {
    try {
      return await this.map.retry(signal, executionCount);
    } catch (error) {
      return refusal(error);
    }
  }
}
