/**
 * An invocation inside the local backend, from `invoke` to its result,
 * through its attempts: where it is (queued, handed to an environment,
 * running, pausing before a retry), and the facts of the attempt under way.
 */
import type {
  AttemptOutcome,
  AttemptRecord,
  InvocationObserver,
  InvocationRequest,
  InvocationResult,
} from '../backend';
import { Backoff, retryDelay } from '../scheduling';
import type { KillReason } from './worker-process';

/**
 * Where a job is.
 * - `queued`: in the backend's queue;
 * - `waiting`: holds a concurrency slot, waits for an environment (all are busy, and as many as may
 *   start at once are starting);
 * - `starting`: holds a slot, waits for the environment started for it;
 * - `handed`: sent to a busy environment, to run after the invocations before it (pipelined);
 * - `running`: holds a slot, runs;
 * - `backoff`: holds a slot, pauses before a retry;
 * - `done`: resolved.
 */
export type JobState = 'queued' | 'waiting' | 'starting' | 'handed' | 'running' | 'backoff' | 'done';

/** What one invocation in an environment gave. */
export interface EnvironmentRun {
  outcome: AttemptOutcome;
  durationMs: number;
  /** CPU time the program used, ms, when measured (by the worker, or read from /proc at a death). */
  cpuMs?: number;
  /** ms it waited in this machine's run queue, when measured (see AttemptRecord). */
  queuedMs?: number;
  /** Its Lambda-equivalent duration, ms, when its request asked for Lambda's CPU share (see AttemptRecord). */
  lambdaMs?: number;
  maxMemoryUsedMb?: number;
  bytesIn: number;
  bytesOut: number;
}

/** The environment a job is placed in, as the job sees it (the Environment class). */
export interface JobEnvironment {
  /** Environment id, e.g. `local-3`. */
  readonly id: string;
  /** ms from spawn to ready (0 until ready). */
  readonly initMs: number;
  /** Whether it was killed (it is on its way out). */
  readonly killed: boolean;
  kill(reason?: KillReason, note?: string): void;
}

/** An attempt's record before the backend decided whether to retry after it. */
export type UndecidedRecord = Omit<AttemptRecord, 'willRetry'>;

/** One invocation through its attempts. */
export class Job {
  state: JobState = 'queued';
  /** Whether it holds one of the backend's concurrency slots. */
  slot = false;
  /** The current attempt, 1-based (0 before the first). */
  attempt = 0;
  readonly attempts: AttemptRecord[] = [];
  /** The environment of the current attempt. */
  env?: JobEnvironment;
  /** The current attempt's environment was started for it. */
  cold = false;
  /** INIT ms of that cold start (0 when warm). */
  initMs = 0;
  /** Epoch ms when the current attempt started running. */
  startedAt = 0;
  /** The retry pause. */
  pause?: NodeJS.Timeout;
  /** The first exception an observer callback threw: the job then ends as a failure of the runtime. */
  observerError?: unknown;

  constructor(
    readonly request: InvocationRequest,
    readonly observer: InvocationObserver,
    readonly signal: AbortSignal,
    private readonly resolve: (result: InvocationResult) => void,
  ) {}

  /** Whether it waits in the backend's queue (see WorkQueue). */
  get queued(): boolean {
    return this.state === 'queued';
  }

  /** Waits in the queue again (handed to an environment that never started it). */
  requeue(): void {
    this.state = 'queued';
  }

  /** Calls an observer callback; an exception is kept, never thrown into the runtime. */
  notify(call: (observer: InvocationObserver) => void): void {
    try {
      call(this.observer);
    } catch (error) {
      this.observerError ??= error;
    }
  }

  /** Whether the caller still lets it start (see InvocationObserver.mayStart); yes when it does not say. */
  mayStart(): boolean {
    let allowed = true;
    this.notify((observer) => (allowed = observer.mayStart?.() ?? true));
    return allowed;
  }

  /** The current attempt started running in `environmentId` at `startedAt` (epoch ms): noted, and told to the observer. */
  begin(environmentId: string, startedAt: number): void {
    this.state = 'running';
    this.startedAt = startedAt;
    const info = { attempt: this.attempt, environmentId, cold: this.cold, initMs: this.initMs };
    this.notify((observer) => observer.onAttemptStart?.(info));
  }

  /** Records how the current attempt ended (and whether it is retried), and tells the observer. */
  end(record: AttemptRecord): void {
    this.attempts.push(record);
    this.notify((observer) => observer.onAttemptEnd?.(record));
  }

  /** The record of the attempt this job ran in environment `environmentId`, as measured there. */
  ran(environmentId: string, run: EnvironmentRun): UndecidedRecord {
    return {
      attempt: this.attempt,
      environmentId,
      cold: this.cold,
      initMs: this.initMs,
      durationMs: run.durationMs,
      cpuMs: run.cpuMs,
      queuedMs: run.queuedMs,
      lambdaMs: run.lambdaMs,
      maxMemoryUsedMb: run.maxMemoryUsedMb,
      bytesIn: run.bytesIn,
      bytesOut: run.bytesOut,
      startedAt: this.startedAt,
      outcome: run.outcome,
    };
  }

  /**
   * The record of an attempt that ended before `env` ran it: cancelled while
   * the environment started (no `crash`), or crashed with the message `crash`.
   * `cold`: the environment was started for this job (its INIT counts).
   */
  notStarted(env: JobEnvironment, cold: boolean, crash?: string): UndecidedRecord {
    const outcome: AttemptOutcome =
      crash === undefined
        ? { status: 'cancelled', message: 'Cancelled while the environment started.' }
        : { status: 'crashed', message: crash };
    return this.unran(env.id, cold, cold ? env.initMs : 0, outcome);
  }

  /** The record of an attempt of this job that ended before it ran (nothing measured). */
  unran(environmentId: string, cold: boolean, initMs: number, outcome: AttemptOutcome): UndecidedRecord {
    return {
      attempt: this.attempt,
      environmentId,
      cold,
      initMs,
      durationMs: 0,
      bytesIn: 0,
      bytesOut: 0,
      startedAt: Date.now(),
      outcome,
    };
  }

  /**
   * How long to pause before retrying after an attempt that ended with
   * `outcome` (the one retry policy, see runtime/scheduling), or undefined
   * when the job ends with it. A job whose observer failed is not retried.
   */
  retryDelay(outcome: AttemptOutcome, backoff: Backoff): number | undefined {
    return this.observerError === undefined
      ? retryDelay(outcome.status, this.attempt, this.request.retries, backoff)
      : undefined;
  }

  /** Resolves the invocation with `outcome` (its last attempt's), once. */
  settle(outcome: AttemptOutcome): void {
    if (this.state === 'done') {
      return;
    }
    this.state = 'done';
    clearTimeout(this.pause);
    this.env = undefined;
    this.resolve(
      this.observerError === undefined
        ? { id: this.request.id, attempts: this.attempts, outcome }
        : {
            id: this.request.id,
            attempts: [],
            outcome: { status: 'crashed', message: `The runtime failed: ${String(this.observerError)}` },
          },
    );
  }
}

/** The outcome of an invocation cancelled before it ran. */
export function neverRan(): AttemptOutcome {
  return { status: 'cancelled', message: 'Cancelled before it ran.' };
}
