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
import { MAX_RETRIES } from './config';
import type { Environment, EnvironmentRun } from './environment';

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

/** One invocation through its attempts. */
export class Job {
  state: JobState = 'queued';
  /** Whether it holds one of the backend's concurrency slots. */
  slot = false;
  /** The current attempt, 1-based (0 before the first). */
  attempt = 0;
  readonly attempts: AttemptRecord[] = [];
  /** The environment of the current attempt. */
  env?: Environment;
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

  /** Records how the current attempt ended, and tells the observer. */
  end(record: AttemptRecord): void {
    this.attempts.push(record);
    this.notify((observer) => observer.onAttemptEnd?.(record));
  }

  /** The record of the attempt this job ran in environment `environmentId`, as measured there. */
  ran(environmentId: string, run: EnvironmentRun): AttemptRecord {
    return {
      attempt: this.attempt,
      environmentId,
      cold: this.cold,
      initMs: this.initMs,
      durationMs: run.durationMs,
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
  notStarted(env: Environment, cold: boolean, crash?: string): AttemptRecord {
    const outcome: AttemptOutcome =
      crash === undefined
        ? { status: 'cancelled', message: 'Cancelled while the environment started.' }
        : { status: 'crashed', message: crash };
    return this.unran(env.id, cold, cold ? env.initMs : 0, outcome);
  }

  /** The record of an attempt of this job that ended before it ran (nothing measured). */
  unran(environmentId: string, cold: boolean, initMs: number, outcome: AttemptOutcome): AttemptRecord {
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
   * How long to pause before retrying after an attempt (exponential backoff
   * with "equal jitter": half the delay fixed, half random), or undefined when
   * the job ends with it: only crashes are retried, at most `retries` times.
   */
  retryDelay(record: AttemptRecord, retryBaseMs: number, retryMaxMs: number): number | undefined {
    const retries = Math.min(MAX_RETRIES, Math.max(0, Math.floor(this.request.retries)));
    if (record.outcome.status !== 'crashed' || this.attempt > retries || this.observerError !== undefined) {
      return undefined;
    }
    const delay = Math.min(retryMaxMs, retryBaseMs * 2 ** (this.attempt - 1));
    return delay * (0.5 + Math.random() / 2);
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

/**
 * The jobs of each AbortSignal, with one abort listener per signal (a map
 * of 1,000 elements shares one signal: one listener, not 1,000).
 */
export class SignalGroups {
  private readonly groups = new Map<AbortSignal, { jobs: Set<Job>; onAbort(): void }>();

  /** Calls `onAbort` with the jobs of a signal still tracked when it aborts. */
  constructor(private readonly onAbort: (jobs: Job[]) => void) {}

  /** Tracks a job until `untrack`. */
  track(job: Job): void {
    let group = this.groups.get(job.signal);
    if (!group) {
      const jobs = new Set<Job>();
      group = { jobs, onAbort: () => this.onAbort([...jobs]) };
      this.groups.set(job.signal, group);
      job.signal.addEventListener('abort', group.onAbort, { once: true });
    }
    group.jobs.add(job);
  }

  /** Stops tracking a job (it ended); a signal without jobs loses its listener. */
  untrack(job: Job): void {
    const group = this.groups.get(job.signal);
    if (group?.jobs.delete(job) && group.jobs.size === 0) {
      job.signal.removeEventListener('abort', group.onAbort);
      this.groups.delete(job.signal);
    }
  }

  /** Every job tracked. */
  all(): Job[] {
    return [...this.groups.values()].flatMap((group) => [...group.jobs]);
  }
}

/** The local backend's FIFO queue. Jobs that ended while queued (cancelled) are dropped when reached. */
export class JobQueue {
  private jobs: Job[] = [];

  /** Queues a job. */
  add(job: Job): void {
    this.jobs.push(job);
  }

  /** The first job still queued, left in the queue. */
  first(): Job | undefined {
    while (this.jobs.length > 0 && this.jobs[0].state !== 'queued') {
      this.jobs.shift();
    }
    return this.jobs[0];
  }

  /** Takes the first job still queued. */
  take(): Job | undefined {
    const job = this.first();
    if (job) {
      this.jobs.shift();
    }
    return job;
  }

  /** Puts jobs back at the head, in order (handed to an environment that never started them). */
  putBack(jobs: Job[]): void {
    for (const job of jobs) {
      job.state = 'queued';
    }
    this.jobs = [...jobs, ...this.jobs];
  }

  /** How many jobs are queued. */
  count(): number {
    return this.jobs.filter((job) => job.state === 'queued').length;
  }

  /** The queue's length, counting jobs that ended and were not dropped yet (to share the queue out). */
  get length(): number {
    return this.jobs.length;
  }

  /** Drops the jobs that ended. */
  compact(): void {
    this.jobs = this.jobs.filter((job) => job.state === 'queued');
  }
}
