/**
 * A {@link TelemetryState} being folded: its containers and records are
 * copied on first write (once per fold), so a fold never changes the state
 * it was given and shares every part its events did not touch. The event
 * handlers are in `./fold`.
 */
import type { ExchangeDraft } from './exchange-fold';
import type { TrainingDraft } from './training-fold';
import {
  AttemptRecord,
  AttemptRef,
  CostPoint,
  CostSplit,
  EnvironmentRecord,
  InvocationRecord,
  InvocationState,
  RunCounts,
  RunRecord,
  TelemetryState,
} from './state';

/** `T` with its fields writable (for records this draft owns). */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Which count of a run an invocation in a state adds to. */
function bucket(state: InvocationState): keyof RunCounts {
  switch (state) {
    case 'queued':
    case 'retried':
      return 'queued';
    case 'running':
      return 'running';
    case 'ok':
      return 'done';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'failed';
  }
}

const ZERO_SPLIT: CostSplit = { computeUsd: 0, initUsd: 0, requestUsd: 0, storageUsd: 0, totalUsd: 0 };
const ZERO_COUNTS: RunCounts = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };

/**
 * The object `record[key]`, copied into `record` once (copy on first write)
 * unless `owned` already holds it; the copy joins `owned`. What every draft's
 * writes go through.
 */
export function ownField<R, K extends keyof R>(owned: Set<object>, record: R, key: K): Mutable<R[K]> {
  const value = record[key] as unknown as object;
  if (owned.has(value)) {
    return value as Mutable<R[K]>;
  }
  const copy = { ...value } as Mutable<R[K]>;
  owned.add(copy as object);
  (record as Record<K, unknown>)[key] = copy;
  return copy;
}

/** A state being folded: containers and records are copied on first write. */
export class StateDraft {
  lastSeq: number;
  protected readonly base: TelemetryState;
  protected firstTime: number | undefined;
  protected lastTime: number | undefined;
  private runs: Map<string, RunRecord> | undefined;
  private invocations: Map<string, InvocationRecord> | undefined;
  private environments: Map<string, EnvironmentRecord> | undefined;
  private costSeries: CostPoint[] | undefined;
  /** The exchanges, once an exchange-round event was folded. */
  protected exchanges: ExchangeDraft | undefined;
  /** The train() calls, once a training-epoch event was folded. */
  protected trainings: TrainingDraft | undefined;
  protected totals: CostPoint;
  /** Records, arrays and splits this draft copied or made, free to mutate (a Set: cheaper than a WeakSet, and a draft lives for one fold). */
  private readonly owned = new Set<object>();

  constructor(base: TelemetryState) {
    this.base = base;
    this.lastSeq = base.lastSeq;
    this.firstTime = base.firstTime;
    this.lastTime = base.lastTime;
    this.totals = base.totals;
  }

  /** The folded state. */
  finish(): TelemetryState {
    const b = this.base;
    return {
      lastSeq: this.lastSeq,
      truncated: b.truncated,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      runs: this.runs ?? b.runs,
      invocations: this.invocations ?? b.invocations,
      environments: this.environments ?? b.environments,
      costSeries: this.costSeries ?? b.costSeries,
      totals: this.totals,
      exchanges: this.exchanges ? this.exchanges.exchanges : b.exchanges,
      droppedExchanges: this.exchanges ? this.exchanges.dropped : b.droppedExchanges,
      trainings: this.trainings ? this.trainings.trainings : b.trainings,
      droppedTrainings: this.trainings ? this.trainings.dropped : b.droppedTrainings,
    };
  }

  // Records, copied on first write.

  protected run(runId: string, time: number): Mutable<RunRecord> {
    this.runs ??= new Map(this.base.runs);
    const known = this.runs.get(runId);
    if (known && this.owned.has(known)) {
      return known as Mutable<RunRecord>;
    }
    const run: Mutable<RunRecord> = known
      ? { ...known }
      : {
          runId,
          label: runId,
          executionCount: undefined,
          backend: undefined,
          memoryMb: undefined,
          timeoutS: undefined,
          concurrency: undefined,
          planned: 0,
          estimateUsd: undefined,
          budgetUsd: undefined,
          started: false,
          state: 'running',
          startTime: time,
          endTime: undefined,
          durationMs: undefined,
          invocationIds: this.fresh<string>(),
          prunedInvocations: 0,
          counts: ZERO_COUNTS,
          attempts: 0,
          coldStarts: 0,
          billedMs: 0,
          initBilledMs: 0,
          cost: ZERO_SPLIT,
        };
    this.owned.add(run);
    this.runs.set(runId, run);
    return run;
  }

  protected readInvocation(id: string): InvocationRecord | undefined {
    return (this.invocations ?? this.base.invocations).get(id);
  }

  protected invocation(id: string, runId: string, time: number): Mutable<InvocationRecord> {
    this.invocations ??= new Map(this.base.invocations);
    const known = this.invocations.get(id);
    if (known && this.owned.has(known)) {
      return known as Mutable<InvocationRecord>;
    }
    let inv: Mutable<InvocationRecord>;
    if (known) {
      inv = { ...known };
    } else {
      // Every field present from the start: records of one shape keep the fold fast.
      inv = {
        id,
        runId,
        index: undefined,
        queuedTime: undefined,
        endTime: undefined,
        state: 'queued',
        attempts: this.fresh<AttemptRecord>(),
        billedMs: 0,
        initBilledMs: 0,
        costUsd: 0,
      };
      const run = this.run(runId, time);
      this.ownArray(run, 'invocationIds').push(id);
      this.ownObject(run, 'counts').queued += 1;
    }
    this.owned.add(inv);
    this.invocations.set(id, inv);
    return inv;
  }

  /** Moves an invocation to `state`, keeping its run's counts. */
  protected setState(inv: Mutable<InvocationRecord>, state: InvocationState, time: number): void {
    const from = bucket(inv.state);
    const to = bucket(state);
    inv.state = state;
    if (from !== to) {
      const counts = this.ownObject(this.run(inv.runId, time), 'counts');
      counts[from] = Math.max(0, counts[from] - 1);
      counts[to] += 1;
    }
  }

  /**
   * Puts an attempt in its place (by number) and on its environment. An
   * attempt whose environment is known only when it ends (Lambda's: the
   * platform picks it) moves from the one its start named to that one.
   */
  protected putAttempt(inv: Mutable<InvocationRecord>, attempt: AttemptRecord): void {
    const attempts = this.ownArray(inv, 'attempts');
    // Attempts come in order: look from the end for the first one not below it.
    let at = attempts.length;
    while (at > 0 && attempts[at - 1].attempt >= attempt.attempt) {
      at -= 1;
    }
    if (at < attempts.length && attempts[at].attempt === attempt.attempt) {
      const before = attempts[at];
      attempts[at] = attempt;
      if (before.environmentId !== attempt.environmentId) {
        this.leaveEnvironment(before.environmentId, inv.id, attempt.attempt);
        this.joinEnvironment(inv.id, attempt);
      }
      return;
    }
    attempts.splice(at, 0, attempt);
    this.joinEnvironment(inv.id, attempt);
  }

  /** Puts an attempt on its environment (made on its first attempt). */
  private joinEnvironment(invocationId: string, attempt: AttemptRecord): void {
    this.environments ??= new Map(this.base.environments);
    let env = this.environments.get(attempt.environmentId);
    const first = attempt.startTime - attempt.initMs;
    if (!env) {
      env = { id: attempt.environmentId, firstTime: first, attempts: this.fresh<AttemptRef>() };
      this.owned.add(env);
      this.environments.set(env.id, env);
    } else if (!this.owned.has(env)) {
      env = { ...env };
      this.owned.add(env);
      this.environments.set(env.id, env);
    }
    const owned = env as Mutable<EnvironmentRecord>;
    owned.firstTime = Math.min(owned.firstTime, first);
    this.ownArray(owned, 'attempts').push({ invocationId, attempt: attempt.attempt });
  }

  /** Takes an attempt off an environment; an environment left without attempts is forgotten. */
  private leaveEnvironment(environmentId: string, invocationId: string, attempt: number): void {
    this.environments ??= new Map(this.base.environments);
    const env = this.environments.get(environmentId);
    if (!env) {
      return;
    }
    const rest = env.attempts.filter((ref) => ref.invocationId !== invocationId || ref.attempt !== attempt);
    if (rest.length === 0) {
      this.environments.delete(environmentId);
      return;
    }
    const moved: EnvironmentRecord = { ...env, attempts: rest };
    this.owned.add(moved);
    this.owned.add(rest);
    this.environments.set(environmentId, moved);
  }

  protected pushCost(point: CostPoint): void {
    this.costSeries ??= this.base.costSeries.slice();
    this.costSeries.push(point);
    this.totals = point;
  }

  /** A new array, owned by this draft. */
  private fresh<T>(): T[] {
    const array: T[] = [];
    this.owned.add(array);
    return array;
  }

  /** The object `record[key]`, copied once by this draft so it can be mutated. */
  protected ownObject<R, K extends keyof R>(record: R, key: K): Mutable<R[K]> {
    return ownField(this.owned, record, key);
  }

  /** The array `record[key]`, copied once by this draft so it can be mutated. */
  protected ownArray<R, K extends keyof R>(
    record: R,
    key: K,
  ): R[K] extends readonly (infer T)[] ? T[] : never {
    const value = record[key] as unknown as object;
    if (this.owned.has(value)) {
      return value as R[K] extends readonly (infer T)[] ? T[] : never;
    }
    const copy = (value as unknown[]).slice();
    this.owned.add(copy);
    (record as Record<K, unknown>)[key] = copy;
    return copy as R[K] extends readonly (infer T)[] ? T[] : never;
  }
}
