/**
 * The one dispatch path of every run mode: hands the plan's requests to the
 * backend, bills and reports each attempt, stops dispatching once the budget
 * is spent or the run is interrupted, and draws the progress bar.
 */
import { BudgetGuard, CostEstimate } from '../cost';
import { getOutputSink } from '../output/sink';
import type { RunPlan } from '../plan/plan';
import { Backend, InvocationEvent, InvocationRequest } from '../runtime/backend';
import { RunAccounting, RunCounts } from './accounting';
import { dispatchAll, SlotResult } from './dispatch';
import { lateErrorNote } from './errors';
import { removeRunKeys } from './exchange-cleanup';
import { ExchangeWatch } from './exchange-events';
import { CappedStream, outputCapBytes } from './output-cap';
import { ProgressBar } from './progress';

/** How the dispatch of a plan ended. */
export interface DispatchedRun {
  /** One per request, in order; undefined for a request never dispatched (the run stopped first). */
  slots: SlotResult[];
  /** The run stopped dispatching because it spent its `--budget`. */
  budgetStopped: boolean;
  /** The run was interrupted. */
  interrupted: boolean;
}

/** What a dispatch needs from the kernel. */
export interface ExecuteServices {
  backend: Backend;
  accounting: RunAccounting;
  /** Also receives the invocations' events (`train()` follows its workers' progress). */
  onEvent?: (request: InvocationRequest, event: InvocationEvent) => void;
}

/** Dispatches every request of `plan`; never rejects for invocation failures. */
export async function executePlan(
  plan: RunPlan,
  estimate: CostEstimate,
  signal: AbortSignal,
  { backend, accounting, onEvent }: ExecuteServices,
  showProgress: boolean,
): Promise<DispatchedRun> {
  const { requests } = plan;
  // The callbacks below reach the plan only through `live`, emptied when the run ends: an
  // environment remembers the invocations it ran (their observers) to blame code they left behind,
  // and must not keep a whole map's requests alive with them. A late error needs only `blame`.
  const live: { plan?: RunPlan } = { plan };
  const during = (): RunPlan => live.plan as RunPlan;
  const blame = {
    runId: plan.runId,
    label: plan.label,
    executionCount: plan.executionCount,
    position: { compiled: plan.compiled, bodyLine: plan.bodyLine },
  };
  backend.setConcurrency(plan.options.concurrency);
  const counts: RunCounts = { done: 0, failed: 0, cancelled: 0, running: 0 };
  const progress = showProgress ? new ProgressBar(plan.label, requests.length) : undefined;
  const sink = getOutputSink();
  const capBytes = outputCapBytes(plan.options.outputCapMb);
  // One per invocation with output, until it finishes (at most `concurrency` at once, plus stragglers).
  const capped = new Map<string, CappedStream>();
  const streamOf = (request: RunPlan['requests'][number]): CappedStream => {
    let stream = capped.get(request.id);
    if (!stream) {
      const label = request.index === undefined ? 'the invocation' : `element ${request.index}`;
      stream = new CappedStream((name, text) => sink.stream(name, text), capBytes, label);
      capped.set(request.id, stream);
    }
    return stream;
  };
  let spentUsd = 0;
  let budgetStopped = false;
  // Spend is compared in integer pico-dollars by the cost module's guard, as the ledger sums it.
  const budget = plan.options.budgetUsd === undefined ? undefined : new BudgetGuard(plan.options.budgetUsd);
  const exchange = new ExchangeWatch({
    // A round reported after the run ended (code the invocation left behind) has no run to bill.
    round: (request, round) => live.plan && accounting.exchangeRound(live.plan, request, round),
    requests: (_request, store, requests) =>
      live.plan && accounting.storeRequests(live.plan, store, requests),
    replace: (invocationId, why) => backend.replace(invocationId, why),
    note: (text) => sink.stream('stderr', text),
  });
  const startedAt = performance.now();
  accounting.runStarted(plan, requests.length, estimate);
  try {
    const slots = await dispatchAll(
      backend,
      requests,
      plan.options.concurrency,
      {
        onQueued: (request) => accounting.queued(during(), request),
        observer: (request) => ({
          onStream: (name, text) => streamOf(request).stream(name, text),
          onDisplay: (data, metadata, displayId, update) => sink.display(data, metadata, displayId, update),
          onClear: (wait) => sink.clear(wait),
          onEvent: (event) => {
            exchange.onEvent(request, event);
            onEvent?.(request, event);
          },
          onLateError: (info) => {
            accounting.lateError(blame.runId, request, info);
            sink.stream(
              'stderr',
              lateErrorNote(blame.label, blame.executionCount, request, info, blame.position),
            );
          },
          onAttemptStart: (info) => {
            counts.running += 1;
            accounting.attemptStarted(during(), request, info);
            progress?.update({ running: counts.running });
          },
          onAttemptEnd: (record) => {
            counts.running -= 1;
            const costUsd = accounting.attemptEnded(during(), request, record);
            spentUsd += costUsd;
            budget?.add(costUsd);
            progress?.update({ running: counts.running, costUsd: spentUsd });
          },
        }),
        onFinished: (request, result) => {
          capped.get(request.id)?.finish();
          capped.delete(request.id);
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
    return { slots, budgetStopped, interrupted: signal.aborted };
  } finally {
    if (exchange.opened) {
      const note = await removeRunKeys(plan.options.store ?? 'embedded', plan.runId);
      if (note) {
        sink.stream('stderr', note);
      }
    }
    for (const stream of capped.values()) {
      stream.finish();
    }
    capped.clear();
    const status = signal.aborted ? 'cancelled' : budgetStopped ? 'budget-stopped' : 'finished';
    progress?.finish(status === 'finished' ? undefined : status);
    accounting.runFinished(plan, {
      counts,
      durationMs: performance.now() - startedAt,
      cancelled: signal.aborted,
      budgetStopped,
      usedStore: exchange.opened,
    });
    live.plan = undefined;
  }
}
