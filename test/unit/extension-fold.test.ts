/**
 * The extension's telemetry reducer: runs, invocations, attempts and
 * environments; retries and cancellations; the cost series, summed as the
 * kernel's ledger sums (checked against the kernel's own meter and ledger);
 * replay overlap and truncated histories; structural sharing; and its speed
 * on 30,000 events.
 */
import { billAttempt, CostLedger, DEFAULT_PRICES } from '../../kernel-magics/src/cost';
import { attemptCost } from '../../kernel-magics/src/cost/meter';
import type { AttemptRecord as BackendAttempt } from '../../kernel-magics/src/runtime/backend';
import { foldEvents, replayState } from '../../extension/src/model/fold';
import { emptyState, TelemetryState } from '../../extension/src/model/state';
import { attemptBill, costSplit, EventScript, mapRun, REQUEST_USD, WARM_BILL } from './extension-fixtures';

/** A state as plain JSON (maps as entry lists), to compare folds. */
function plain(state: TelemetryState): unknown {
  return JSON.parse(
    JSON.stringify(state, (_key, value: unknown) => (value instanceof Map ? [...value.entries()] : value)),
  );
}

describe('foldEvents', () => {
  it('returns the same state for no events', () => {
    const state = emptyState();
    expect(foldEvents(state, [])).toBe(state);
    expect(state.lastSeq).toBe(0);
    expect(state.totals.totalUsd).toBe(0);
  });

  it('folds a run: its invocations, attempts, environments, counts and cost', () => {
    const s = new EventScript();
    s.runStarted('r1', { invocations: 2, label: '%%serverless --map xs', executionCount: 3, budgetUsd: 0.5 });
    s.queued('a', 'r1', 0).queued('b', 'r1', 1);
    s.started('a', 'r1', { index: 0, env: 'e1', cold: true, initMs: 250 });
    const startA = s.time;
    let state = foldEvents(emptyState(), s.take());
    let run = state.runs.get('r1')!;
    expect(run).toMatchObject({
      label: '%%serverless --map xs',
      executionCount: 3,
      planned: 2,
      budgetUsd: 0.5,
      state: 'running',
      started: true,
      counts: { queued: 1, running: 1, done: 0, failed: 0, cancelled: 0 },
      attempts: 1,
      coldStarts: 1,
      invocationIds: ['a', 'b'],
    });
    expect(state.invocations.get('a')).toMatchObject({ state: 'running', index: 0 });
    expect(state.invocations.get('a')!.attempts[0]).toMatchObject({
      attempt: 1,
      environmentId: 'e1',
      cold: true,
      initMs: 250,
      startTime: startA,
      state: 'running',
    });
    expect(state.invocations.get('b')).toMatchObject({ state: 'queued', attempts: [] });
    expect(state.environments.get('e1')).toEqual({
      id: 'e1',
      firstTime: startA - 250,
      attempts: [{ invocationId: 'a', attempt: 1 }],
    });

    const coldBill = attemptBill(0.00000166667, 0.000005);
    s.wait(100).finished('a', 'r1', {
      index: 0,
      env: 'e1',
      cold: true,
      billedMs: 100,
      initBilledMs: 300,
      bill: coldBill,
    });
    const endA = s.time;
    s.started('b', 'r1', { index: 1, env: 'e1' });
    s.wait(50).finished('b', 'r1', {
      index: 1,
      env: 'e1',
      status: 'error',
      error: { name: 'TypeError', message: 'x is undefined' },
    });
    state = foldEvents(state, s.take());
    const a = state.invocations.get('a')!;
    expect(a).toMatchObject({
      state: 'ok',
      endTime: endA,
      billedMs: 100,
      initBilledMs: 300,
      costUsd: coldBill.totalUsd,
    });
    expect(a.attempts[0]).toMatchObject({
      state: 'ok',
      endTime: endA,
      durationMs: 100,
      bytesIn: 10,
      bytesOut: 20,
    });
    expect(state.invocations.get('b')!.attempts[0].error).toEqual({
      name: 'TypeError',
      message: 'x is undefined',
    });
    run = state.runs.get('r1')!;
    expect(run.counts).toEqual({ queued: 0, running: 0, done: 1, failed: 1, cancelled: 0 });
    expect(run.billedMs).toBe(200);
    expect(run.initBilledMs).toBe(300);
    // The attempts' bills, part by part, while the run runs.
    expect(run.cost).toEqual({
      computeUsd: 0.00000333334,
      initUsd: 0.000005,
      requestUsd: 0.0000004,
      storageUsd: 0,
      totalUsd: 0.00000873334,
    });
    expect(state.environments.get('e1')!.attempts).toEqual([
      { invocationId: 'a', attempt: 1 },
      { invocationId: 'b', attempt: 1 },
    ]);

    // The kernel's bill of the run, storage included, replaces the sum of the attempts.
    const runBill = costSplit({
      computeUsd: 0.00000333334,
      initUsd: 0.000005,
      requestUsd: 0.0000004,
      storageUsd: 0.00001,
    });
    s.runFinished('r1', { status: 'failed', done: 1, failed: 1, durationMs: 170, bill: runBill });
    s.costTotals({ ...runBill, invocations: 2 });
    state = foldEvents(state, s.take());
    run = state.runs.get('r1')!;
    expect(run).toMatchObject({ state: 'failed', durationMs: 170, endTime: s.time - 1 });
    expect(run.cost).toEqual(runBill);
    expect(run.cost.totalUsd).toBe(0.00001873334);
    expect(state.totals).toMatchObject({ fromLedger: true, invocations: 2, storageUsd: 0.00001 });
    expect(state.costSeries.map((p) => p.fromLedger)).toEqual([false, false, true]);
    expect(state.lastSeq).toBe(s.seq);
    expect(state.firstTime).toBe(s.all[0].time);
    expect(state.lastTime).toBe(s.time);
  });

  it('follows a crash that is retried on another environment', () => {
    const s = new EventScript();
    s.runStarted('r', { invocations: 1 }).queued('x', 'r');
    s.started('x', 'r', { env: 'e1' }).finished('x', 'r', {
      env: 'e1',
      status: 'retried',
      bill: attemptBill(8e-7),
    });
    let state = foldEvents(emptyState(), s.take());
    expect(state.invocations.get('x')).toMatchObject({ state: 'retried', endTime: undefined });
    expect(state.runs.get('r')!.counts).toMatchObject({ queued: 1, running: 0 });

    s.started('x', 'r', { attempt: 2, env: 'e2', cold: true, initMs: 100 });
    state = foldEvents(state, s.take());
    expect(state.invocations.get('x')!.state).toBe('running');
    expect(state.runs.get('r')!.counts).toMatchObject({ queued: 0, running: 1 });

    s.finished('x', 'r', { attempt: 2, env: 'e2', bill: attemptBill(1.8e-6) });
    state = foldEvents(state, s.take());
    const x = state.invocations.get('x')!;
    expect(x.state).toBe('ok');
    expect(x.attempts.map((t) => [t.attempt, t.environmentId, t.state])).toEqual([
      [1, 'e1', 'retried'],
      [2, 'e2', 'ok'],
    ]);
    expect(x.costUsd).toBe(3e-6);
    expect(state.runs.get('r')!).toMatchObject({ attempts: 2, coldStarts: 1 });
    expect(state.runs.get('r')!.counts).toMatchObject({ done: 1, failed: 0, queued: 0, running: 0 });
    expect([...state.environments.keys()]).toEqual(['e1', 'e2']);
  });

  it('moves an attempt to the environment its end names, when its start could not know it (Lambda)', () => {
    const s = new EventScript();
    s.runStarted('r', { invocations: 2 }).queued('x', 'r').queued('y', 'r');
    s.started('x', 'r', { env: 'lambda' }).started('y', 'r', { env: 'lambda' });
    let state = foldEvents(emptyState(), s.take());
    expect([...state.environments.keys()]).toEqual(['lambda']);
    s.finished('x', 'r', { env: 'lambda-aa', bill: attemptBill(1e-6) });
    state = foldEvents(state, s.take());
    // y still runs where its start said; x is on the environment that ran it.
    expect(state.environments.get('lambda')!.attempts).toEqual([{ invocationId: 'y', attempt: 1 }]);
    expect(state.environments.get('lambda-aa')!.attempts).toEqual([{ invocationId: 'x', attempt: 1 }]);
    s.finished('y', 'r', { env: 'lambda-bb', bill: attemptBill(1e-6) });
    const before = state;
    state = foldEvents(state, s.take());
    // No row is left for the placeholder, and the state folded before is untouched.
    expect([...state.environments.keys()].sort()).toEqual(['lambda-aa', 'lambda-bb']);
    expect(before.environments.get('lambda')!.attempts).toEqual([{ invocationId: 'y', attempt: 1 }]);
    expect(state.invocations.get('y')!.attempts[0].environmentId).toBe('lambda-bb');
  });

  it('keeps the error that code an invocation left behind threw after it ended, its own outcome standing', () => {
    const s = new EventScript();
    s.runStarted('r', { invocations: 1 }).queued('a', 'r').started('a', 'r');
    s.finished('a', 'r', { status: 'ok' });
    s.runFinished('r', { status: 'ok', done: 1, bill: costSplit(WARM_BILL) });
    s.lateError('a', 'r', { message: 'A-late' });
    const state = foldEvents(emptyState(), s.take());
    expect(state.invocations.get('a')).toMatchObject({
      state: 'ok',
      lateError: { name: 'Error', message: 'A-late' },
    });
    expect(state.runs.get('r')).toMatchObject({ state: 'ok' });
  });

  it('marks what is still queued or running as cancelled when the run finishes', () => {
    const s = new EventScript();
    s.runStarted('r', { invocations: 3 }).queued('a', 'r', 0).queued('b', 'r', 1).queued('c', 'r', 2);
    s.started('a', 'r').started('b', 'r', { env: 'e2' }).finished('b', 'r', { env: 'e2' });
    s.runFinished('r', { status: 'cancelled', done: 1, cancelled: 2, bill: costSplit(WARM_BILL) });
    const state = foldEvents(emptyState(), s.take());
    const end = s.time;
    expect(state.invocations.get('a')).toMatchObject({ state: 'cancelled', endTime: end });
    expect(state.invocations.get('a')!.attempts[0]).toMatchObject({ state: 'cancelled', endTime: end });
    expect(state.invocations.get('b')!.state).toBe('ok');
    expect(state.invocations.get('c')).toMatchObject({ state: 'cancelled', attempts: [], endTime: end });
    expect(state.runs.get('r')).toMatchObject({
      state: 'cancelled',
      counts: { queued: 0, running: 0, done: 1, failed: 0, cancelled: 2 },
    });
    expect(state.runs.get('r')!.cost.storageUsd).toBe(0);
  });

  it('adds the bills of attempts after the last cost totals to them, part by part', () => {
    const s = new EventScript();
    s.runStarted('r', { invocations: 2 }).queued('a', 'r').queued('b', 'r');
    s.started('a', 'r').finished('a', 'r', { bill: attemptBill(0.0000009, 0, 0.0000003) });
    s.costTotals({ computeUsd: 0.0000009, requestUsd: 0.0000003, storageUsd: 0.000001, invocations: 1 });
    s.started('b', 'r').finished('b', 'r', { bill: attemptBill(0.0000006, 0.0000001) });
    // An attempt cancelled before it got an environment: billed nothing, not counted.
    s.started('c', 'r').finished('c', 'r', { status: 'cancelled', bill: attemptBill(0, 0, 0) });
    const state = foldEvents(emptyState(), s.take());
    const [p1, p2, p3] = state.costSeries;
    expect(state.costSeries).toHaveLength(3);
    expect(p1).toMatchObject({
      fromLedger: false,
      invocations: 1,
      computeUsd: 0.0000009,
      requestUsd: 0.0000003,
    });
    expect(p2).toMatchObject({ fromLedger: true, invocations: 1, storageUsd: 0.000001, totalUsd: 0.0000022 });
    expect(p3).toEqual({
      seq: s.all[s.all.length - 3].seq,
      time: s.all[s.all.length - 3].time,
      fromLedger: false,
      invocations: 2,
      computeUsd: 0.0000015,
      initUsd: 0.0000001,
      requestUsd: 0.0000005,
      storageUsd: 0.000001,
      totalUsd: 0.0000031,
    });
    expect(state.totals).toBe(p3);
  });

  it("sums the kernel's bills exactly as its ledger does, where float sums drift", () => {
    // Attempts billed by the kernel's own meter, recorded in its ledger, sent as the accounting sends them.
    const ledger = new CostLedger();
    ledger.startRun('r', 'r');
    const s = new EventScript();
    s.runStarted('r', { invocations: 3000 });
    let floatTotal = 0;
    for (let i = 0; i < 3000; i++) {
      const record: BackendAttempt = {
        attempt: 1,
        environmentId: `e${i % 8}`,
        cold: i < 8,
        initMs: 157.3,
        durationMs: 1 + ((i * 7919) % 997) / 3,
        bytesIn: 10,
        bytesOut: 20,
        startedAt: 0,
        outcome: { status: 'ok', result: new Uint8Array() },
        willRetry: false,
      };
      const memoryMb = [128, 1024, 1769, 3008][i % 4];
      const bill = billAttempt(record, memoryMb, DEFAULT_PRICES);
      ledger.record('r', bill);
      floatTotal += bill.totalUsd;
      s.started(`i${i}`, 'r', { env: record.environmentId, cold: record.cold, memoryMb });
      s.finished(`i${i}`, 'r', {
        env: record.environmentId,
        cold: record.cold,
        billedMs: bill.billedMs,
        initBilledMs: bill.initBilledMs,
        bill: attemptCost(bill),
      });
    }
    const state = foldEvents(emptyState(), s.take());
    const { invocations, ...split } = ledger.total();
    expect(state.totals).toMatchObject({ ...split, invocations, fromLedger: false });
    expect(state.runs.get('r')!.cost).toEqual(ledger.runSplit('r'));
    // The check can fail: a float sum of the same bills is not the ledger's total.
    expect(floatTotal).not.toBe(split.totalUsd);
  });

  it('folds exchange rounds into one record per run and exchange (details in extension-exchange)', () => {
    const s = new EventScript();
    s.runStarted('r')
      .exchange('r', 1, { rank: 0, workers: 2 })
      .exchange('r', 1, { rank: 1, workers: 2, store: 's3' })
      .exchange('r', 1, { exchange: 'state' });
    const state = foldEvents(emptyState(), s.take());
    expect([...state.exchanges.values()].map((x) => [x.runId, x.exchange, x.totals.parts, x.store])).toEqual([
      ['r', 'grads', 2, 's3'],
      ['r', 'state', 1, 'embedded'],
    ]);
    expect(state.droppedExchanges).toBe(0);
  });

  it('skips events at or below lastSeq: a replay overlap changes nothing', () => {
    const s = mapRun(new EventScript(), 'r', 20, 3);
    const events = s.take();
    const once = foldEvents(emptyState(), events);
    expect(foldEvents(once, events)).toBe(once);
    expect(foldEvents(once, events.slice(10, 30))).toBe(once);
    // A batch that overlaps the state and goes further applies only the new events.
    const half = foldEvents(emptyState(), events.slice(0, 30));
    const overlapped = foldEvents(half, events.slice(20));
    expect(plain(overlapped)).toEqual(plain(once));
    // Duplicates inside one batch are skipped too.
    expect(plain(foldEvents(emptyState(), [...events.slice(0, 5), ...events]))).toEqual(plain(once));
  });

  it('gives the same state folded in batches as all at once', () => {
    const s = new EventScript();
    mapRun(s, 'r1', 30, 4);
    s.started('late', 'r2', { env: 'e9' })
      .exchange('r2', 1)
      .finished('late', 'r2', { env: 'e9', status: 'timeout' });
    mapRun(s, 'r3', 10, 2);
    const events = s.take();
    const whole = foldEvents(emptyState(), events);
    let batched = emptyState();
    for (let i = 0; i < events.length; i += 7) {
      batched = foldEvents(batched, events.slice(i, i + 7));
    }
    expect(plain(batched)).toEqual(plain(whole));
  });

  it('never changes a state it was given, and shares what the events did not touch', () => {
    const s = new EventScript();
    mapRun(s, 'r1', 5, 2);
    const before = foldEvents(emptyState(), s.take());
    const snapshot = plain(before);
    s.runStarted('r2', { invocations: 1 }).queued('n', 'r2').started('n', 'r2', { env: 'env-0' });
    const after = foldEvents(before, s.take());
    expect(plain(before)).toEqual(snapshot);
    expect(after).not.toBe(before);
    expect(after.runs).not.toBe(before.runs);
    expect(after.runs.get('r1')).toBe(before.runs.get('r1'));
    expect(after.invocations.get('r1-3')).toBe(before.invocations.get('r1-3'));
    // Untouched containers are the same objects.
    expect(after.costSeries).toBe(before.costSeries);
    expect(after.exchanges).toBe(before.exchanges);
    expect(after.environments.get('env-1')).toBe(before.environments.get('env-1'));
    expect(after.environments.get('env-0')).not.toBe(before.environments.get('env-0'));
    expect(before.environments.get('env-0')!.attempts).toHaveLength(3);
    expect(after.environments.get('env-0')!.attempts).toHaveLength(4);
  });

  it('folds a truncated history: events of runs and attempts whose start was dropped', () => {
    const s = new EventScript();
    s.runStarted('old', { invocations: 2 }).queued('o1', 'old').started('o1', 'old', { env: 'e1' });
    s.wait(40).finished('o1', 'old', { env: 'e1', durationMs: 30, bill: attemptBill(8e-7) });
    const runBill = costSplit({ computeUsd: 8e-7, requestUsd: REQUEST_USD, storageUsd: 4e-6 });
    s.runFinished('old', { done: 1, bill: runBill });
    const all = s.take();
    // The kernel dropped the first three events.
    const state = replayState(all.slice(3), 3);
    expect(state.truncated).toBe(3);
    const run = state.runs.get('old')!;
    expect(run).toMatchObject({ label: 'old', started: false, planned: 0, state: 'ok', attempts: 1 });
    // The kernel's bill of the run, whatever the panel saw of it.
    expect(run.cost).toEqual(runBill);
    expect(run.cost.totalUsd).toBe(5e-6);
    const attempt = state.invocations.get('o1')!.attempts[0];
    expect(attempt.startTime).toBe(all[3].time - 30);
    expect(attempt.endTime).toBe(all[3].time);
    expect(state.environments.get('e1')!.attempts).toEqual([{ invocationId: 'o1', attempt: 1 }]);
  });

  it('folds 30,000 events (10,000 invocations), in one replay or in live batches, to the same state', () => {
    const s = mapRun(new EventScript(), 'big', 10_000, 64);
    const events = s.take();
    expect(events.length).toBe(30_003);
    const state = replayState(events);
    expect(state.invocations.size).toBe(10_000);
    expect(state.environments.size).toBe(64);
    expect(state.runs.get('big')!.counts.done).toBe(10_000);
    // Live: the same events in batches of 100 (as the kernel flushes them).
    let live = emptyState();
    for (let i = 0; i < events.length; i += 100) {
      live = foldEvents(live, events.slice(i, i + 100));
    }
    expect(live.lastSeq).toBe(state.lastSeq);
  });
});
