/**
 * Budgets (`--budget USD`): refuse a run whose estimate is over it, and tell
 * the runner to stop dispatching once the run has spent it.
 */
import { formatUsd } from './format';
import { CostModelError, picoToUsd, usdToPico } from './meter';

/** The estimate a budget is checked against (a {@link CostEstimate} fits). */
export interface BudgetEstimate {
  costUsd: number;
  basis?: 'measured' | 'modelled' | 'worst-case';
}

/** A run refused before anything was invoked: its estimate is over the budget. */
export class BudgetExceededError extends Error {
  override readonly name = 'BudgetExceededError';

  constructor(
    /** The estimated cost, USD. */
    readonly estimateUsd: number,
    /** The budget, USD. */
    readonly budgetUsd: number,
    basis?: 'measured' | 'modelled' | 'worst-case',
  ) {
    super(
      `The run is estimated at ${formatUsd(estimateUsd)}, over its budget of ${formatUsd(budgetUsd)}` +
        (basis === 'worst-case' ? ' (worst case: every invocation runs until its --timeout)' : '') +
        '. Nothing was invoked. Raise --budget, lower --memory or --timeout, ' +
        'or see the estimate with --dry-run.',
    );
  }
}

/** One run's budget: spend is tracked in integer pico-dollars. */
export class BudgetGuard {
  private readonly limitPico: number;
  private spentPico = 0;

  /** @throws CostModelError unless `limitUsd` is a finite amount >= 0. */
  constructor(readonly limitUsd: number) {
    if (!Number.isFinite(limitUsd) || limitUsd < 0) {
      throw new CostModelError(`A budget must be a finite amount of USD >= 0, got ${limitUsd}`);
    }
    this.limitPico = usdToPico(limitUsd);
  }

  /** @throws BudgetExceededError when the estimate is over the budget. */
  check(estimate: BudgetEstimate): void {
    if (usdToPico(estimate.costUsd) > this.limitPico) {
      throw new BudgetExceededError(estimate.costUsd, this.limitUsd, estimate.basis);
    }
  }

  /** Adds what an attempt cost. */
  add(usd: number): void {
    if (!Number.isFinite(usd) || usd < 0) {
      throw new CostModelError(`A cost must be a finite amount of USD >= 0, got ${usd}`);
    }
    this.spentPico += usdToPico(usd);
  }

  /** USD spent so far. */
  get spentUsd(): number {
    return picoToUsd(this.spentPico);
  }

  /** USD left (0 once reached). */
  get remainingUsd(): number {
    return picoToUsd(Math.max(0, this.limitPico - this.spentPico));
  }

  /** True once the spend is at or over the budget: dispatch no more invocations. */
  get reached(): boolean {
    return this.spentPico >= this.limitPico;
  }
}
