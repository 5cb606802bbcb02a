/**
 * Keeps a {@link TelemetryState} within bounds, so a kernel that runs map
 * after map does not grow the panel's memory without end: beyond a number
 * of invocations, the oldest finished runs give up their invocation records
 * (and the attempts environments list for them) while their run records
 * (counts, cost, times) stay; beyond a number of cost points, the older
 * points are thinned (the cumulative cost is kept exactly at every point
 * left). The kernel's history (the replay) is bounded on its side.
 */
import type { CostPoint, EnvironmentRecord, InvocationRecord, RunRecord, TelemetryState } from './state';

/** Bounds of {@link pruneState}. */
export interface PruneLimits {
  /** Invocation records kept at most; pruning brings them to {@link PRUNE_TO} of this. */
  readonly maxInvocations: number;
  /** Cost points kept at most; the older half is thinned when over. */
  readonly maxCostPoints: number;
}

/** Default bounds: room for the 10,000-invocation map the panel is made for, and then some. */
export const DEFAULT_PRUNE_LIMITS: PruneLimits = { maxInvocations: 12_000, maxCostPoints: 20_000 };

/** After pruning, at most this share of `maxInvocations` is kept (so pruning is not done at every event). */
export const PRUNE_TO = 0.8;

/** `state` within `limits` (the same object when it already is). */
export function pruneState(
  state: TelemetryState,
  limits: PruneLimits = DEFAULT_PRUNE_LIMITS,
): TelemetryState {
  let next = state;
  if (state.invocations.size > limits.maxInvocations) {
    next = pruneInvocations(next, Math.floor(limits.maxInvocations * PRUNE_TO));
  }
  if (next.costSeries.length > limits.maxCostPoints) {
    next = { ...next, costSeries: thinCostSeries(next.costSeries) };
  }
  return next;
}

/** Drops the invocations of the oldest finished runs until at most `target` are left. */
function pruneInvocations(state: TelemetryState, target: number): TelemetryState {
  let excess = state.invocations.size - target;
  const dropped = new Set<string>();
  const runs = new Map<string, RunRecord>();
  for (const [id, run] of state.runs) {
    if (excess > 0 && run.state !== 'running' && run.invocationIds.length > 0) {
      for (const invocationId of run.invocationIds) {
        dropped.add(invocationId);
      }
      excess -= run.invocationIds.length;
      runs.set(id, {
        ...run,
        invocationIds: [],
        prunedInvocations: run.prunedInvocations + run.invocationIds.length,
      });
    } else {
      runs.set(id, run);
    }
  }
  if (dropped.size === 0) {
    return state;
  }
  const invocations = new Map<string, InvocationRecord>();
  for (const [id, invocation] of state.invocations) {
    if (!dropped.has(id)) {
      invocations.set(id, invocation);
    }
  }
  const environments = new Map<string, EnvironmentRecord>();
  for (const [id, environment] of state.environments) {
    const attempts = environment.attempts.filter((ref) => !dropped.has(ref.invocationId));
    if (attempts.length === environment.attempts.length) {
      environments.set(id, environment);
    } else if (attempts.length > 0) {
      environments.set(id, { ...environment, attempts });
    }
  }
  return { ...state, runs, invocations, environments };
}

/** Every other point of the older half, the newer half and every point of the kernel's ledger kept. */
function thinCostSeries(series: readonly CostPoint[]): CostPoint[] {
  const half = Math.floor(series.length / 2);
  const thinned: CostPoint[] = [];
  for (let i = 0; i < series.length; i++) {
    if (i >= half || i % 2 === 0 || series[i].fromLedger) {
      thinned.push(series[i]);
    }
  }
  return thinned;
}
