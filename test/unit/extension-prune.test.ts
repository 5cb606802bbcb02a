/**
 * The panel's state stays bounded: the oldest finished runs give up their
 * invocation records (their counts and cost stay), running runs are never
 * pruned, environments forget the attempts of pruned invocations, and a long
 * cost series is thinned keeping every point of the kernel's ledger.
 */
import { foldEvents } from '../../extension/src/model/fold';
import { pruneState, PRUNE_TO } from '../../extension/src/model/prune';
import { emptyState } from '../../extension/src/model/state';
import { EventScript, mapRun } from './extension-fixtures';

const LIMITS = { maxInvocations: 25, maxCostPoints: 1_000 };

describe('pruneState', () => {
  it('returns the same state while it is within bounds', () => {
    const state = foldEvents(emptyState(), mapRun(new EventScript(), 'r1', 20, 4).take());
    expect(pruneState(state, LIMITS)).toBe(state);
  });

  it('drops the invocations of the oldest finished runs, keeping their counts and cost', () => {
    const script = new EventScript();
    mapRun(script, 'r1', 10, 2);
    mapRun(script, 'r2', 10, 2);
    mapRun(script, 'r3', 10, 2);
    const full = foldEvents(emptyState(), script.take());
    expect(full.invocations.size).toBe(30);
    const pruned = pruneState(full, LIMITS);
    // 30 > 25: down to at most 20 (PRUNE_TO of 25), the oldest run first.
    expect(pruned.invocations.size).toBeLessThanOrEqual(Math.floor(25 * PRUNE_TO));
    expect(pruned.invocations.has('r1-0')).toBe(false);
    expect(pruned.invocations.has('r3-9')).toBe(true);
    const r1 = pruned.runs.get('r1')!;
    expect(r1).toMatchObject({
      invocationIds: [],
      prunedInvocations: 10,
      counts: full.runs.get('r1')!.counts,
    });
    expect(r1.cost).toEqual(full.runs.get('r1')!.cost);
    expect(pruned.runs.get('r3')!.invocationIds).toHaveLength(10);
    expect(pruned.totals).toEqual(full.totals);
    for (const environment of pruned.environments.values()) {
      for (const ref of environment.attempts) {
        expect(pruned.invocations.has(ref.invocationId)).toBe(true);
      }
    }
    // The source state is not changed.
    expect(full.invocations.size).toBe(30);
  });

  it('never prunes a run that is still running', () => {
    const script = new EventScript();
    script.runStarted('live', { invocations: 30 });
    for (let i = 0; i < 30; i++) {
      script.queued(`live-${i}`, 'live', i);
    }
    const state = foldEvents(emptyState(), script.take());
    expect(pruneState(state, LIMITS)).toBe(state);
  });

  it("thins a long cost series, keeping the newer half and every point of the kernel's ledger", () => {
    const script = new EventScript();
    for (let r = 0; r < 30; r++) {
      mapRun(script, `r${r}`, 50, 4);
    }
    const full = foldEvents(emptyState(), script.take());
    expect(full.costSeries.length).toBeGreaterThan(1_000);
    const pruned = pruneState(full, { maxInvocations: 1e9, maxCostPoints: 1_000 });
    expect(pruned.costSeries.length).toBeLessThan(full.costSeries.length);
    expect(pruned.costSeries.at(-1)).toBe(full.costSeries.at(-1));
    expect(pruned.costSeries.filter((p) => p.fromLedger)).toEqual(
      full.costSeries.filter((p) => p.fromLedger),
    );
    const times = pruned.costSeries.map((p) => p.time);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});
