/**
 * The steps every run mode shares: planning a cell, the estimate gate
 * (`--dry-run`, `--budget`), dispatching through the one execute path, and
 * declaring what came back as kernel variables.
 */
import { BudgetGuard, CostEstimate, estimateText } from '../cost';
import { ExecutionOutcome } from '../kernel/engine';
import { getOutputSink } from '../output/sink';
import { clearHandOff, declarationCell, handOff, typeOfValue } from '../plan/declare';
import { MagicUsageError } from '../magics/usage';
import { planRun, RunPlan } from '../plan/plan';
import { FilesError } from '../runtime/files';
import { ShippedFiles } from '../runtime/backend';
import { DispatchedRun, executePlan } from './execute';
import { mapElements } from './map-elements';
import { CellRun, RunnerServices } from './services';

/** The longest old type a replaced-variable note quotes. */
const MAX_TYPE_SHOWN = 60;

/** The `--dry-run` output: the one rendering of an estimate in a cell. */
export function dryRunText(plan: RunPlan, estimate: CostEstimate): string {
  return `${estimateText(estimate, plan.options)}\nNothing was invoked (--dry-run).\n`;
}

/** Shared steps of the run modes, over the kernel's services. */
export class RunSteps {
  private sequence = 0;

  constructor(readonly services: RunnerServices) {}

  /**
   * Plans a cell (the elements of a map already evaluated).
   * @throws BodySyntaxError, CaptureError or MagicUsageError before anything is invoked.
   */
  plan(cell: CellRun, elements?: unknown[]): RunPlan {
    this.sequence += 1;
    return planRun({
      ...cell,
      kernel: this.services.scope.locals,
      elements,
      sequence: this.sequence,
      cwd: this.services.cwd,
      files: this.shippedFiles(cell.options.files),
    });
  }

  /**
   * Evaluates a `--map` expression in the kernel and reads its elements (at
   * most `maxElements`); the engine's outcome when the expression fails or
   * the reading is interrupted. `evaluated` is called once the expression
   * gave a value, before its elements are read.
   */
  async mapElements(
    expression: string,
    maxElements: number,
    signal: AbortSignal,
    evaluated: () => void = () => undefined,
  ): Promise<unknown[] | ExecutionOutcome> {
    // Wrapped: the engine reports a last value of null as no value at all.
    const outcome = await this.services.scope.execute(`[(${expression})]`);
    if (outcome.status !== 'ok') {
      return outcome;
    }
    evaluated();
    const [value] = outcome.value as [unknown];
    const elements = await mapElements(expression, value, maxElements, signal);
    return elements ?? { status: 'interrupted' };
  }

  /** The files `--files` ships, staged once per run. @throws MagicUsageError when they cannot be shipped. */
  private shippedFiles(glob: string | undefined): ShippedFiles | undefined {
    if (glob === undefined) {
      return undefined;
    }
    try {
      return this.services.files.stage(this.services.cwd, glob);
    } catch (error) {
      if (error instanceof FilesError) {
        throw new MagicUsageError(`%%serverless ${error.message}`);
      }
      throw error;
    }
  }

  /**
   * Estimates the run. With `--dry-run` prints the estimate and returns
   * undefined (nothing is to run).
   * @throws BudgetExceededError when the estimate is over `--budget`.
   */
  gate(plan: RunPlan): CostEstimate | undefined {
    const estimate = this.services.accounting.estimate(plan);
    if (plan.options.dryRun) {
      getOutputSink().stream('stdout', dryRunText(plan, estimate));
      return undefined;
    }
    if (plan.options.budgetUsd !== undefined) {
      new BudgetGuard(plan.options.budgetUsd).check(estimate);
    }
    return estimate;
  }

  /** Dispatches the plan's requests (see {@link executePlan}). */
  dispatch(
    plan: RunPlan,
    estimate: CostEstimate,
    signal: AbortSignal,
    showProgress: boolean,
  ): Promise<DispatchedRun> {
    const { accounting } = this.services;
    const backend = this.services.backend(plan.options.backend);
    return executePlan(plan, estimate, signal, { backend, accounting }, showProgress);
  }

  /**
   * Declares values as kernel variables through the engine (so later cells
   * type-check against them). `out` names the `--out` variable: replacing an
   * existing kernel variable with it is said on stderr.
   */
  async declare(values: Record<string, unknown>, out?: string): Promise<ExecutionOutcome | undefined> {
    if (Object.keys(values).length === 0) {
      return undefined;
    }
    const { locals } = this.services.scope;
    if (out !== undefined && Object.prototype.hasOwnProperty.call(locals, out)) {
      getOutputSink().stream('stderr', replacedNote(out, locals[out]));
    }
    handOff(values);
    try {
      const outcome = await this.services.scope.execute(declarationCell(values, 'let'));
      return outcome.status === 'ok' ? undefined : outcome;
    } finally {
      clearHandOff();
    }
  }
}

/** The note that `--out NAME` replaced a kernel variable, with its old type when short. */
function replacedNote(name: string, old: unknown): string {
  const type = typeOfValue(old);
  const was = type !== 'unknown' && type.length <= MAX_TYPE_SHOWN ? ` (it was ${type})` : '';
  return `--out ${name} replaced the kernel variable ${name}${was}.\n`;
}
