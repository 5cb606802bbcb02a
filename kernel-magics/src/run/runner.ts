/**
 * Runs `%%serverless` cells: parse, plan, estimate and budget, dispatch to
 * the backend with live output and progress, then bring the value, the
 * declarations and the errors back into the cell and the kernel.
 */
import { randomUUID } from 'node:crypto';
import { deserialize } from 'node:v8';

import { BudgetGuard, formatUsd } from '../cost';
import { ExecutionOutcome } from '../kernel/engine';
import { getOutputSink } from '../output/sink';
import { Backend, InvocationRequest, InvocationResult, ProgramResult } from '../runtime/backend';
import { RunAccounting, RunCounts, RunEstimate } from './accounting';
import { CaptureError } from '../plan/capture';
import { clearHandOff, declarationCell, handOff } from '../plan/declare';
import { dispatchAll, SlotResult } from './dispatch';
import { failureSummary, invocationError, MapFailedError } from './errors';
import { BackendName } from '../magics/options';
import { parseCellMagic, MagicUsageError } from '../magics/parse';
import { BodySyntaxError, planRun, RunPlan } from '../plan/plan';
import { ProgressBar } from './progress';

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
}

/** The results of a `--map` run so far, kept for `%serverless retry`. */
interface MapRunState {
  /** The plan of the original run (all elements). */
  plan: RunPlan;
  values: unknown[];
  failed: Map<number, Error>;
}

/** A budget stop: the run spent its budget before all invocations were dispatched. */
export class BudgetStopError extends Error {
  override readonly name = 'BudgetSpentError';
}

function errorOutcome(error: unknown): ExecutionOutcome {
  return { status: 'error', error };
}

/** Runs `%%serverless` cells and `%serverless retry`. */
export class ServerlessRunner {
  private sequence = 0;
  private lastMap?: MapRunState;

  constructor(private readonly services: RunnerServices) {}

  /** Runs a `%%serverless` cell. */
  async runCell(code: string, signal: AbortSignal, executionCount?: number): Promise<ExecutionOutcome> {
    let magic;
    try {
      magic = parseCellMagic(code, this.services.defaultArgs());
    } catch (error) {
      return errorOutcome(error);
    }
    if (magic.kind === 'help') {
      getOutputSink().stream('stdout', magic.text);
      return { status: 'ok', hasValue: false };
    }
    const { options } = magic;
    let elements: unknown[] | undefined;
    if (options.map !== undefined) {
      const evaluated = await this.evaluateMap(options.map);
      if (!Array.isArray(evaluated)) {
        return evaluated;
      }
      elements = evaluated;
    }
    let plan: RunPlan;
    try {
      this.sequence += 1;
      plan = planRun({
        options,
        body: magic.body,
        bodyLine: magic.bodyLine,
        label: code.split('\n', 1)[0].trim(),
        executionCount,
        kernel: this.services.scope.locals,
        elements,
        sequence: this.sequence,
        cwd: this.services.cwd,
      });
    } catch (error) {
      if (error instanceof BodySyntaxError) {
        return { status: 'compile-error', diagnostics: error.diagnostics };
      }
      if (error instanceof CaptureError || error instanceof MagicUsageError) {
        return errorOutcome(error);
      }
      throw error;
    }
    const estimate = this.services.accounting.estimate(plan);
    if (options.dryRun) {
      getOutputSink().stream(
        'stdout',
        `${describeEstimate(plan, estimate)}\nNothing was invoked (--dry-run).\n`,
      );
      return { status: 'ok', hasValue: false };
    }
    if (options.budgetUsd !== undefined) {
      try {
        new BudgetGuard(options.budgetUsd).check(estimate);
      } catch (error) {
        return errorOutcome(error);
      }
    }
    const mapState = plan.isMap ? { plan, values: [], failed: new Map<number, Error>() } : undefined;
    return this.execute(plan, estimate, signal, mapState);
  }

  /** Re-runs only the failed elements of the last `--map` run. */
  async retry(signal: AbortSignal, executionCount?: number): Promise<ExecutionOutcome> {
    const last = this.lastMap;
    if (!last || last.failed.size === 0) {
      getOutputSink().stream('stdout', 'Nothing to retry: the last --map run has no failed elements.\n');
      return { status: 'ok', hasValue: false };
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
    return this.execute(plan, this.services.accounting.estimate(plan), signal, last);
  }

  private async evaluateMap(expression: string): Promise<unknown[] | ExecutionOutcome> {
    const outcome = await this.services.scope.execute(expression);
    if (outcome.status !== 'ok') {
      return outcome;
    }
    const value = outcome.value as unknown;
    if (value === null || typeof value !== 'object' || !(Symbol.iterator in value)) {
      return errorOutcome(
        new MagicUsageError(
          `%%serverless: --map ${expression} must give an array or another iterable; it gave ${typeof value}.`,
        ),
      );
    }
    return Array.from(value as Iterable<unknown>);
  }

  /** Dispatches the requests of `plan`; `mapState` collects a map's results (across retries). */
  private async execute(
    plan: RunPlan,
    estimate: RunEstimate,
    signal: AbortSignal,
    mapState?: MapRunState,
  ): Promise<ExecutionOutcome> {
    const { requests } = plan;
    const { accounting } = this.services;
    const backend = this.services.backend(plan.options.backend);
    backend.setConcurrency(plan.options.concurrency);
    const counts: RunCounts = { done: 0, failed: 0, cancelled: 0, running: 0 };
    const progress = plan.isMap ? new ProgressBar(plan.label, requests.length) : undefined;
    const sink = getOutputSink();
    let spentUsd = 0;
    let budgetStopped = false;
    // Spend is compared in integer pico-dollars by the cost module's guard, as the ledger sums it.
    const budget = plan.options.budgetUsd === undefined ? undefined : new BudgetGuard(plan.options.budgetUsd);
    const startedAt = performance.now();
    accounting.runStarted(plan, requests.length, estimate);
    let slots: SlotResult[];
    try {
      slots = await dispatchAll(
        backend,
        requests,
        plan.options.concurrency,
        {
          onQueued: (request) => accounting.queued(plan, request),
          observer: (request) => ({
            onStream: (name, text) => sink.stream(name, text),
            onDisplay: (data, metadata, displayId, update) => sink.display(data, metadata, displayId, update),
            onClear: (wait) => sink.clear(wait),
            onAttemptStart: (info) => {
              counts.running += 1;
              accounting.attemptStarted(plan, request, info);
              progress?.update({ running: counts.running });
            },
            onAttemptEnd: (record) => {
              counts.running -= 1;
              const costUsd = accounting.attemptEnded(plan, request, record);
              spentUsd += costUsd;
              budget?.add(costUsd);
              progress?.update({ running: counts.running, costUsd: spentUsd });
            },
          }),
          onFinished: (_request, result) => {
            if (result.outcome.status === 'ok') {
              counts.done += 1;
            } else if (result.outcome.status === 'cancelled') {
              counts.cancelled += 1;
            } else {
              counts.failed += 1;
            }
            progress?.update({ done: counts.done, failed: counts.failed });
          },
          shouldStop: () => {
            budgetStopped = budget?.reached ?? false;
            return budgetStopped;
          },
        },
        signal,
      );
    } finally {
      const status = signal.aborted ? 'cancelled' : budgetStopped ? 'budget-stopped' : 'finished';
      progress?.finish(status === 'finished' ? undefined : status);
      accounting.runFinished(plan, {
        counts,
        durationMs: performance.now() - startedAt,
        cancelled: signal.aborted,
        budgetStopped,
      });
    }
    if (mapState) {
      this.recordMap(
        mapState,
        requests,
        slots,
        signal.aborted ? 'cancelled by the interrupt' : 'budget spent',
      );
    }
    if (signal.aborted) {
      if (mapState && mapState.failed.size > 0) {
        getOutputSink().stream(
          'stderr',
          `${mapState.failed.size} element(s) did not finish; %serverless retry runs only those.\n`,
        );
      }
      return { status: 'interrupted' };
    }
    return mapState ? this.finishMap(mapState, budgetStopped) : this.finishSingle(plan, slots[0]);
  }

  private async finishSingle(plan: RunPlan, slot: SlotResult): Promise<ExecutionOutcome> {
    if (!slot) {
      return errorOutcome(new BudgetStopError('The budget was spent before the invocation was dispatched.'));
    }
    if (slot.outcome.status !== 'ok') {
      return errorOutcome(invocationError(slot, { compiled: plan.compiled, bodyLine: plan.bodyLine }));
    }
    const result = deserialize(slot.outcome.result) as ProgramResult;
    if (result.notReturned && result.notReturned.length > 0) {
      getOutputSink().stream(
        'stderr',
        `Not brought back to the kernel (cannot be serialized): ${result.notReturned.join(', ')}\n`,
      );
    }
    const exported: Record<string, unknown> = { ...result.exports };
    if (plan.options.out !== undefined) {
      exported[plan.options.out] = result.value;
    }
    const declared = await this.declare(exported);
    if (declared) {
      return declared;
    }
    return result.hasValue
      ? { status: 'ok', hasValue: true, value: result.value }
      : { status: 'ok', hasValue: false };
  }

  /** Puts a map's results in input order into `state`; failed and undispatched elements are kept for retry. */
  private recordMap(
    state: MapRunState,
    requests: InvocationRequest[],
    slots: SlotResult[],
    notDispatched: string,
  ): void {
    const { plan, values, failed } = state;
    const position = { compiled: plan.compiled, bodyLine: plan.bodyLine };
    values.length = plan.requests.length;
    requests.forEach((request, slot) => {
      const index = request.index ?? slot;
      const result: InvocationResult | undefined = slots[slot];
      if (result?.outcome.status === 'ok') {
        values[index] = (deserialize(result.outcome.result) as ProgramResult).value;
        failed.delete(index);
      } else {
        failed.set(
          index,
          result
            ? invocationError(result, position, index)
            : new BudgetStopError(`not dispatched: ${notDispatched}`),
        );
      }
    });
    this.lastMap = state;
  }

  private async finishMap(state: MapRunState, budgetStopped: boolean): Promise<ExecutionOutcome> {
    const { plan, values, failed } = state;
    if (plan.options.out !== undefined) {
      const declared = await this.declare({ [plan.options.out]: values });
      if (declared) {
        return declared;
      }
    }
    if (failed.size > 0) {
      const indices = [...failed.keys()].sort((a, b) => a - b);
      const rows = indices.slice(0, 50).map((i) => `  [${i}] ${failureSummary(failed.get(i) as Error)}`);
      getOutputSink().stream(
        'stderr',
        `Failed elements:\n${rows.join('\n')}${indices.length > 50 ? `\n  ... and ${indices.length - 50} more` : ''}\n`,
      );
      const error = new MapFailedError(indices, plan.requests.length);
      return errorOutcome(budgetStopped ? new BudgetStopError(`Budget spent: ${error.message}`) : error);
    }
    return { status: 'ok', hasValue: true, value: values };
  }

  /** Declares values as kernel variables through the engine (so later cells type-check). */
  private async declare(values: Record<string, unknown>): Promise<ExecutionOutcome | undefined> {
    if (Object.keys(values).length === 0) {
      return undefined;
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

/** One line: how many invocations, the basis, the estimated time and cost. */
export function describeEstimate(plan: RunPlan, estimate: RunEstimate): string {
  const basis =
    estimate.basis === 'measured'
      ? `from earlier runs of this body: ${estimate.perInvocationMs.toFixed(1)} ms each`
      : `worst case: every invocation runs its full --timeout ${plan.options.timeoutS} s`;
  return (
    `Estimate: ${estimate.invocations} invocation${estimate.invocations === 1 ? '' : 's'} x ` +
    `${plan.options.memoryMb} MB, ~${(estimate.wallMs / 1000).toFixed(2)} s at concurrency ` +
    `${plan.options.concurrency}, ${formatUsd(estimate.costUsd)} (${basis})`
  );
}
