/**
 * The map mode (`--map EXPR [--as NAME]`): the body runs once per element;
 * the cell's value is the array of results in input order. Failed elements
 * (and, after an interrupt or a spent budget, those never run) are listed
 * and kept, so `%serverless retry` re-runs only those and fills in the results.
 */
import { randomUUID } from 'node:crypto';
import { deserialize } from 'node:v8';

import { ExecutionOutcome } from '../kernel/engine';
import { getOutputSink } from '../output/sink';
import { RunPlan } from '../plan/plan';
import { ProgramResult } from '../runtime/backend';
import { CostEstimate } from '../cost';
import { BudgetSpentError, failureSummary, invocationError, MapFailedError } from './errors';
import { DispatchedRun } from './execute';
import { RunMode } from './mode';
import { CellRun, NO_VALUE } from './services';
import { RunSteps } from './steps';

/** Failed elements listed in the cell, at most. */
const FAILURES_LISTED = 50;

/** A map's results so far, kept for `%serverless retry`. */
interface MapRunState {
  /** The plan of the original run (all elements). */
  plan: RunPlan;
  values: unknown[];
  failed: Map<number, Error>;
}

/** Runs a cell once per element of `--map`, and `%serverless retry`. */
export class MapMode implements RunMode {
  private last?: MapRunState;

  constructor(private readonly steps: RunSteps) {}

  accepts(options: CellRun['options']): boolean {
    return options.map !== undefined;
  }

  async run(cell: CellRun, signal: AbortSignal): Promise<ExecutionOutcome> {
    const elements = await this.steps.mapElements(
      cell.options.map ?? '',
      cell.options.maxElements,
      signal,
      () => {
        // A new map replaces the last one's retry state: dropped now, not once it ends, so two runs' requests are never held at once.
        this.last = undefined;
      },
    );
    if (!Array.isArray(elements)) {
      return elements;
    }
    const plan = this.steps.plan(cell, elements);
    const estimate = this.steps.gate(plan);
    if (!estimate) {
      return NO_VALUE;
    }
    const state: MapRunState = { plan, values: [], failed: new Map() };
    return this.execute(plan, estimate, state, signal, plan.options.out);
  }

  /** Re-runs only the failed elements of the last map run. */
  async retry(signal: AbortSignal, executionCount?: number): Promise<ExecutionOutcome> {
    const last = this.last;
    if (!last || last.failed.size === 0) {
      getOutputSink().stream('stdout', 'Nothing to retry: the last --map run has no failed elements.\n');
      return NO_VALUE;
    }
    const runId = randomUUID();
    const requests = last.plan.requests
      .filter((r) => r.index !== undefined && last.failed.has(r.index))
      .map((r) => ({ ...r, id: randomUUID(), runId }));
    const plan: RunPlan = {
      ...last.plan,
      runId,
      label: `%serverless retry (${last.plan.label})`,
      executionCount,
      requests,
    };
    const estimate = this.steps.services.accounting.estimate(plan);
    // The retry fills in the variable its own run declared: no note about replacing it.
    return this.execute(plan, estimate, last, signal, undefined);
  }

  /** Dispatches `plan` into `state`; `noteOut` names an `--out` whose replacing a variable is said. */
  private async execute(
    plan: RunPlan,
    estimate: CostEstimate,
    state: MapRunState,
    signal: AbortSignal,
    noteOut: string | undefined,
  ): Promise<ExecutionOutcome> {
    const run = await this.steps.dispatch(plan, estimate, signal, true);
    this.record(state, plan, run);
    if (run.interrupted) {
      if (state.failed.size > 0) {
        getOutputSink().stream(
          'stderr',
          `${state.failed.size} element(s) did not finish; %serverless retry runs only those.\n`,
        );
      }
      return { status: 'interrupted' };
    }
    return this.finish(state, run.budgetStopped, noteOut);
  }

  /** Puts results in input order into `state`; failed and undispatched elements are kept for retry. */
  private record(state: MapRunState, plan: RunPlan, { slots, interrupted }: DispatchedRun): void {
    const { values, failed } = state;
    const position = { compiled: state.plan.compiled, bodyLine: state.plan.bodyLine };
    const notDispatched = interrupted ? 'cancelled by the interrupt' : 'budget spent';
    values.length = state.plan.requests.length;
    plan.requests.forEach((request, slot) => {
      const index = request.index ?? slot;
      const result = slots[slot];
      if (result?.outcome.status === 'ok') {
        values[index] = (deserialize(result.outcome.result) as ProgramResult).value;
        failed.delete(index);
      } else {
        failed.set(
          index,
          result
            ? invocationError(result, position, index)
            : new BudgetSpentError(`not dispatched: ${notDispatched}`),
        );
      }
    });
    // Kept only while something can be retried: the plan holds every element's request.
    this.last = failed.size > 0 ? state : undefined;
  }

  private async finish(
    state: MapRunState,
    budgetStopped: boolean,
    noteOut: string | undefined,
  ): Promise<ExecutionOutcome> {
    const { plan, values, failed } = state;
    if (plan.options.out !== undefined) {
      const declared = await this.steps.declare({ [plan.options.out]: values }, noteOut);
      if (declared) {
        return declared;
      }
    }
    if (failed.size === 0) {
      return { status: 'ok', hasValue: true, value: values };
    }
    const indices = [...failed.keys()].sort((a, b) => a - b);
    const rows = indices
      .slice(0, FAILURES_LISTED)
      .map((i) => `  [${i}] ${failureSummary(failed.get(i) as Error)}`);
    const more = indices.length - FAILURES_LISTED;
    getOutputSink().stream(
      'stderr',
      `Failed elements:\n${rows.join('\n')}${more > 0 ? `\n  ... and ${more} more` : ''}\n`,
    );
    const error = new MapFailedError(indices, plan.requests.length);
    return {
      status: 'error',
      error: budgetStopped ? new BudgetSpentError(`Budget spent: ${error.message}`) : error,
    };
  }
}
