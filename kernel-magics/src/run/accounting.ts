/**
 * Billing and telemetry of runs: each attempt is billed as Lambda bills it
 * and recorded in the kernel's ledger; durations feed the estimator; every
 * step becomes a telemetry event for the side panel.
 */
import {
  billAttempt,
  CostEstimate,
  CostLedger,
  DEFAULT_PRICES,
  durationKey,
  DurationHistory,
  estimateRun,
  PriceTable,
  profileSample,
  ProgramProfiles,
  vcpuShare,
} from '../cost';
import type { Arch, CpuModel, Prediction } from '../cost';
import { costReportHtml, costReportText } from '../cost/format';
import { attemptCost, attemptDurationMs } from '../cost/meter';
import { AttemptRecord, AttemptStartInfo, InvocationRequest, LateErrorInfo } from '../runtime/backend';
import { invocationStatus, TelemetryHub } from '../telemetry';
import type { TrainingEpochInput } from '../telemetry';
import { embeddedClock } from '../magics/options';
import type { RunPlan } from '../plan/plan';
import { priceStoreRequests, priceStoreTime, StoreCost } from '../exchange/store/pricing';
import { parseStoreUrl } from '../exchange/store/url';
import { emptyUsage, StoreKind, StoreRequests } from '../exchange/store/object-store';
import type { WorkerRound } from './exchange-events';

/** Counts of a run's invocations. */
export interface RunCounts {
  done: number;
  failed: number;
  cancelled: number;
  running: number;
}

/** How a run ended. */
export interface RunEnding {
  counts: RunCounts;
  durationMs: number;
  cancelled: boolean;
  budgetStopped: boolean;
  /** Whether its workers exchanged through the run's store (a Redis node is then billed for the run's time). */
  usedStore: boolean;
}

/** The accounting the runner reports to. */
export interface RunAccounting {
  estimate(plan: RunPlan): CostEstimate;
  runStarted(plan: RunPlan, invocations: number, estimate: CostEstimate): void;
  queued(plan: RunPlan, request: InvocationRequest): void;
  attemptStarted(plan: RunPlan, request: InvocationRequest, info: AttemptStartInfo): void;
  /** Bills an attempt; returns its cost in USD. */
  attemptEnded(plan: RunPlan, request: InvocationRequest, record: AttemptRecord): number;
  /** A worker's exchange round: telemetry, and its store requests billed to the run. */
  exchangeRound(plan: RunPlan, request: InvocationRequest, round: WorkerRound): void;
  /** Store requests of a body's other calls (`models`), billed to the run. */
  storeRequests(plan: RunPlan, store: string, requests: StoreRequests): void;
  /** Code an invocation left behind failed after it ended (possibly after its run finished). */
  lateError(runId: string, request: InvocationRequest, info: LateErrorInfo): void;
  /**
   * An epoch of a train() call ended on every worker: `training-epoch`
   * telemetry only (its cost was billed already, by its runs' attempts and
   * exchange rounds).
   */
  trainingEpoch(event: TrainingEpochInput): void;
  runFinished(plan: RunPlan, ending: RunEnding): void;
  /** `%serverless cost`. */
  costReport(): { text: string; html: string };
  /** What the plan's program would take per invocation at `memoryMb`, from its earlier runs on the plan's clock. */
  predict(plan: RunPlan, memoryMb: number): Prediction | undefined;
  /** What a run cost so far, USD (0 for a run never billed). */
  runCostUsd(runId: string): number;
  /** The prices and architecture runs are billed with. */
  readonly pricing: { prices: PriceTable; arch: Arch };
}

/** Accounting with the kernel's ledger, duration history and telemetry hub. */
export class KernelAccounting implements RunAccounting {
  readonly ledger = new CostLedger();
  readonly durations = new DurationHistory();
  /** How each program ran, to model it at other memory sizes. */
  readonly profiles = new ProgramProfiles();

  constructor(
    private readonly telemetry: TelemetryHub,
    private readonly prices: PriceTable = DEFAULT_PRICES,
    private readonly arch: 'x86_64' | 'arm64' = 'x86_64',
  ) {}

  estimate(plan: RunPlan): CostEstimate {
    return estimateRun(
      {
        programHash: plan.compiled.program.hash,
        memoryMb: plan.options.memoryMb,
        timeoutS: plan.options.timeoutS,
        invocations: plan.requests.length,
        concurrency: plan.options.concurrency,
        cpu: runClock(plan),
      },
      this.durations,
      this.prices,
      this.arch,
      this.profiles,
    );
  }

  runStarted(plan: RunPlan, invocations: number, estimate: CostEstimate): void {
    this.ledger.startRun(plan.runId, plan.label);
    this.telemetry.emit({
      type: 'run-started',
      runId: plan.runId,
      label: plan.label,
      executionCount: plan.executionCount,
      invocations,
      memoryMb: plan.options.memoryMb,
      timeoutS: plan.options.timeoutS,
      concurrency: plan.options.concurrency,
      backend: plan.options.backend,
      estimateUsd: estimate.costUsd,
      budgetUsd: plan.options.budgetUsd,
      cpu: embeddedClock(plan.options),
    });
  }

  queued(plan: RunPlan, request: InvocationRequest): void {
    this.telemetry.emit({
      type: 'invocation-queued',
      id: request.id,
      runId: plan.runId,
      index: request.index,
    });
  }

  attemptStarted(plan: RunPlan, request: InvocationRequest, info: AttemptStartInfo): void {
    this.telemetry.emit({
      type: 'invocation-started',
      id: request.id,
      runId: plan.runId,
      index: request.index,
      attempt: info.attempt,
      environmentId: info.environmentId,
      cold: info.cold,
      memoryMb: request.memoryMb,
      initMs: info.initMs,
    });
  }

  attemptEnded(plan: RunPlan, request: InvocationRequest, record: AttemptRecord): number {
    const bill = billAttempt(record, request.memoryMb, this.prices, record.arch ?? this.arch);
    this.ledger.record(plan.runId, bill);
    if (record.outcome.status === 'ok') {
      const hash = plan.compiled.program.hash;
      this.durations.record(durationKey(hash, runClock(plan)), request.memoryMb, attemptDurationMs(record));
      if (record.cpuMs !== undefined) {
        this.profiles.record(
          hash,
          profileSample({
            memoryMb: request.memoryMb,
            durationMs: record.durationMs,
            cpuMs: record.cpuMs,
            queuedMs: record.queuedMs,
            // What ran here had a core; what ran on Lambda, its memory's share.
            share: plan.options.backend === 'lambda' ? Math.min(1, vcpuShare(request.memoryMb)) : 1,
            peakMb: record.maxMemoryUsedMb ?? record.reported?.maxMemoryUsedMb,
          }),
        );
      }
    }
    const outcome = record.outcome;
    this.telemetry.emit({
      type: 'invocation-finished',
      id: request.id,
      runId: plan.runId,
      index: request.index,
      attempt: record.attempt,
      environmentId: record.environmentId,
      cold: record.cold,
      memoryMb: request.memoryMb,
      durationMs: record.durationMs,
      cpuMs: record.cpuMs,
      lambdaMs: record.lambdaMs,
      billedMs: bill.billedMs,
      initBilledMs: bill.initBilledMs,
      bill: attemptCost(bill),
      status: invocationStatus(outcome.status, record.willRetry),
      error:
        outcome.status === 'ok'
          ? undefined
          : outcome.status === 'error'
            ? { name: outcome.error.name, message: outcome.error.message }
            : { name: outcome.status, message: outcome.message },
      bytesIn: record.bytesIn,
      bytesOut: record.bytesOut,
    });
    return bill.totalUsd;
  }

  exchangeRound(plan: RunPlan, _request: InvocationRequest, round: WorkerRound): void {
    const bill = this.billRequests(plan, round.store, round.requests);
    const { requests, ...rest } = round;
    this.telemetry.emit({
      type: 'exchange-round',
      runId: plan.runId,
      ...rest,
      requests: requests.put + requests.get + requests.list + requests.delete,
      storageUsd: bill.usd,
    });
  }

  storeRequests(plan: RunPlan, store: string, requests: StoreRequests): void {
    this.billRequests(plan, store, requests);
  }

  /** Bills store requests to a run at the store's prices (none for a kind that does not price them). */
  private billRequests(plan: RunPlan, store: string, requests: StoreRequests): StoreCost {
    const bill = priceStoreRequests(store as StoreKind, { ...emptyUsage(), requests }, this.prices);
    this.ledger.recordStorage(plan.runId, bill);
    return bill;
  }

  lateError(runId: string, request: InvocationRequest, info: LateErrorInfo): void {
    this.telemetry.emit({
      type: 'invocation-late-error',
      id: request.id,
      runId,
      index: request.index,
      attempt: info.attempt,
      environmentId: info.environmentId,
      error: { name: info.error.name, message: info.error.message },
    });
  }

  trainingEpoch(event: TrainingEpochInput): void {
    this.telemetry.emit({
      type: 'training-epoch',
      ...event,
      // JSON has no NaN: a metric that diverged is left out rather than sent as null (which the
      // panel's guard would reject, and the whole epoch with it).
      accuracy: finiteOrAbsent(event.accuracy),
      valLoss: finiteOrAbsent(event.valLoss),
      valAccuracy: finiteOrAbsent(event.valAccuracy),
    });
  }

  runFinished(plan: RunPlan, { counts, durationMs, cancelled, budgetStopped, usedStore }: RunEnding): void {
    if (usedStore && plan.options.store !== undefined) {
      // A Redis node's hourly price (its URL's usdPerHour), for as long as the run used it.
      this.ledger.recordStorage(plan.runId, priceStoreTime(parseStoreUrl(plan.options.store), durationMs));
    }
    this.telemetry.emit({
      type: 'run-finished',
      runId: plan.runId,
      status: cancelled
        ? 'cancelled'
        : budgetStopped
          ? 'budget-stopped'
          : counts.failed > 0
            ? 'failed'
            : 'ok',
      done: counts.done,
      failed: counts.failed,
      cancelled: counts.cancelled,
      durationMs,
      bill: this.ledger.runSplit(plan.runId),
    });
    const total = this.ledger.total();
    this.telemetry.emit({ type: 'cost-totals', ...total });
  }

  predict(plan: RunPlan, memoryMb: number): Prediction | undefined {
    return this.profiles.predict(plan.compiled.program.hash, memoryMb, runClock(plan));
  }

  runCostUsd(runId: string): number {
    return this.ledger.runTotal(runId).totalUsd;
  }

  get pricing(): { prices: PriceTable; arch: Arch } {
    return { prices: this.prices, arch: this.arch };
  }

  costReport(): { text: string; html: string } {
    return {
      text: costReportText(this.ledger, this.prices, this.arch),
      html: costReportHtml(this.ledger, this.prices, this.arch),
    };
  }
}

/**
 * The clock a run's durations are counted on: Lambda's for the Lambda
 * backend and for the embedded runtime under `--cpu lambda`, else the host's.
 */
export function runClock(plan: RunPlan): CpuModel {
  return embeddedClock(plan.options) ?? 'lambda';
}

/** `value` when it is a finite number, else undefined (the hub then leaves the field out). */
function finiteOrAbsent(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}
