/**
 * Dispatching the invocations of one run: at most `concurrency` in flight,
 * no new dispatch once the run is cancelled or its budget is spent, every
 * result kept in input order. Output and events are forwarded as they come.
 */
import {
  AttemptRecord,
  Backend,
  InvocationObserver,
  InvocationRequest,
  InvocationResult,
} from '../runtime/backend';

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
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < requests.length && !signal.aborted && !hooks.shouldStop()) {
      const slot = next;
      next += 1;
      const request = requests[slot];
      const result = await backend.invoke(request, hooks.observer(request), signal);
      results[slot] = result;
      hooks.onFinished(request, result);
    }
  };
  const lanes = Array.from({ length: Math.min(concurrency, requests.length) }, () => lane());
  await Promise.all(lanes);
  return results;
}

/** The attempt that decided a result (its last). */
export function finalAttempt(result: InvocationResult): AttemptRecord | undefined {
  return result.attempts[result.attempts.length - 1];
}
