/**
 * The views' data shaping: timeline rows, bars and bands (and their Plotly
 * traces, 10,000 invocations included), gradient traffic with its empty
 * state, the cumulative cost split with the budget line, the per-run table
 * and the status bar text.
 */
import { foldEvents, replayState } from '../../extension/src/model/fold';
import { emptyState, TelemetryState } from '../../extension/src/model/state';
import {
  BAR_STYLES,
  barLabel,
  COST_PARTS,
  costPartLabel,
  costShape,
  formatBytes,
  formatMs,
  formatUsd,
  GL_THRESHOLD,
  NO_TRANS,
  QUEUE_ROW,
  statusShape,
  timelineShape,
  timelineTraces,
  TimelineSeries,
  TimelineShape,
  TRAFFIC_EMPTY_TEXT,
  trafficShape,
} from '../../extension/src/views/shape';
import { EventScript, mapRun } from './extension-fixtures';

function series(shape: TimelineShape, state: string): TimelineSeries {
  return shape.series.find((s) => s.state === state)!;
}

/**
 * r1: a cold start that succeeds, a crash retried on another environment,
 * an error, one still running, one still queued. r2 (finished, with a
 * budget): one invocation and exchange rounds.
 */
function scenario(): { s: EventScript; state: TelemetryState } {
  const s = new EventScript();
  s.runStarted('r2', {
    invocations: 1,
    executionCount: 4,
    label: '%%serverless --budget 0.000001',
    budgetUsd: 0.000001,
  });
  s.queued('z', 'r2')
    .started('z', 'r2', { env: 'e0' })
    .wait(20)
    .finished('z', 'r2', { env: 'e0', costUsd: 0.000002 });
  s.exchange('r2', 1, { workerId: 'w0', bytesUp: 1000, bytesDown: 4000, durationMs: 50 });
  s.exchange('r2', 1, { workerId: 'w1', bytesUp: 3000, bytesDown: 4000, durationMs: 100 });
  s.exchange('r2', 2, { workerId: 'w0', store: 's3', bytesUp: 500, bytesDown: 500, durationMs: 0 });
  s.runFinished('r2', { done: 1, costUsd: 0.000002 });
  s.costTotals({ computeUsd: 0.0000018, requestUsd: 0.0000002, invocations: 1 });
  s.wait(1000);
  s.runStarted('r1', { invocations: 5, executionCount: 5, label: '%%serverless --map xs' });
  for (const id of ['a', 'b', 'c', 'd', 'e']) {
    s.queued(id, 'r1', 'abcde'.indexOf(id));
  }
  s.started('a', 'r1', { index: 0, env: 'e1', cold: true, initMs: 300 });
  s.wait(100).finished('a', 'r1', { index: 0, env: 'e1', cold: true, initBilledMs: 300, costUsd: 0.000007 });
  s.started('b', 'r1', { index: 1, env: 'e1' });
  s.wait(10).finished('b', 'r1', {
    index: 1,
    env: 'e1',
    status: 'retried',
    error: { name: 'crashed', message: 'exit 1' },
  });
  s.started('b', 'r1', { index: 1, env: 'e2', attempt: 2 });
  s.wait(10).finished('b', 'r1', { index: 1, env: 'e2', attempt: 2 });
  s.started('c', 'r1', { index: 2, env: 'e2' });
  s.wait(10).finished('c', 'r1', {
    index: 2,
    env: 'e2',
    status: 'error',
    error: { name: 'Error', message: 'bad <b>input</b> & more' },
  });
  s.started('d', 'r1', { index: 3, env: 'e1' });
  return { s, state: replayState(s.take()) };
}

describe('timelineShape', () => {
  it('has a row per environment (queue first), a bar per attempt colored by state, and run bands', () => {
    const { s, state } = scenario();
    const now = s.time + 500;
    const shape = timelineShape(state, { now });
    expect(shape.rows.map((r) => [r.id, r.kind])).toEqual([
      [QUEUE_ROW, 'queue'],
      ['e0', 'environment'],
      ['e1', 'environment'],
      ['e2', 'environment'],
    ]);
    expect(shape.series.map((x) => x.state)).toEqual(BAR_STYLES.map((x) => x.state));
    expect(series(shape, 'queued').invocationId).toEqual(['e']);
    expect(series(shape, 'queued').row).toEqual([0]);
    expect(series(shape, 'queued').end).toEqual([now]);
    expect(series(shape, 'cold').invocationId).toEqual(['a']);
    const a = state.invocations.get('a')!.attempts[0];
    expect(series(shape, 'cold').start).toEqual([a.startTime - 300]);
    expect(series(shape, 'cold').end).toEqual([a.startTime]);
    expect(series(shape, 'done').invocationId).toEqual(['z', 'a', 'b']);
    expect(series(shape, 'retried').invocationId).toEqual(['b']);
    expect(series(shape, 'retried').row).toEqual([2]);
    expect(series(shape, 'failed').invocationId).toEqual(['c']);
    expect(series(shape, 'running').invocationId).toEqual(['d']);
    expect(series(shape, 'running').end).toEqual([now]);
    expect(series(shape, 'cancelled').start).toEqual([]);
    for (const x of shape.series) {
      expect(x.duration).toEqual(x.end.map((end, i) => end - x.start[i]));
      expect(x.className).toBe(`jp-serverless-Timeline-${x.state}`);
    }
    expect(shape.bars).toBe(8);
    expect(shape.bands.map((b) => [b.runId, b.tag, b.state])).toEqual([
      ['r2', '[4]', 'ok'],
      ['r1', '[5]', 'running'],
    ]);
    expect(shape.bands[1].end).toBe(now);
    expect(shape.range).toEqual([s.all[0].time, now]);
  });

  it('writes hover details: id, element, attempt, environment, memory, billed ms, cost, escaped error', () => {
    const { s, state } = scenario();
    const shape = timelineShape(state, { now: s.time + 50 });
    const [cold] = series(shape, 'cold').hover;
    expect(cold).toBe(series(shape, 'done').hover[1]);
    expect(cold.split('<br>')).toEqual([
      '<b>a</b> · element 0',
      'run: %%serverless --map xs',
      'env: e1 · cold start, INIT 300 ms',
      `1024 MB · billed 100 ms + INIT 300 ms · ${formatUsd(0.000007)}`,
      'state: ok',
    ]);
    expect(series(shape, 'retried').hover[0]).toContain('attempt 1');
    expect(series(shape, 'retried').hover[0]).toContain('state: retried · crashed: exit 1');
    expect(series(shape, 'failed').hover[0]).toContain(
      'state: error · Error: bad &lt;b&gt;input&lt;/b&gt; &amp; more',
    );
    expect(series(shape, 'running').hover[0]).toContain('1024 MB · running for 50 ms');
    expect(series(shape, 'queued').hover[0]).toContain('queued for');
  });

  it('shows one run on its own, and queued invocations its run cancelled', () => {
    const { s, state } = scenario();
    s.runFinished('r1', { status: 'cancelled', done: 2, failed: 1, cancelled: 2, costUsd: 0.00002 });
    const ended = foldEvents(state, s.take());
    const shape = timelineShape(ended, { now: s.time + 1000, runId: 'r1' });
    expect(shape.rows.map((r) => r.id)).toEqual([QUEUE_ROW, 'e1', 'e2']);
    expect(shape.bands.map((b) => b.runId)).toEqual(['r1']);
    expect(series(shape, 'cancelled').invocationId).toEqual(['e', 'd']);
    expect(series(shape, 'cancelled').end).toEqual([s.time, s.time]);
    expect(series(shape, 'cancelled').hover[0]).toContain('cancelled after');
    expect(series(shape, 'done').invocationId).toEqual(['a', 'b']);
    expect(timelineShape(emptyState(), { now: 0 })).toMatchObject({
      rows: [],
      bars: 0,
      bands: [],
      range: null,
    });
  });

  it('translates legend and row names', () => {
    const { s, state } = scenario();
    const trans = { __: (msgid: string) => `«${msgid}»` };
    const shape = timelineShape(state, { now: s.time, trans });
    expect(shape.rows[0].label).toBe('«queue»');
    expect(shape.series.map((x) => x.label)).toEqual(BAR_STYLES.map((x) => `«${barLabel(x.state)}»`));
    expect(costPartLabel('init', trans)).toBe('«INIT (cold starts)»');
    expect(COST_PARTS.map((p) => costPartLabel(p.key))).toEqual([
      'compute',
      'INIT (cold starts)',
      'requests',
      'storage',
    ]);
    expect(NO_TRANS.__('%1 of %2, %3', 1, 'two')).toBe('1 of two, %3');
  });

  it('shapes 10,000 invocations into one trace per state, fast', () => {
    const s = mapRun(new EventScript(), 'big', 10_000, 64);
    const state = replayState(s.take());
    timelineShape(state, { now: s.time }); // warm
    let ms = Infinity;
    let shape = timelineShape(state, { now: s.time });
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      shape = timelineShape(state, { now: s.time });
      ms = Math.min(ms, performance.now() - t0);
    }
    expect(shape.bars).toBe(10_064); // 10,000 attempts + 64 cold starts
    expect(shape.rows).toHaveLength(64);
    expect(ms).toBeLessThan(200);

    const color = (v: string) => `color(${v})`;
    const traces = timelineTraces(shape, color);
    expect(shape.bars).toBeGreaterThan(GL_THRESHOLD);
    expect(traces.map((t) => [t.type, t.name])).toEqual([
      ['scattergl', 'cold start'],
      ['scattergl', 'done'],
    ]);
    const done = traces[1];
    expect(done.x).toHaveLength(30_000);
    expect(done.x.slice(0, 3)).toEqual([series(shape, 'done').start[0], series(shape, 'done').end[0], null]);
    expect(done.y.slice(0, 3)).toEqual([0, 0, null]);
    expect(done.line).toEqual({ color: 'color(--jp-success-color1)', width: 8 });

    const bars = timelineTraces(shape, color, { gl: false });
    expect(bars[1]).toMatchObject({ type: 'bar', orientation: 'h', hoverinfo: 'text' });
    expect(bars[1].base).toBe(series(shape, 'done').start);
    expect(bars[1].x).toBe(series(shape, 'done').duration);
  });
});

describe('trafficShape', () => {
  it('is empty until a run exchanges something', () => {
    const state = replayState(mapRun(new EventScript(), 'r', 3, 1).take());
    const shape = trafficShape(state);
    expect(shape.empty).toBe(true);
    expect(shape.rounds).toEqual([]);
    expect(TRAFFIC_EMPTY_TEXT).toMatch(/No gradient traffic yet/);
  });

  it('sums bytes per round, worker and store, with each round throughput', () => {
    const { state } = scenario();
    const shape = trafficShape(state);
    expect(shape.empty).toBe(false);
    expect(shape.rounds).toEqual([
      expect.objectContaining({
        runId: 'r2',
        label: '[4] r1',
        round: 1,
        workers: 2,
        stores: 'embedded',
        bytesUp: 4000,
        bytesDown: 8000,
        durationMs: 100,
        throughputBps: 120_000,
      }),
      expect.objectContaining({ label: '[4] r2', round: 2, workers: 1, stores: 's3', throughputBps: 0 }),
    ]);
    expect(shape.byWorker).toEqual([
      { key: 'w0', label: 'w0', bytesUp: 1500, bytesDown: 4500, parts: 2 },
      { key: 'w1', label: 'w1', bytesUp: 3000, bytesDown: 4000, parts: 1 },
    ]);
    expect(shape.byStore.map((t) => [t.key, t.bytesUp + t.bytesDown])).toEqual([
      ['embedded', 12_000],
      ['s3', 1000],
    ]);
    expect(shape.totals).toEqual({ bytesUp: 4500, bytesDown: 8500, rounds: 2 });
    expect(shape.series).toEqual({
      label: ['[4] r1', '[4] r2'],
      time: [shape.rounds[0].time, shape.rounds[1].time],
      bytesUp: [4000, 500],
      bytesDown: [8000, 500],
      throughputBps: [120_000, 0],
    });
    expect(trafficShape(state, 'r1').empty).toBe(true);
  });
});

describe('costShape', () => {
  it('gives the cumulative split from zero to now, the budget line and a row per run', () => {
    const { s, state } = scenario();
    const now = s.time + 10;
    const shape = costShape(state, { budgetUsd: 0.00001, now });
    expect(shape.empty).toBe(false);
    const n = state.costSeries.length;
    expect(shape.time).toHaveLength(n + 2);
    expect(shape.time[0]).toBe(state.firstTime);
    expect(shape.total[0]).toBe(0);
    expect(shape.time[n + 1]).toBe(now);
    expect(shape.total[n + 1]).toBe(state.totals.totalUsd);
    for (let i = 0; i < shape.time.length; i++) {
      const parts = shape.compute[i] + shape.init[i] + shape.requests[i] + shape.storage[i];
      expect(parts).toBeCloseTo(shape.total[i], 12);
      if (i > 0) {
        expect(shape.total[i]).toBeGreaterThanOrEqual(shape.total[i - 1]);
      }
    }
    expect(shape.init[n + 1]).toBeGreaterThan(0); // the cold start of `a`
    expect(shape.totals.totalUsd).toBe(state.totals.totalUsd);
    expect(shape.budget).toEqual({ usd: 0.00001, reached: true });
    expect(costShape(state, { budgetUsd: 1 }).budget).toEqual({ usd: 1, reached: false });
    expect(costShape(state, { budgetUsd: null }).budget).toBeNull();
    expect(costShape(state).time).toHaveLength(n + 1);

    const [r2, r1] = shape.rows;
    expect(r2).toMatchObject({ runId: 'r2', tag: '[4]', state: 'ok', budgetUsd: 0.000001, overBudget: true });
    expect(r2.cells).toMatchObject({
      invocations: '1/1',
      total: formatUsd(0.000002),
      budget: formatUsd(0.000001),
    });
    expect(r1).toMatchObject({
      runId: 'r1',
      state: 'running',
      overBudget: false,
      attempts: 5,
      coldStarts: 1,
    });
    expect(r1.counts).toEqual({ queued: 1, running: 1, done: 2, failed: 1, cancelled: 0 });
    expect(r1.cells.invocations).toBe('2/5');
    expect(r1.cells.budget).toBe('');
    expect(r1.cost.initUsd).toBeGreaterThan(0);
  });

  it('is empty before anything is billed, and starts late for a truncated history', () => {
    expect(costShape(emptyState())).toMatchObject({
      empty: true,
      time: [],
      rows: [],
      budget: null,
      truncated: false,
    });
    const events = mapRun(new EventScript(), 'r', 3, 1).take();
    const truncated = replayState(events.slice(2), 2);
    const shape = costShape(truncated);
    expect(shape.truncated).toBe(true);
    expect(shape.time[0]).toBe(truncated.costSeries[0].time);
  });
});

describe('statusShape', () => {
  it('shows the live cost, what runs and the budget warning', () => {
    const { state } = scenario();
    const shape = statusShape(state, { connection: 'open', budgetWarningUsd: 0.00001 });
    expect(shape).toMatchObject({ visible: true, running: 1, warning: true });
    expect(shape.text).toBe(`Serverless ${formatUsd(state.totals.totalUsd)} · 1 running, 1 queued`);
    expect(shape.title).toContain(
      `Serverless cost of this kernel: ${formatUsd(state.totals.totalUsd)} over 5 invocations`,
    );
    expect(shape.title).toContain('Budget warning');
    expect(statusShape(state, { connection: 'open', budgetWarningUsd: 1 }).warning).toBe(false);
  });

  it('is hidden without a kernel or with a kernel that has no telemetry', () => {
    expect(statusShape(emptyState(), { connection: 'none' }).visible).toBe(false);
    expect(statusShape(emptyState(), { connection: 'closed' }).visible).toBe(false);
    expect(statusShape(emptyState(), { connection: 'open' })).toMatchObject({
      visible: true,
      text: 'Serverless $0',
    });
  });
});

describe('formatting', () => {
  it('formats USD as the kernel does, bytes and durations', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(0.0000018667)).toBe('$0.00000187');
    expect(formatUsd(12.345)).toBe('$12.35');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.50 kB');
    expect(formatBytes(25_000_000)).toBe('25.0 MB');
    expect(formatMs(42.4)).toBe('42 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatMs(900_000)).toBe('15.0 min');
  });
});
