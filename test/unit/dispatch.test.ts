/**
 * dispatchAll with a backend stand-in: invocations are handed ahead of
 * their turn (so a backend can pipeline them), results stay in input order,
 * and what a stopped run handed ahead but never started counts as never
 * dispatched, as it did when nothing was handed ahead.
 */
import { DISPATCH_AHEAD, dispatchAll, DispatchHooks } from '../../kernel-magics/src/run/dispatch';
import {
  AttemptRecord,
  Backend,
  BackendStatus,
  InvocationObserver,
  InvocationRequest,
  InvocationResult,
} from '../../kernel-magics/src/runtime/backend';

/** Runs `concurrency` at a time, in order; asks `mayStart` before each start, like the local backend. */
class StandIn implements Backend {
  readonly name = 'stand-in';
  outstanding = 0;
  peakOutstanding = 0;
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly concurrency: number) {}

  invoke(
    request: InvocationRequest,
    observer: InvocationObserver,
    signal: AbortSignal,
  ): Promise<InvocationResult> {
    this.outstanding += 1;
    this.peakOutstanding = Math.max(this.peakOutstanding, this.outstanding);
    return new Promise<InvocationResult>((resolve) => {
      const done = (result: InvocationResult): void => {
        this.outstanding -= 1;
        resolve(result);
      };
      const cancelled = (attempts: AttemptRecord[]): InvocationResult => ({
        id: request.id,
        attempts,
        outcome: { status: 'cancelled', message: 'Cancelled before it ran.' },
      });
      const start = (): void => {
        if (signal.aborted || observer.mayStart?.() === false) {
          done(cancelled([]));
          this.next();
          return;
        }
        this.running += 1;
        observer.onAttemptStart?.({ attempt: 1, environmentId: 'e', cold: false, initMs: 0 });
        setTimeout(() => {
          this.running -= 1;
          const record: AttemptRecord = {
            attempt: 1,
            environmentId: 'e',
            cold: false,
            initMs: 0,
            durationMs: 1,
            willRetry: false,
            bytesIn: 0,
            bytesOut: 0,
            startedAt: Date.now(),
            outcome: signal.aborted
              ? { status: 'cancelled', message: 'Cancelled: the invocation was stopped before it finished.' }
              : { status: 'ok', result: new Uint8Array([request.index ?? 0]) },
          };
          observer.onAttemptEnd?.(record);
          done({ id: request.id, attempts: [record], outcome: record.outcome });
          this.next();
        }, 2);
      };
      this.queue.push(start);
      this.next();
    });
  }

  private next(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      (this.queue.shift() as () => void)();
    }
  }

  replace(): boolean {
    return false;
  }

  setConcurrency(): void {}

  status(): BackendStatus {
    return {
      environments: [],
      queued: this.queue.length,
      running: this.running,
      concurrencyLimit: this.concurrency,
    };
  }

  async dispose(): Promise<void> {}
}

function requests(count: number): InvocationRequest[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `r${index}`,
    runId: 'run',
    index,
    program: { hash: 'h', source: '', filename: 'f.js' },
    captures: { hash: 'c', bytes: new Uint8Array() },
    memoryMb: 128,
    timeoutS: 1,
    retries: 0,
    cwd: '/',
  }));
}

function hooks(overrides: Partial<DispatchHooks> = {}): DispatchHooks & { finished: number[] } {
  const finished: number[] = [];
  return {
    finished,
    observer: () => ({}),
    onQueued: () => undefined,
    onFinished: (request) => finished.push(request.index ?? -1),
    shouldStop: () => false,
    ...overrides,
  };
}

describe('dispatchAll', () => {
  it('hands invocations ahead of their turn and keeps results in input order', async () => {
    const backend = new StandIn(2);
    const h = hooks();
    const slots = await dispatchAll(backend, requests(100), 2, h, new AbortController().signal);
    expect(slots.map((slot) => slot?.outcome.status)).toEqual(Array(100).fill('ok'));
    expect(slots.map((slot) => (slot?.outcome as { result: Uint8Array }).result[0])).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
    expect(backend.peakOutstanding).toBe(Math.min(100, 2 * DISPATCH_AHEAD));
    expect(h.finished).toHaveLength(100);
  });

  it('once the run must stop, what was handed ahead and never started counts as never dispatched', async () => {
    const backend = new StandIn(2);
    let ended = 0;
    const h = hooks({
      observer: () => ({ onAttemptEnd: () => (ended += 1) }),
      shouldStop: () => ended >= 5,
    });
    const slots = await dispatchAll(backend, requests(100), 2, h, new AbortController().signal);
    const dispatched = slots.filter((slot) => slot !== undefined);
    // Those that started ran to the end; none after the stop started.
    expect(dispatched.every((slot) => slot?.outcome.status === 'ok')).toBe(true);
    expect(dispatched.length).toBeGreaterThanOrEqual(5);
    expect(dispatched.length).toBeLessThanOrEqual(5 + 2);
    expect(h.finished).toHaveLength(dispatched.length);
    expect(slots.slice(dispatched.length).every((slot) => slot === undefined)).toBe(true);
  });

  it('on an abort, keeps the cancelled invocations that had started and drops the others', async () => {
    const backend = new StandIn(2);
    const controller = new AbortController();
    let started = 0;
    const h = hooks({
      observer: () => ({
        onAttemptStart: () => {
          started += 1;
          if (started === 4) {
            controller.abort();
          }
        },
      }),
    });
    const slots = await dispatchAll(backend, requests(50), 2, h, controller.signal);
    const kept = slots.filter((slot) => slot !== undefined);
    expect(kept).toHaveLength(started);
    expect(kept.every((slot) => slot?.attempts.length === 1)).toBe(true);
    expect(h.finished).toHaveLength(started);
  });
});
