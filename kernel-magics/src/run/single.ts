/**
 * The single mode: the body runs once; its last expression is the cell's
 * value, its top-level declarations (and `--out`) become kernel variables.
 */
import { deserialize } from 'node:v8';

import { ExecutionOutcome } from '../kernel/engine';
import { getOutputSink } from '../output/sink';
import { ProgramResult } from '../runtime/backend';
import { BudgetSpentError, invocationError } from './errors';
import { RunMode } from './mode';
import { CellRun, NO_VALUE } from './services';
import { RunSteps } from './steps';

/** Runs a cell as one invocation. */
export class SingleMode implements RunMode {
  constructor(private readonly steps: RunSteps) {}

  accepts(): boolean {
    return true;
  }

  async run(cell: CellRun, signal: AbortSignal): Promise<ExecutionOutcome> {
    const plan = this.steps.plan(cell);
    const estimate = this.steps.gate(plan);
    if (!estimate) {
      return NO_VALUE;
    }
    const { slots, interrupted } = await this.steps.dispatch(plan, estimate, signal, false);
    if (interrupted) {
      return { status: 'interrupted' };
    }
    const slot = slots[0];
    if (!slot) {
      return {
        status: 'error',
        error: new BudgetSpentError('The budget was spent before the invocation was dispatched.'),
      };
    }
    if (slot.outcome.status !== 'ok') {
      return { status: 'error', error: invocationError(slot, plan) };
    }
    const result = deserialize(slot.outcome.result) as ProgramResult;
    if (result.notReturned && result.notReturned.length > 0) {
      getOutputSink().stream(
        'stderr',
        `Not brought back to the kernel (they cannot be serialized, or hold class instances): ${result.notReturned.join(', ')}\n`,
      );
    }
    const { out } = plan.options;
    const exported: Record<string, unknown> = { ...result.exports };
    if (out !== undefined) {
      exported[out] = result.value;
    }
    const declared = await this.steps.declare(exported, out);
    if (declared) {
      return declared;
    }
    return result.hasValue ? { status: 'ok', hasValue: true, value: result.value } : NO_VALUE;
  }
}
