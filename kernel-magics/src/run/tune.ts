/**
 * The tune mode (`%%serverless --tune [--memory LIST] [--goal G] [--deadline S]`):
 * runs the body (a sample of a map's elements) at the biggest size of the
 * grid, predicts every other size from it (Lambda's CPU share,
 * cost/profiles.ts), runs only the sizes that might not fit in their memory
 * and would beat the pick, and shows a table, a chart and the `--memory` to
 * use. Every profiling run goes through the one dispatch path: billed,
 * drawn in the panel, stopped by an interrupt or the `--budget`.
 */
import { randomUUID } from 'node:crypto';

import { BudgetGuard, CostEstimate, formatUsd, median } from '../cost';
import { PLOTLY_MIME, tuneFigure, tuneTableHtml, tuneTableText } from '../cost/tune-format';
import { nextProbe, pickSize, SizeRun, TunedRun, TunePick, tuneRow, TuneRow } from '../cost/tuning';
import { ExecutionOutcome } from '../kernel/engine';
import type { TuneOptions } from '../magics/options';
import { MagicUsageError } from '../magics/usage';
import { getOutputSink } from '../output/sink';
import type { RunPlan } from '../plan/plan';
import type { InvocationResult } from '../runtime/backend';
import { invocationError } from './errors';
import { RunMode } from './mode';
import { CellRun, NO_VALUE } from './services';
import { RunSteps } from './steps';

/** Elements of a map the tuner runs at each size, at most (evenly spaced over the map). */
export const TUNE_SAMPLE_MAX = 8;

/** What a tuning found, as `--out NAME` keeps it. */
export interface TuneResult {
  goal: TuneOptions['goal'];
  deadlineS?: number;
  /** The memory to use, MB; undefined when no size runs the body. */
  pick?: number;
  /** Why, in one sentence. */
  reason: string;
  rows: TuneRow[];
  /** Invocations the tuning ran, and what they cost. */
  invocations: number;
  costUsd: number;
  /** Invocations running every size of the grid would take (the whole map at each). */
  bruteForceInvocations: number;
}

/** Elements to run at each size: all of a small map, else evenly spaced. */
export function sampleIndices(count: number, max = TUNE_SAMPLE_MAX): number[] {
  if (count <= max) {
    return Array.from({ length: count }, (_, i) => i);
  }
  return Array.from({ length: max }, (_, i) => Math.floor(((i + 0.5) * count) / max));
}

/** Runs `%%serverless --tune` cells. */
export class TuneMode implements RunMode {
  constructor(private readonly steps: RunSteps) {}

  accepts(options: CellRun['options']): boolean {
    return options.tune !== undefined;
  }

  async run(cell: CellRun, signal: AbortSignal): Promise<ExecutionOutcome> {
    const tune = cell.options.tune as TuneOptions;
    let elements: unknown[] | undefined;
    if (cell.options.map !== undefined) {
      const evaluated = await this.steps.mapElements(cell.options.map, cell.options.maxElements, signal);
      if (!Array.isArray(evaluated)) {
        return evaluated;
      }
      if (evaluated.length === 0) {
        throw new MagicUsageError(
          '%%serverless --tune: the --map has no elements, so there is nothing to measure.',
        );
      }
      elements = evaluated;
    }
    const plan = this.steps.plan(cell, elements);
    const session = new TuneSession(this.steps, plan, tune, signal);
    const outcome = await session.run();
    if (outcome.status !== 'ok' || outcome.result === undefined) {
      return outcome.status === 'ok' ? NO_VALUE : outcome.failure;
    }
    const { out } = plan.options;
    if (out !== undefined) {
      const declared = await this.steps.declare({ [out]: outcome.result }, out);
      if (declared) {
        return declared;
      }
    }
    return NO_VALUE;
  }
}

type SessionOutcome = { status: 'ok'; result?: TuneResult } | { status: 'failed'; failure: ExecutionOutcome };

/** One tuning: the sizes run so far and what they showed. */
class TuneSession {
  private readonly runs = new Map<number, SizeRun>();
  private readonly sample: number[];
  private readonly shape: TunedRun;
  private invocations = 0;
  private costUsd = 0;
  private initMs: number[] = [];
  private readonly budget?: BudgetGuard;

  constructor(
    private readonly steps: RunSteps,
    private readonly plan: RunPlan,
    private readonly tune: TuneOptions,
    private readonly signal: AbortSignal,
  ) {
    this.sample = sampleIndices(plan.requests.length);
    const { concurrency, timeoutS, budgetUsd } = plan.options;
    this.shape = { invocations: plan.requests.length, concurrency, timeoutS };
    this.budget = budgetUsd === undefined ? undefined : new BudgetGuard(budgetUsd);
  }

  async run(): Promise<SessionOutcome> {
    const sizes = this.tune.memoryMb;
    const deadlineMs = this.tune.deadlineS === undefined ? undefined : this.tune.deadlineS * 1000;
    // The biggest size first: the most headroom, so it measures the body's time and peak memory.
    let next: number | undefined = sizes[sizes.length - 1];
    let stoppedBy: string | undefined;
    // Each run settles at least one size: the loop ends.
    while (next !== undefined && !this.runs.has(next)) {
      const ran = await this.runAt(next);
      if (ran.status === 'failed') {
        return ran;
      }
      if (ran.stoppedBy) {
        stoppedBy = ran.stoppedBy;
        break;
      }
      next = nextProbe(this.rows(), this.tune.goal, deadlineMs);
    }
    const rows = this.rows();
    const pick = pickSize(rows, this.tune.goal, deadlineMs);
    const result = this.result(rows, pick);
    this.show(rows, pick, result, stoppedBy);
    return { status: 'ok', result };
  }

  /** The rows of every size, from what ran. */
  private rows(): TuneRow[] {
    const { accounting } = this.steps.services;
    const shape = { ...this.shape, ...(this.initMs.length > 0 ? { initMs: median(this.initMs) } : {}) };
    // Predicted from the runs that fitted: the accounting's profiles hold only successful attempts.
    return this.tune.memoryMb.map((memoryMb) =>
      tuneRow(memoryMb, this.runs, accounting.predict(this.plan, memoryMb), shape, accounting.pricing),
    );
  }

  /**
   * Runs the sample at `memoryMb` and notes how it went. Fails the tuning
   * when the body throws (its error is the cell's, as in any run) or the
   * user interrupts; stops it, keeping what is known, when the budget would be passed.
   */
  private async runAt(
    memoryMb: number,
  ): Promise<{ status: 'ran'; stoppedBy?: string } | { status: 'failed'; failure: ExecutionOutcome }> {
    const runId = randomUUID();
    const requests = this.sample.map((i) => ({
      ...this.plan.requests[i],
      id: randomUUID(),
      runId,
      memoryMb,
    }));
    const probe: RunPlan = {
      ...this.plan,
      runId,
      label: `${this.plan.label} · at ${memoryMb} MB`,
      options: {
        ...this.plan.options,
        memoryMb,
        ...(this.budget ? { budgetUsd: Math.max(this.budget.remainingUsd, 1e-12) } : {}),
      },
      requests,
    };
    const { accounting } = this.steps.services;
    const estimate: CostEstimate = accounting.estimate(probe);
    if (this.budget && estimate.costUsd > this.budget.remainingUsd) {
      return { status: 'ran', stoppedBy: `running it at ${memoryMb} MB would pass the --budget` };
    }
    const dispatched = await this.steps.dispatch(probe, estimate, this.signal, false);
    const spent = accounting.runCostUsd(runId);
    this.costUsd += spent;
    this.budget?.add(spent);
    this.invocations += dispatched.slots.filter((slot) => slot !== undefined).length;
    if (dispatched.interrupted) {
      return { status: 'failed', failure: { status: 'interrupted' } };
    }
    const results = dispatched.slots.filter((slot): slot is InvocationResult => slot !== undefined);
    if (results.length < requests.length) {
      return { status: 'ran', stoppedBy: 'the --budget was spent' };
    }
    this.noteInit(results);
    const statuses = new Set(results.map((r) => r.outcome.status));
    if (statuses.has('out-of-memory')) {
      this.runs.set(memoryMb, 'out-of-memory');
    } else if (statuses.has('timeout')) {
      this.runs.set(memoryMb, 'timeout');
    } else {
      const failed = results.findIndex((r) => r.outcome.status !== 'ok');
      if (failed >= 0) {
        // The body's own error (or a crash past its retries) fails the cell, as any run would.
        const error = invocationError(results[failed], probe, probe.requests[failed].index);
        return { status: 'failed', failure: { status: 'error', error } };
      }
      this.runs.set(memoryMb, 'ok');
    }
    return { status: 'ran' };
  }

  /** Keeps the INIT ms of the sample's cold starts (what the full run's cold starts will pay). */
  private noteInit(results: readonly InvocationResult[]): void {
    for (const result of results) {
      for (const attempt of result.attempts) {
        if (attempt.cold && attempt.initMs > 0) {
          this.initMs.push(attempt.initMs);
        }
      }
    }
  }

  private result(rows: TuneRow[], pick: TunePick): TuneResult {
    return {
      goal: this.tune.goal,
      ...(this.tune.deadlineS === undefined ? {} : { deadlineS: this.tune.deadlineS }),
      ...(pick.row ? { pick: pick.row.memoryMb } : {}),
      reason: pick.reason,
      rows,
      invocations: this.invocations,
      costUsd: this.costUsd,
      bruteForceInvocations: this.plan.requests.length * this.tune.memoryMb.length,
    };
  }

  /** The table, the chart and the pick, in the cell. */
  private show(rows: TuneRow[], pick: TunePick, result: TuneResult, stoppedBy: string | undefined): void {
    const sink = getOutputSink();
    const text = tuneTableText(rows, pick);
    sink.display({ 'text/plain': text, 'text/html': tuneTableHtml(rows, pick) }, {});
    sink.display(
      {
        [PLOTLY_MIME]: tuneFigure(rows, pick, this.tune.goal),
        'text/plain': `(chart: run time against cost per memory size, goal ${this.tune.goal})`,
      },
      {},
    );
    const use = pick.row
      ? `Use --memory ${pick.row.memoryMb}: ${pick.reason}` +
        (pick.row.costUsd !== undefined && pick.row.runMs !== undefined
          ? ` A run of ${this.shape.invocations} invocation${this.shape.invocations === 1 ? '' : 's'} ` +
            `is predicted at ~${(pick.row.runMs / 1000).toFixed(2)} s and ${formatUsd(pick.row.costUsd)}.`
          : '')
      : pick.reason;
    const sizesRun = [...this.runs.keys()].sort((a, b) => a - b);
    const spent =
      `Tuning ran ${result.invocations} invocation${result.invocations === 1 ? '' : 's'} at ` +
      `${sizesRun.map((s) => `${s} MB`).join(', ') || 'no size'} (running every size would take ` +
      `${result.bruteForceInvocations}) and cost ${formatUsd(result.costUsd)}.`;
    const stopped = stoppedBy ? ` It stopped early: ${stoppedBy}.` : '';
    sink.stream('stdout', `${use}\n${spent}${stopped}\n`);
    if (stoppedBy && !pick.row) {
      sink.stream('stderr', `Tuning stopped: ${stoppedBy}.\n`);
    }
  }
}
