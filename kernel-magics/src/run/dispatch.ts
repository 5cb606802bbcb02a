/**
 * Dispatching the invocations of one run: at most `concurrency` running, no
 * new start once the run is cancelled or its budget is spent, every result
 * kept in input order. Output and events are forwarded as they come.
 *
 * Invocations are handed to the backend ahead of their turn (up to
 * DISPATCH_AHEAD x `concurrency` outstanding), so that the backend always
 * knows what comes next (the local backend then runs short invocations back
 * to back in an environment); the backend's concurrency limit decides what
 * runs. An invocation handed ahead asks, through the observer, whether it may
 * still start: once the run is stopped it ends unstarted, and counts as never
 * dispatched, as if it had not been handed yet. (The local backend asks when
 * it hands an invocation to an environment; one put in the line of a busy
 * environment may still start after the stop if the worker takes it before
 * being asked to give it back: only short invocations (PIPELINE_SHORT_MS),
 * at most the rest of that line.)
 */
import { Backend, InvocationObserver, InvocationRequest, InvocationResult } from '../runtime/backend';

/** Hooks of a dispatch (the runner bills, reports telemetry and draws progress). */
export interface DispatchHooks {
  observer(request: InvocationRequest): InvocationObserver;
  onQueued(request: InvocationRequest): void;
  onFinished(request: InvocationRequest, result: InvocationResult): void;
  /** Asked before each dispatch; true stops dispatching the rest (budget spent). */
  shouldStop(): boolean;
}

/** The result of one slot: the invocation's, or undefined when it was never dispatched. */
export type SlotResult = InvocationResult | undefined;

/** How many invocations per unit of concurrency may be outstanding at the backend. */
export const DISPATCH_AHEAD = 16;

/**
 * Runs `requests` on `backend`, `concurrency` at a time. Resolves when all
 * dispatched invocations ended; never rejects for invocation failures.
 */
export async function dispatchAll(
  backend: Backend,
  requests: InvocationRequest[],
  concurrency: number,
  hooks: DispatchHooks,
  signal: AbortSignal,
): Promise<SlotResult[]> {
  const results: SlotResult[] = new Array<SlotResult>(requests.length).fill(undefined);
  for (const request of requests) {
    hooks.onQueued(request);
  }
  const gate = new RunGate(signal, hooks);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < requests.length && gate.mayStart()) {
      const slot = next;
      next += 1;
      const request = requests[slot];
      const result = await backend.invoke(request, gatedObserver(hooks.observer(request), gate), signal);
      // Ended before it started because the run stopped: never dispatched, as far as the run goes.
      if (
        (gate.stopped || signal.aborted) &&
        result.attempts.length === 0 &&
        result.outcome.status === 'cancelled'
      ) {
        continue;
      }
      results[slot] = result;
      hooks.onFinished(request, result);
    }
  };
  const lanes = Array.from({ length: Math.min(concurrency * DISPATCH_AHEAD, requests.length) }, () => lane());
  await Promise.all(lanes);
  return results;
}

/** Whether the run may start another invocation: asked at dispatch and again when one handed ahead starts. */
class RunGate {
  stopped = false;

  constructor(
    private readonly signal: AbortSignal,
    private readonly hooks: Pick<DispatchHooks, 'shouldStop'>,
  ) {}

  mayStart(): boolean {
    this.stopped ||= this.signal.aborted || this.hooks.shouldStop();
    return !this.stopped;
  }
}

/**
 * An invocation's observer that also asks the gate. Made here, not in
 * dispatchAll: a backend may keep an observer after its invocation ended
 * (to blame code it left behind), and a closure made there would keep the
 * run's requests and results alive with it.
 */
function gatedObserver(observer: InvocationObserver, gate: RunGate): InvocationObserver {
  return { ...observer, mayStart: () => gate.mayStart() };
}
