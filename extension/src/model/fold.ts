/**
 * The pure reducer of telemetry events into a {@link TelemetryState}.
 *
 * A fold costs O(events) plus one copy of each container it writes to
 * (copy on first write, per call; see `./draft`): a replay of the whole history is one call,
 * and a live batch touches only the runs, invocations and environments its
 * events name. Events at or below the state's `lastSeq` are skipped, so
 * folding a replay's overlap again changes nothing.
 */
import { addUsd } from '../telemetry';
import type {
  AttemptCost,
  CostTotalsEvent,
  ExchangeRoundEvent,
  InvocationFinishedEvent,
  InvocationLateErrorEvent,
  InvocationQueuedEvent,
  InvocationStartedEvent,
  RunFinishedEvent,
  RunStartedEvent,
  TelemetryEvent,
  TrainingEpochEvent,
} from '../telemetry';
import { Mutable, StateDraft } from './draft';
import { ExchangeDraft } from './exchange-fold';
import { TrainingDraft } from './training-fold';
import { AttemptRecord, CostPoint, CostSplit, emptyState, TelemetryState } from './state';

/**
 * Folds `events` (in `seq` order) into `state`; returns a new state (or
 * `state` itself when every event was already folded).
 */
export function foldEvents(state: TelemetryState, events: readonly TelemetryEvent[]): TelemetryState {
  let draft: EventDraft | undefined;
  for (const event of events) {
    if (event.seq <= (draft ? draft.lastSeq : state.lastSeq)) {
      continue;
    }
    draft ??= new EventDraft(state);
    draft.apply(event);
  }
  return draft ? draft.finish() : state;
}

/** The state a replay describes: its events folded into an empty state. */
export function replayState(events: readonly TelemetryEvent[], truncated = 0): TelemetryState {
  return foldEvents(emptyState(truncated), events);
}

/** Adds an attempt's bill into `a`, in whole pico-dollars as the kernel's ledger does. */
function addBill(a: Mutable<CostSplit>, bill: AttemptCost): void {
  a.computeUsd = addUsd(a.computeUsd, bill.computeUsd);
  a.initUsd = addUsd(a.initUsd, bill.initUsd);
  a.requestUsd = addUsd(a.requestUsd, bill.requestUsd);
  a.totalUsd = addUsd(a.totalUsd, bill.totalUsd);
}

/** A draft that folds events. */
class EventDraft extends StateDraft {
  /** Folds one event (above `lastSeq`). */
  apply(event: TelemetryEvent): void {
    this.lastSeq = event.seq;
    this.firstTime ??= event.time;
    this.lastTime = Math.max(this.lastTime ?? event.time, event.time);
    switch (event.type) {
      case 'run-started':
        return this.runStarted(event);
      case 'run-finished':
        return this.runFinished(event);
      case 'invocation-queued':
        return this.queued(event);
      case 'invocation-started':
        return this.started(event);
      case 'invocation-finished':
        return this.finished(event);
      case 'invocation-late-error':
        return this.lateError(event);
      case 'cost-totals':
        return this.costTotals(event);
      case 'exchange-round':
        return this.exchange(event);
      case 'training-epoch':
        return this.trainingEpoch(event);
    }
  }

  private runStarted(e: RunStartedEvent): void {
    const run = this.run(e.runId, e.time);
    run.label = e.label;
    run.executionCount = e.executionCount;
    run.backend = e.backend;
    run.memoryMb = e.memoryMb;
    run.timeoutS = e.timeoutS;
    run.concurrency = e.concurrency;
    run.planned = e.invocations;
    run.estimateUsd = e.estimateUsd;
    run.budgetUsd = e.budgetUsd;
    run.started = true;
    run.startTime = Math.min(run.startTime, e.time);
  }

  private runFinished(e: RunFinishedEvent): void {
    const run = this.run(e.runId, e.time);
    run.state = e.status;
    run.endTime = e.time;
    run.durationMs = e.durationMs;
    // What is still open did not finish: it was cancelled (or never dispatched).
    for (const id of run.invocationIds) {
      const known = this.readInvocation(id);
      if (known && (known.state === 'queued' || known.state === 'running' || known.state === 'retried')) {
        const inv = this.invocation(id, e.runId, e.time);
        inv.state = 'cancelled';
        inv.endTime = e.time;
        const attempts = this.ownArray(inv, 'attempts');
        attempts.forEach((attempt, i) => {
          if (attempt.state === 'running') {
            attempts[i] = { ...attempt, state: 'cancelled', endTime: e.time };
          }
        });
      }
    }
    run.counts = { queued: 0, running: 0, done: e.done, failed: e.failed, cancelled: e.cancelled };
    // The kernel's bill of the run replaces the sum of the attempts seen (it has them all, and storage).
    const { computeUsd, initUsd, requestUsd, storageUsd, totalUsd } = e.bill;
    run.cost = { computeUsd, initUsd, requestUsd, storageUsd, totalUsd };
  }

  private queued(e: InvocationQueuedEvent): void {
    const inv = this.invocation(e.id, e.runId, e.time);
    inv.queuedTime = e.time;
    if (e.index !== undefined) {
      inv.index = e.index;
    }
  }

  private started(e: InvocationStartedEvent): void {
    const inv = this.invocation(e.id, e.runId, e.time);
    if (e.index !== undefined) {
      inv.index = e.index;
    }
    const attempt: AttemptRecord = {
      attempt: e.attempt,
      environmentId: e.environmentId,
      cold: e.cold,
      memoryMb: e.memoryMb,
      initMs: e.initMs,
      startTime: e.time,
      endTime: undefined,
      state: 'running',
      durationMs: undefined,
      cpuMs: undefined,
      lambdaMs: undefined,
      billedMs: 0,
      initBilledMs: 0,
      costUsd: 0,
      error: undefined,
      bytesIn: 0,
      bytesOut: 0,
    };
    this.putAttempt(inv, attempt);
    this.setState(inv, 'running', e.time);
    const run = this.run(e.runId, e.time);
    run.attempts += 1;
    run.coldStarts += e.cold ? 1 : 0;
  }

  private finished(e: InvocationFinishedEvent): void {
    const inv = this.invocation(e.id, e.runId, e.time);
    if (e.index !== undefined) {
      inv.index = e.index;
    }
    const seen = inv.attempts.find((a) => a.attempt === e.attempt);
    if (!seen) {
      // Its start was truncated away: count it as started here.
      const run = this.run(e.runId, e.time);
      run.attempts += 1;
      run.coldStarts += e.cold ? 1 : 0;
    }
    const attempt: AttemptRecord = {
      attempt: e.attempt,
      environmentId: e.environmentId,
      cold: e.cold,
      memoryMb: e.memoryMb,
      initMs: seen ? seen.initMs : 0,
      startTime: seen ? seen.startTime : e.time - e.durationMs,
      endTime: e.time,
      state: e.status,
      durationMs: e.durationMs,
      cpuMs: e.cpuMs,
      lambdaMs: e.lambdaMs,
      billedMs: e.billedMs,
      initBilledMs: e.initBilledMs,
      costUsd: e.bill.totalUsd,
      error: e.error,
      bytesIn: e.bytesIn,
      bytesOut: e.bytesOut,
    };
    const previous = seen ? seen.costUsd : 0;
    this.putAttempt(inv, attempt);
    inv.billedMs += e.billedMs - (seen ? seen.billedMs : 0);
    inv.initBilledMs += e.initBilledMs - (seen ? seen.initBilledMs : 0);
    inv.costUsd = addUsd(addUsd(inv.costUsd, e.bill.totalUsd), -previous);
    // A later attempt may already have started (events of one invocation are ordered, but be safe).
    const latest = inv.attempts[inv.attempts.length - 1];
    if (latest.attempt === e.attempt) {
      this.setState(inv, e.status, e.time);
      inv.endTime = e.status === 'retried' ? undefined : e.time;
    }
    const run = this.run(e.runId, e.time);
    run.billedMs += e.billedMs;
    run.initBilledMs += e.initBilledMs;
    addBill(this.ownObject(run, 'cost'), e.bill);
    // An attempt that never ran costs nothing and is not counted.
    if (e.bill.totalUsd > 0) {
      const t = this.totals;
      const point: Mutable<CostPoint> = {
        ...t,
        seq: e.seq,
        time: e.time,
        invocations: t.invocations + 1,
        fromLedger: false,
      };
      addBill(point, e.bill);
      this.pushCost(point);
    }
  }

  private lateError(e: InvocationLateErrorEvent): void {
    const inv = this.invocation(e.id, e.runId, e.time);
    inv.lateError = { name: e.error.name, message: e.error.message };
  }

  private costTotals(e: CostTotalsEvent): void {
    this.pushCost({
      seq: e.seq,
      time: e.time,
      computeUsd: e.computeUsd,
      initUsd: e.initUsd,
      requestUsd: e.requestUsd,
      storageUsd: e.storageUsd,
      totalUsd: e.totalUsd,
      invocations: e.invocations,
      fromLedger: true,
    });
  }

  private exchange(e: ExchangeRoundEvent): void {
    this.exchanges ??= new ExchangeDraft(this.base.exchanges, this.base.droppedExchanges);
    this.exchanges.apply(e);
  }

  private trainingEpoch(e: TrainingEpochEvent): void {
    this.trainings ??= new TrainingDraft(this.base.trainings, this.base.droppedTrainings);
    this.trainings.apply(e);
  }
}
