/**
 * The embedded runtime: invocations run in a pool of worker processes with
 * AWS Lambda's semantics: a FIFO queue behind a concurrency limit, warm reuse
 * of idle environments with the same configuration, idle expiry, cold starts
 * measured (billed as INIT), timeouts and cancellation that kill, and bounded
 * retries with backoff for crashes only.
 */
import * as path from 'node:path';

import {
  AttemptRecord,
  Backend,
  BackendStatus,
  InvocationObserver,
  InvocationRequest,
  InvocationResult,
} from '../backend';
import { checkWhole, KILL_GRACE_MS, LOCAL_DEFAULTS, LocalBackendOptions, MAX_RETRIES } from './config';
import { Environment } from './environment';
import { MemoryWatch } from './memory';
import { atMost, pause } from './waits';

interface QueueEntry {
  request: InvocationRequest;
  observer: InvocationObserver;
  signal: AbortSignal;
  resolve(result: InvocationResult): void;
  onAbort(): void;
}

function cancelledResult(request: InvocationRequest, attempts: AttemptRecord[] = []): InvocationResult {
  return {
    id: request.id,
    attempts,
    outcome: { status: 'cancelled', message: 'Cancelled before it ran.' },
  };
}

/** The `local` backend. */
export class LocalBackend implements Backend {
  readonly name = 'local';
  private limit: number;
  private running = 0;
  private nextEnvironment = 1;
  private disposed = false;
  private readonly queue: QueueEntry[] = [];
  /** The pool: environments starting, idle or busy. */
  private readonly environments = new Set<Environment>();
  /** Every environment whose process has not exited yet (the pool, and the ones killed on the way out). */
  private readonly live = new Set<Environment>();
  /** Aborted by `dispose`: ends retry pauses at once. */
  private readonly stopping = new AbortController();
  private readonly expiryTimers = new Map<Environment, NodeJS.Timeout>();
  /** Attempts waiting for an idle environment or a free cold-start slot. */
  private waiters: (() => void)[] = [];
  private readonly options: Required<LocalBackendOptions>;
  /** One timer checks the memory of every running environment. */
  private readonly memoryWatch = new MemoryWatch(() => this.environments);

  constructor(options: LocalBackendOptions = {}) {
    this.options = {
      ...LOCAL_DEFAULTS,
      workerPath: path.join(__dirname, 'worker.js'),
      ...options,
    };
    const { concurrency, maxColdStarts, idleExpiryMs, readyTimeoutMs, retryBaseMs, retryMaxMs } =
      this.options;
    checkWhole('concurrency', concurrency, 1);
    checkWhole('maxColdStarts', maxColdStarts, 1);
    for (const [name, value] of Object.entries({ idleExpiryMs, readyTimeoutMs, retryBaseMs, retryMaxMs })) {
      checkWhole(name, value, 0);
    }
    this.limit = concurrency;
  }

  invoke(
    request: InvocationRequest,
    observer: InvocationObserver,
    signal: AbortSignal,
  ): Promise<InvocationResult> {
    if (signal.aborted || this.disposed) {
      return Promise.resolve(cancelledResult(request));
    }
    return new Promise((resolve) => {
      const entry: QueueEntry = {
        request,
        observer,
        signal,
        resolve,
        onAbort: () => {
          const index = this.queue.indexOf(entry);
          if (index >= 0) {
            this.queue.splice(index, 1);
            resolve(cancelledResult(request));
          }
        },
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
      this.queue.push(entry);
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
      environments: [...this.environments]
        .filter((env) => env.state !== 'dead')
        .map((env) => ({
          id: env.id,
          memoryMb: env.memoryMb,
          state: env.state === 'dead' ? 'idle' : env.state,
          invocations: env.invocations,
        })),
      queued: this.queue.length,
      running: this.running,
      concurrencyLimit: this.limit,
    };
  }

  /** PIDs of the environments' processes not yet exited (for tests and `%serverless status`). */
  pids(): number[] {
    return [...this.live].map((env) => env.pid).filter((pid): pid is number => pid !== undefined);
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.stopping.abort();
    this.memoryWatch.stop();
    for (const entry of this.queue.splice(0)) {
      entry.signal.removeEventListener('abort', entry.onAbort);
      entry.resolve(cancelledResult(entry.request));
    }
    this.notifyWaiters();
    for (const timer of this.expiryTimers.values()) {
      clearTimeout(timer);
    }
    this.expiryTimers.clear();
    const environments = [...this.live];
    for (const env of environments) {
      env.kill('dispose');
    }
    // SIGKILL cannot be refused; the bound only guards against an exit that is never reported.
    await atMost(Promise.all(environments.map((env) => env.exited)), KILL_GRACE_MS);
    this.environments.clear();
  }

  private pump(): void {
    while (!this.disposed && this.running < this.limit && this.queue.length > 0) {
      const entry = this.queue.shift() as QueueEntry;
      entry.signal.removeEventListener('abort', entry.onAbort);
      this.running += 1;
      void this.runWithRetries(entry)
        .then(entry.resolve, (error: unknown) =>
          entry.resolve({
            id: entry.request.id,
            attempts: [],
            outcome: { status: 'crashed', message: `The runtime failed: ${String(error)}` },
          }),
        )
        .finally(() => {
          this.running -= 1;
          this.pump();
        });
    }
  }

  private async runWithRetries(entry: QueueEntry): Promise<InvocationResult> {
    const { request, observer, signal } = entry;
    const attempts: AttemptRecord[] = [];
    const retries = Math.min(MAX_RETRIES, Math.max(0, Math.floor(request.retries)));
    for (let attempt = 1; attempt <= retries + 1; attempt += 1) {
      if (signal.aborted || this.disposed) {
        return cancelledResult(request, attempts);
      }
      const record = await this.attempt(request, observer, signal, attempt);
      attempts.push(record);
      observer.onAttemptEnd?.(record);
      if (record.outcome.status !== 'crashed' || attempt > retries) {
        break;
      }
      // Exponential backoff with "equal jitter": half the delay fixed, half random.
      const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempt - 1));
      await pause(delay * (0.5 + Math.random() / 2), [signal, this.stopping.signal]);
    }
    const last = attempts[attempts.length - 1];
    return { id: request.id, attempts, outcome: last.outcome };
  }

  private async attempt(
    request: InvocationRequest,
    observer: InvocationObserver,
    signal: AbortSignal,
    attempt: number,
  ): Promise<AttemptRecord> {
    const acquired = await this.acquire(request, signal);
    if (!acquired) {
      // Cancelled before it got an environment: it never ran (and costs nothing).
      return {
        attempt,
        environmentId: '',
        cold: false,
        initMs: 0,
        durationMs: 0,
        bytesIn: 0,
        bytesOut: 0,
        startedAt: Date.now(),
        outcome: { status: 'cancelled', message: 'Cancelled before it ran.' },
      };
    }
    const { env, cold } = acquired;
    const base = { attempt, environmentId: env.id, cold, bytesIn: 0, bytesOut: 0, durationMs: 0 };
    if (cold) {
      let onAbort = (): void => undefined;
      try {
        await Promise.race([
          env.ready,
          new Promise<never>((_, reject) => {
            onAbort = () => reject(new Error('cancelled'));
            signal.addEventListener('abort', onAbort, { once: true });
          }),
        ]);
        signal.removeEventListener('abort', onAbort);
      } catch (error) {
        signal.removeEventListener('abort', onAbort);
        env.kill('cancel');
        this.forget(env);
        const outcome =
          signal.aborted || this.disposed
            ? ({ status: 'cancelled', message: 'Cancelled while the environment started.' } as const)
            : ({
                status: 'crashed',
                message: `The environment did not start: ${(error as Error).message}`,
              } as const);
        return { ...base, initMs: env.initMs, startedAt: Date.now(), outcome };
      }
    }
    const initMs = cold ? env.initMs : 0;
    observer.onAttemptStart?.({ attempt, environmentId: env.id, cold, initMs });
    const startedAt = Date.now();
    this.memoryWatch.wake();
    const run = await env.run(request, observer, signal);
    if (env.state === 'dead') {
      this.forget(env);
    } else {
      this.release(env);
    }
    return {
      ...base,
      initMs,
      startedAt,
      durationMs: run.durationMs,
      maxMemoryUsedMb: run.maxMemoryUsedMb,
      bytesIn: run.bytesIn,
      bytesOut: run.bytesOut,
      outcome: run.outcome,
    };
  }

  /**
   * A warm idle environment of the same configuration, or a new one
   * (evicting idle ones at the limit) when fewer than `maxColdStarts` are
   * starting; else waits for either. Undefined when cancelled meanwhile.
   */
  private async acquire(
    request: InvocationRequest,
    signal: AbortSignal,
  ): Promise<{ env: Environment; cold: boolean } | undefined> {
    for (;;) {
      if (signal.aborted || this.disposed) {
        return undefined;
      }
      for (const env of this.environments) {
        if (env.state === 'idle' && env.memoryMb === request.memoryMb && env.cwd === request.cwd) {
          clearTimeout(this.expiryTimers.get(env));
          this.expiryTimers.delete(env);
          env.state = 'busy';
          return { env, cold: false };
        }
      }
      const starting = [...this.environments].filter((env) => env.state === 'starting').length;
      if (starting < this.options.maxColdStarts) {
        return { env: this.startEnvironment(request), cold: true };
      }
      await this.nextChange(signal);
    }
  }

  /** Resolves when an environment becomes idle, ready or gone, or when `signal` aborts. */
  private nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private notifyWaiters(): void {
    for (const waiter of this.waiters.splice(0)) {
      waiter();
    }
  }

  private startEnvironment(request: InvocationRequest): Environment {
    const idle = [...this.environments]
      .filter((env) => env.state === 'idle')
      .sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.environments.size >= this.limit && idle.length > 0) {
      const oldest = idle.shift() as Environment;
      oldest.kill();
      this.forget(oldest);
    }
    const env = new Environment(
      `local-${this.nextEnvironment++}`,
      request.memoryMb,
      request.cwd,
      this.options.workerPath,
      this.options.readyTimeoutMs,
    );
    this.environments.add(env);
    this.live.add(env);
    // A finished start frees a cold-start slot; a worker that dies leaves the pool.
    void env.ready.then(
      () => this.notifyWaiters(),
      () => this.notifyWaiters(),
    );
    void env.exited.then(() => {
      this.live.delete(env);
      this.forget(env);
    });
    return env;
  }

  private release(env: Environment): void {
    if (this.disposed) {
      env.kill('dispose');
      return;
    }
    this.notifyWaiters();
    const timer = setTimeout(() => {
      if (env.state === 'idle') {
        env.kill();
        this.forget(env);
      }
    }, this.options.idleExpiryMs);
    timer.unref();
    this.expiryTimers.set(env, timer);
  }

  private forget(env: Environment): void {
    clearTimeout(this.expiryTimers.get(env));
    this.expiryTimers.delete(env);
    this.environments.delete(env);
    this.notifyWaiters();
  }
}
