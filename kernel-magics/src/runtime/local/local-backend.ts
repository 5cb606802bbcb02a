/**
 * The embedded runtime: invocations run in a pool of worker processes with
 * AWS Lambda's semantics: a FIFO queue behind a concurrency limit, warm reuse
 * of idle environments with the same configuration, idle expiry, cold starts
 * measured (billed as INIT), timeouts and cancellation that kill, and bounded
 * retries with backoff for crashes only. Short invocations queued behind a
 * full pool are pipelined: handed to a busy environment to run next (see
 * `pipelineDepth`).
 *
 * The bookkeeping is synchronous: environments report results, starts and
 * deaths through callbacks, so an invocation costs no promise chain beyond
 * the one `invoke` returns.
 */
import * as path from 'node:path';

import {
  AttemptOutcome,
  Backend,
  BackendStatus,
  InvocationObserver,
  InvocationRequest,
  InvocationResult,
} from '../backend';
import { checkWhole, LocalBackendOptions, resolveLocalOptions, WORKER_BUNDLE } from './config';
import { Environment, EnvironmentEvents } from './environment';
import { AbortGroups, Backoff, WorkQueue } from '../scheduling';
import { EnvironmentRun, Job, neverRan, UndecidedRecord } from './job';
import { MemoryWatch } from './memory';
import { fitsLine, lineRoom, unblockLines, withdrawRun } from './pipeline';
import { EnvironmentPool } from './pool';
import { describeIsolation } from './sandbox';

/** The `local` backend. */
export class LocalBackend implements Backend {
  readonly name = 'local';
  private limit: number;
  /** Jobs holding a concurrency slot (running, starting or waiting for an environment, pausing to retry). */
  private running = 0;
  /** Jobs handed to an environment behind another, so far. */
  private pipelinedCount = 0;
  private disposed = false;
  private readonly queue = new WorkQueue<Job>();
  /** Jobs holding a slot that wait for an environment, first come first served. */
  private waiting: Job[] = [];
  private readonly pool: EnvironmentPool;
  private readonly groups = new AbortGroups<Job>((jobs) => {
    for (const job of jobs) {
      this.cancel(job, 'cancel');
    }
    this.queue.compact();
    this.serveWaiting();
    this.pump();
  });
  private readonly options: Required<LocalBackendOptions>;
  private readonly backoff: Backoff;
  /** One timer checks the memory of every running environment, and unblocks stuck lines. */
  private readonly memoryWatch = new MemoryWatch(
    () => this.pool.environments,
    () => unblockLines(this.pool.environments),
  );
  private readonly events: EnvironmentEvents = {
    ended: (env, job, run) => this.ended(env, job, run),
    started: (env, job, startedAt) => this.started(env, job, startedAt),
    settled: (env) => this.settled(env),
    exited: (env, unstarted) => this.exited(env, unstarted),
    returned: (_env, jobs) => {
      this.requeue(jobs);
      this.pump();
    },
    lateError: (env, job, error) =>
      job.notify((observer) =>
        observer.onLateError?.({ attempt: job.attempt, environmentId: env.id, error }),
      ),
  };

  constructor(options: LocalBackendOptions = {}) {
    this.options = resolveLocalOptions(options, path.join(__dirname, WORKER_BUNDLE));
    this.limit = this.options.concurrency;
    this.backoff = { baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs };
    this.pool = new EnvironmentPool(this.options, this.events);
  }

  invoke(
    request: InvocationRequest,
    observer: InvocationObserver,
    signal: AbortSignal,
  ): Promise<InvocationResult> {
    if (signal.aborted || this.disposed) {
      return Promise.resolve({ id: request.id, attempts: [], outcome: neverRan() });
    }
    return new Promise((resolve) => {
      const job = new Job(request, observer, signal, resolve);
      this.groups.track(job);
      this.queue.add(job);
      this.pump();
    });
  }

  setConcurrency(limit: number): void {
    checkWhole('concurrency', limit, 1);
    this.limit = limit;
    this.pump();
  }

  status(): BackendStatus {
    return {
      environments: this.pool.status(),
      // Queued, or waiting in an environment's line: not started.
      queued: this.queue.count() + [...this.pool.environments].reduce((sum, env) => sum + env.notStarted, 0),
      running: this.running,
      concurrencyLimit: this.limit,
      isolation: describeIsolation(this.pool.sandbox()),
    };
  }

  /** How many invocations were handed to a busy environment to run next, so far (for tests and benchmarks). */
  pipelined(): number {
    return this.pipelinedCount;
  }

  /** PIDs of the environments' processes not yet exited (for tests and `%serverless status`). */
  pids(): number[] {
    return this.pool.pids();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.memoryWatch.stop();
    for (const job of this.groups.all()) {
      this.cancel(job, 'dispose');
    }
    await this.pool.dispose();
  }

  /** Gives free slots to queued jobs, then pipelines what is left behind busy environments. */
  private pump(): void {
    if (this.disposed) {
      return;
    }
    while (this.running < this.limit) {
      const job = this.dequeue();
      if (!job) {
        return;
      }
      this.take(job);
      this.place(job);
    }
    if (this.queue.length > 0 && this.options.pipelineDepth > 1 && this.waiting.length === 0) {
      for (const env of this.pool.environments) {
        this.refill(env);
      }
    }
  }

  /** The first job of the queue that may start (the others end here), taken from the queue. */
  private dequeue(): Job | undefined {
    for (let job = this.queue.take(); job; job = this.queue.take()) {
      if (this.mayStart(job)) {
        return job;
      }
    }
    return undefined;
  }

  /** Asks the caller whether a queued job may start; a job that may not ends cancelled, never run. */
  private mayStart(job: Job): boolean {
    const allowed = job.mayStart();
    if (!allowed) {
      this.finish(job, neverRan());
    }
    return allowed;
  }

  private take(job: Job): void {
    job.slot = true;
    this.running += 1;
  }

  /**
   * Starts the next attempt of a job that holds a slot: in a warm idle
   * environment of the same configuration, else in a new one when fewer than
   * `maxColdStarts` are starting, else once either is possible.
   */
  private place(job: Job): void {
    job.attempt += 1;
    if (!this.placeNow(job)) {
      job.state = 'waiting';
      this.waiting.push(job);
    }
  }

  /** Hands a job holding a slot to a warm environment, or starts one for it, if either is possible now. */
  private placeNow(job: Job): boolean {
    const env = this.pool.takeIdle(job.request);
    if (env) {
      this.handTo(env, job);
    } else if (this.pool.starting() < this.options.maxColdStarts) {
      this.startCold(job);
    } else {
      return false;
    }
    return true;
  }

  /** Places the waiting jobs that can be placed now, in order. */
  private serveWaiting(): void {
    if (this.waiting.length === 0 || this.disposed) {
      return;
    }
    const waiting = this.waiting;
    this.waiting = [];
    for (const job of waiting) {
      if (job.state === 'waiting' && !this.placeNow(job)) {
        this.waiting.push(job);
      }
    }
  }

  /**
   * Starts an environment for a job, which is sent along (see
   * Environment.preload) and runs there once the environment is ready.
   */
  private startCold(job: Job): void {
    const env = this.pool.start(job.request, this.limit);
    job.state = 'starting';
    job.env = env;
    job.cold = true;
    env.preload(job);
    env.ready.then(
      () => {
        // A cold-start slot is free.
        this.serveWaiting();
        this.pump();
      },
      (error: unknown) => {
        if (job.state === 'starting' && job.env === env) {
          env.kill();
          this.pool.forget(env);
          const message = `The environment did not start: ${(error as Error).message}`;
          this.endAttempt(job, job.notStarted(env, true, message));
        }
        this.serveWaiting();
        this.pump();
      },
    );
  }

  /** Hands a job to a warm environment. */
  private handTo(env: Environment, job: Job): void {
    if (env.state === 'dead') {
      // It died between being picked and being handed the job: no exit event is left to report it.
      this.endAttempt(job, job.notStarted(env, false, 'The runtime exited before the invocation started.'));
      return;
    }
    job.state = 'handed';
    job.env = env;
    job.cold = false;
    job.initMs = 0;
    env.hand(job);
  }

  /**
   * Hands a busy environment more of the queue, to run back to back (see
   * pipeline.ts), from the head of the queue only (FIFO).
   */
  private refill(env: Environment): void {
    const room = lineRoom(env, this.options.pipelineDepth, this.queue.length, this.limit);
    for (let handed = 0; handed < room;) {
      const next = this.queue.first();
      if (!next || !fitsLine(env, next)) {
        return;
      }
      const job = this.queue.take() as Job;
      if (!this.mayStart(job)) {
        continue;
      }
      job.attempt = 1;
      this.pipelinedCount += 1;
      handed += 1;
      this.handTo(env, job);
    }
  }

  replace(invocationId: string, why: string): boolean {
    for (const job of this.groups.all()) {
      if (job.request.id === invocationId && job.state === 'running' && job.env && !job.env.killed) {
        job.env.kill('replaced', why);
        return true;
      }
    }
    return false;
  }

  /** A job began to run (the environment's clock started). */
  private started(env: Environment, job: Job, startedAt: number): void {
    if (job.state === 'starting') {
      // It came with the environment's start (see startCold), which is now measured.
      job.initMs = env.initMs;
    }
    if (!job.slot) {
      // It waited in the environment's line: it takes the slot of the one that just ended.
      this.take(job);
    }
    this.memoryWatch.wake();
    job.begin(env.id, startedAt);
  }

  /** After a job ended: if its run may start no more (budget spent), asks back what waits in lines. */
  private stopIfRefused(job: Job): void {
    if (job.observer.mayStart !== undefined && !job.mayStart()) {
      withdrawRun(this.pool.environments, job.signal);
    }
  }

  /** The running job of an environment ended. */
  private ended(env: Environment, job: Job, run: EnvironmentRun): void {
    this.endAttempt(job, job.ran(env.id, run));
    this.stopIfRefused(job);
  }

  /**
   * Records an attempt, with the retry policy's decision; the job ends, or
   * (after a crash, with retries left) pauses and tries again.
   */
  private endAttempt(job: Job, undecided: UndecidedRecord): void {
    const delay = job.retryDelay(undecided.outcome, this.backoff);
    const willRetry = delay !== undefined && !job.signal.aborted && !this.disposed;
    job.end({ ...undecided, willRetry });
    if (delay === undefined || !willRetry) {
      this.finish(job, delay === undefined ? undecided.outcome : neverRan());
      return;
    }
    // The slot is kept through the pause.
    job.state = 'backoff';
    job.env = undefined;
    job.pause = setTimeout(() => {
      job.pause = undefined;
      this.place(job);
    }, delay);
  }

  /** Ends a job: resolves it, frees its slot. */
  private finish(job: Job, outcome: AttemptOutcome): void {
    if (job.slot) {
      job.slot = false;
      this.running -= 1;
    }
    job.settle(outcome);
    this.groups.untrack(job);
  }

  /** An environment ran what it had (idle), or started the next in its line. */
  private settled(env: Environment): void {
    if (env.state === 'idle' && !env.killed) {
      if (this.disposed) {
        env.kill('dispose');
      } else {
        this.pool.release(env);
      }
    }
    this.serveWaiting();
    this.pump();
  }

  /** An environment's process exited: jobs it never started go back to the head of the queue. */
  private exited(env: Environment, unstarted: Job[]): void {
    this.pool.exited(env);
    this.requeue(unstarted);
    this.serveWaiting();
    this.pump();
  }

  /** Jobs handed to an environment that never started them go back to the head of the queue, in order. */
  private requeue(jobs: Job[]): void {
    for (const job of jobs) {
      job.attempt -= 1;
      job.env = undefined;
      if (job.signal.aborted || this.disposed) {
        this.finish(job, neverRan());
      }
    }
    this.queue.putBack(jobs.filter((job) => job.state !== 'done'));
  }

  /**
   * Cancels a job wherever it is: queued ones end at once; a running one (and
   * one handed behind it, of the same run) end when its environment, killed,
   * has exited; one starting an environment ends at once, with that
   * environment killed.
   */
  private cancel(job: Job, reason: 'cancel' | 'dispose'): void {
    switch (job.state) {
      case 'queued':
        this.finish(job, neverRan());
        return;
      case 'waiting':
        this.waiting = this.waiting.filter((other) => other !== job);
        this.endAttempt(job, job.unran('', false, 0, neverRan()));
        return;
      case 'starting': {
        const env = job.env as Environment;
        env.kill(reason);
        this.pool.forget(env);
        this.endAttempt(job, job.notStarted(env, true));
        return;
      }
      case 'handed':
      case 'running':
        job.env?.kill(reason);
        return;
      case 'backoff':
        this.finish(job, neverRan());
        return;
      case 'done':
        return;
    }
  }
}
