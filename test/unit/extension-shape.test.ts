/**
 * The views' data shaping: timeline rows, bars and bands (and their Plotly
 * traces, 10,000 invocations included), gradient traffic's empty state, the cumulative cost split with the budget line, the per-run table
 * and the status bar text.
 */
import { foldEvents, replayState } from '../../extension/src/model/fold';
import { emptyState, TelemetryState } from '../../extension/src/model/state';
import {
  BAR_STYLES,
  barHover,
  hoverKey,
  barLabel,
  COST_PARTS,
  costPartLabel,
  costShape,
  formatBytes,
  formatMs,
  formatUsd,
  MAX_DRAWN_BARS,
  NO_TRANS,
  QUEUE_ROW,
  statusShape,
  thinned,
  timelineShape,
  timelineTraces,
  TimelineSeries,
  TimelineShape,
  TRAFFIC_EMPTY_TEXT,
  trafficShape,
} from '../../extension/src/views/shape';
import { zoomFromRelayout } from '../../extension/src/views/timeline-figure';
import { attemptBill, costSplit, EventScript, mapRun } from './extension-fixtures';

function series(shape: TimelineShape, state: string): TimelineSeries {
  return shape.series.find((s) => s.state === state)!;
}

/** The hover markup of bar `i` of a state's series. */
function hover(shape: TimelineShape, state: string, i: number): string {
  return barHover(series(shape, state).source[i], shape.now);
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
    .finished('z', 'r2', { env: 'e0', bill: attemptBill(0.0000018) });
  s.exchange('r2', 1, { rank: 0, workers: 2, bytesUp: 1000, bytesDown: 4000, durationMs: 50 });
  s.exchange('r2', 1, { rank: 1, workers: 2, bytesUp: 3000, bytesDown: 4000, durationMs: 100 });
  s.exchange('r2', 2, { rank: 0, workers: 2, store: 's3', bytesUp: 500, bytesDown: 500, durationMs: 0 });
  s.runFinished('r2', { done: 1, bill: costSplit({ computeUsd: 0.0000018, requestUsd: 0.0000002 }) });
  s.costTotals({ computeUsd: 0.0000018, requestUsd: 0.0000002, invocations: 1 });
  s.wait(1000);
  s.runStarted('r1', { invocations: 5, executionCount: 5, label: '%%serverless --map xs' });
  for (const id of ['a', 'b', 'c', 'd', 'e']) {
    s.queued(id, 'r1', 'abcde'.indexOf(id));
  }
  s.started('a', 'r1', { index: 0, env: 'e1', cold: true, initMs: 300 });
  s.wait(100).finished('a', 'r1', {
    index: 0,
    env: 'e1',
    cold: true,
    initBilledMs: 300,
    bill: attemptBill(0.0000018, 0.000005),
  });
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
    // One bar for the run's queued invocations, standing for no single one.
    expect(series(shape, 'queued').invocationId).toEqual([null]);
    expect(series(shape, 'queued').runId).toEqual(['r1']);
    expect(series(shape, 'queued').row).toEqual([0]);
    expect(series(shape, 'queued').start).toEqual([state.invocations.get('e')!.queuedTime]);
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
    const cold = hover(shape, 'cold', 0);
    expect(cold).toBe(hover(shape, 'done', 1));
    expect(cold.split('<br>')).toEqual([
      '<b>a</b> · element 0',
      'run: %%serverless --map xs',
      'env: e1 · cold start, INIT 300 ms',
      `1024 MB · billed 100 ms + INIT 300 ms · ${formatUsd(0.000007)}`,
      'state: ok',
    ]);
    expect(hover(shape, 'retried', 0)).toContain('attempt 1');
    expect(hover(shape, 'retried', 0)).toContain('state: retried · crashed: exit 1');
    expect(hover(shape, 'failed', 0)).toContain(
      'state: error · Error: bad &lt;b&gt;input&lt;/b&gt; &amp; more',
    );
    expect(hover(shape, 'running', 0)).toContain('1024 MB · running for 50 ms');
    expect(hover(shape, 'queued', 0)).toBe('1 queued (run [5])');
  });

  it("says on an invocation's last bar that code it left behind failed after it returned", () => {
    const { s, state } = scenario();
    const before = timelineShape(state, { now: s.time + 50 });
    const key = hoverKey(series(before, 'cold').source[0]);
    s.lateError('a', 'r1', { name: 'TypeError', message: 'A-late <b>' });
    const after = timelineShape(foldEvents(state, s.take()), { now: s.time + 50 });
    expect(hover(after, 'cold', 0).split('<br>').pop()).toBe(
      'after it returned: TypeError: A-late &lt;b&gt; (environment replaced)',
    );
    expect(hover(before, 'cold', 0)).not.toContain('after it returned');
    // The cached hover text is keyed so that it changes.
    expect(hoverKey(series(after, 'cold').source[0])).not.toBe(key);
  });

  it('shows one run on its own, and queued invocations its run cancelled', () => {
    const { s, state } = scenario();
    s.runFinished('r1', {
      status: 'cancelled',
      done: 2,
      failed: 1,
      cancelled: 2,
      bill: costSplit({ computeUsd: 0.0000194, initUsd: 0.0000001, requestUsd: 0.0000005 }),
    });
    const ended = foldEvents(state, s.take());
    const shape = timelineShape(ended, { now: s.time + 1000, runId: 'r1' });
    expect(shape.rows.map((r) => r.id)).toEqual([QUEUE_ROW, 'e1', 'e2']);
    expect(shape.bands.map((b) => b.runId)).toEqual(['r1']);
    expect(series(shape, 'cancelled').invocationId).toEqual(['e', 'd']);
    expect(series(shape, 'cancelled').end).toEqual([s.time, s.time]);
    expect(hover(shape, 'cancelled', 0)).toContain('cancelled after');
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

  it('shapes 10,000 invocations into one trace per state', () => {
    const s = mapRun(new EventScript(), 'big', 10_000, 64);
    const state = replayState(s.take());
    const shape = timelineShape(state, { now: s.time });
    expect(shape.bars).toBe(10_064); // 10,000 attempts + 64 cold starts
    expect(shape.rows).toHaveLength(64);

    const color = (v: string) => `color(${v})`;
    const traces = timelineTraces(shape, color, { widthPx: 400 });
    expect(traces.map((t) => [t.type, t.name])).toEqual([
      ['bar', 'cold start'],
      ['bar', 'done'],
    ]);
    const drawn = traces.reduce((n, t) => n + t.x.length, 0);
    expect(drawn).toBeLessThanOrEqual(MAX_DRAWN_BARS);
    expect(drawn).toBeGreaterThanOrEqual(64);
    const done = traces[1];
    expect(done.marker.color).toBe('color(--jp-success-color1)');
    // Merged bars stand for several invocations: no id, a count and the elements.
    const merged = done.hovertext.findIndex((t) => / invocations, elements \d+-\d+, done$/.test(t));
    expect(merged).toBeGreaterThanOrEqual(0);
    expect(done.customdata[merged]).toBeNull();
    const count = (text: string) => Number(/^(\d+) invocations, /.exec(text)?.[1] ?? 1);
    expect(done.hovertext.reduce((sum, text) => sum + count(text), 0)).toBe(10_000);
    // Bars keep their place: every merged bar covers only its row's bars of its state.
    const doneSeries = series(shape, 'done');
    const first = Math.min(...doneSeries.start);
    expect(Math.min(...done.base)).toBe(first);
    const last = Math.max(...doneSeries.end);
    expect(Math.max(...done.base.map((b, i) => b + done.x[i]))).toBe(last);
  });
});

describe('timelineTraces', () => {
  const color = (v: string) => `color(${v})`;

  it('draws every bar on its own, with its hover and id, where they fit', () => {
    const s = mapRun(new EventScript(), 'r', 50, 2);
    const shape = timelineShape(replayState(s.take()), { now: s.time });
    const traces = timelineTraces(shape, color, { widthPx: 200 });
    const done = traces.find((t) => t.name === 'done')!;
    expect(done.base).toBe(series(shape, 'done').start);
    expect(done.x).toBe(series(shape, 'done').duration);
    expect(done.customdata).toBe(series(shape, 'done').invocationId);
    expect(new Set(done.customdata).size).toBe(50);
    expect(done.hovertext[0]).toBe(hover(shape, 'done', 0));
    expect(done.hovertext.every((t) => !/ invocations, /.test(t))).toBe(true);
  });

  it('merges only the crowded row, bars of one state closer than a pixel', () => {
    const s = new EventScript();
    s.runStarted('r', { invocations: 12 });
    for (let i = 0; i < 12; i++) {
      s.queued(`i${i}`, 'r', i);
    }
    // e1: ten 10 ms bars back to back; e2: two bars far apart.
    for (let i = 0; i < 10; i++) {
      s.started(`i${i}`, 'r', { index: i, env: 'e1' });
      s.wait(10).finished(`i${i}`, 'r', { index: i, env: 'e1', status: i === 4 ? 'error' : 'ok' });
    }
    s.started('i10', 'r', { index: 10, env: 'e2' }).wait(10).finished('i10', 'r', { index: 10, env: 'e2' });
    s.wait(500);
    s.started('i11', 'r', { index: 11, env: 'e2' }).wait(10).finished('i11', 'r', { index: 11, env: 'e2' });
    const shape = timelineShape(replayState(s.take()), { now: s.time });
    // 600 ms over 5 px: 120 ms a pixel; e1 has 10 bars (> 5 px), e2 has 2.
    const traces = timelineTraces(shape, color, { widthPx: 5, maxBars: 100 });
    const done = traces.find((t) => t.name === 'done')!;
    const failed = traces.find((t) => t.name === 'failed')!;
    const e1 = shape.rows.findIndex((r) => r.id === 'e1');
    const e2 = shape.rows.findIndex((r) => r.id === 'e2');
    // e1: the done bars merge (one state at a time: across the failed one, drawn over them, with its id).
    expect(failed.customdata).toEqual(['i4']);
    const onE1 = done.y.map((row, i) => (row === e1 ? done.hovertext[i] : null)).filter((t) => t !== null);
    expect(onE1).toEqual(['9 invocations, elements 0-9, done']);
    // e2 keeps its two bars as they are.
    const onE2 = done.y
      .map((row, i) => (row === e2 ? done.customdata[i] : undefined))
      .filter((x) => x !== undefined);
    expect(onE2).toEqual(['i10', 'i11']);
  });

  it('caps the bars drawn, merging every row with a growing gap', () => {
    const s = mapRun(new EventScript(), 'r', 300, 30);
    const shape = timelineShape(replayState(s.take()), { now: s.time });
    const traces = timelineTraces(shape, color, { widthPx: 1000, maxBars: 80 });
    const drawn = traces.reduce((n, t) => n + t.x.length, 0);
    expect(drawn).toBeLessThanOrEqual(80); // 30 rows x (cold start + done) at least
    expect(shape.bars).toBeGreaterThan(300);
    const uncapped = timelineTraces(shape, color, { widthPx: 1000, maxBars: 10_000 });
    expect(uncapped.reduce((n, t) => n + t.x.length, 0)).toBe(shape.bars);
  });

  it('zoomed in, draws the bars of the range shown one by one and merges the rest per side', () => {
    // One environment, 200 back-to-back 10 ms bars: 2 s over 50 px merges them.
    const s = new EventScript();
    s.runStarted('r', { invocations: 200 });
    for (let i = 0; i < 200; i++) {
      s.queued(`i${i}`, 'r', i);
    }
    for (let i = 0; i < 200; i++) {
      s.started(`i${i}`, 'r', { index: i, env: 'e1', cold: false });
      s.wait(10).finished(`i${i}`, 'r', { index: i, env: 'e1', cold: false });
    }
    const shape = timelineShape(replayState(s.take()), { now: s.time });
    const done = (options: { visible?: [number, number]; maxBars?: number }) =>
      timelineTraces(shape, color, { widthPx: 50, maxBars: 100, ...options }).find((t) => t.name === 'done')!;
    const whole = done({});
    expect(whole.customdata.filter((id) => id !== null).length).toBeLessThan(10);
    // Zoomed to elements 100-109 (~100 ms over 50 px: ~2 ms a pixel).
    const starts = series(shape, 'done').start;
    const ids = series(shape, 'done').invocationId;
    const first = ids.indexOf('i100');
    const ends = series(shape, 'done').end;
    const visible: [number, number] = [starts[first] + 1, ends[ids.indexOf('i109')] - 1];
    const zoomed = done({ visible });
    const shown = zoomed.customdata.filter((id) => id !== null);
    expect(shown).toEqual(Array.from({ length: 10 }, (_, k) => `i${100 + k}`));
    // The rest: one merged bar before (elements 0-99) and one after (110-199).
    const merged = zoomed.hovertext.filter((t) => / invocations, /.test(t));
    expect(merged).toEqual([
      '100 invocations, elements 0-99, done',
      '90 invocations, elements 110-199, done',
    ]);
    // Every bar is still drawn where it was: the merged ones span their bars.
    const before = zoomed.hovertext.indexOf(merged[0]);
    expect(zoomed.base[before]).toBe(starts[ids.indexOf('i0')]);
    expect(zoomed.base[before] + zoomed.x[before]).toBe(ends[ids.indexOf('i99')]);
    // Under the cap, nothing needs merging when zoomed in: every bar is drawn.
    expect(done({ visible, maxBars: 1000 }).customdata.filter((id) => id !== null).length).toBe(200);
  });

  it('reads the range of a plotly_relayout event (dates as UTC, shifted back) or its reset', () => {
    const t0 = Date.UTC(2026, 10, 29, 6, 30, 12, 345);
    const shift = 3_600_000;
    expect(
      zoomFromRelayout(
        { 'xaxis.range[0]': '2026-11-29 07:30:12.345', 'xaxis.range[1]': '2026-11-29 07:30:13.5' },
        shift,
      ),
    ).toEqual([t0, t0 + 1155]);
    expect(zoomFromRelayout({ 'xaxis.range': [t0 + shift, t0 + shift + 10] }, shift)).toEqual([t0, t0 + 10]);
    expect(zoomFromRelayout({ 'xaxis.autorange': true }, shift)).toBeNull();
    expect(zoomFromRelayout({ dragmode: 'pan' }, shift)).toBeUndefined();
    expect(zoomFromRelayout({ 'xaxis.range[0]': 'not a date', 'xaxis.range[1]': 5 }, 0)).toBeUndefined();
  });

  it('draws all queued invocations of a run as one bar', () => {
    const s = new EventScript();
    s.runStarted('r', { invocations: 1000, executionCount: 3 });
    for (let i = 0; i < 1000; i++) {
      s.queued(`q${i}`, 'r', i);
      s.wait(1);
    }
    const state = replayState(s.take());
    const shape = timelineShape(state, { now: s.time + 5 });
    const traces = timelineTraces(shape, color);
    expect(traces.map((t) => [t.name, t.x.length])).toEqual([['queued', 1]]);
    expect(traces[0].hovertext).toEqual(['1000 queued (run [3])']);
    expect(traces[0].customdata).toEqual([null]);
    expect(traces[0].base).toEqual([state.invocations.get('q0')!.queuedTime]);
    expect(traces[0].base[0] + traces[0].x[0]).toBe(s.time + 5);
  });
});

describe('trafficShape', () => {
  it('is empty until a run exchanges something (more in extension-traffic)', () => {
    const state = replayState(mapRun(new EventScript(), 'r', 3, 1).take());
    const shape = trafficShape(state);
    expect(shape.empty).toBe(true);
    expect(shape.choices).toEqual([]);
    expect(shape.bars.x).toEqual([]);
    expect(TRAFFIC_EMPTY_TEXT).toMatch(/No gradient traffic yet/);
  });

  it('shows the exchange of the scenario, two rounds by two workers', () => {
    const { state } = scenario();
    const shape = trafficShape(state);
    expect(shape.label).toBe('[4] grads · allreduce');
    expect(shape.workers.map((w) => [w.label, w.bytes])).toEqual([
      ['w0', [5000, 1000]],
      ['w1', [7000, 0]],
    ]);
    expect(shape.totals).toMatchObject({ bytesUp: 4500, bytesDown: 8500, rounds: 2, ratio: 1 });
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

  it('keeps about one exact point per pixel column of a long series', () => {
    const s = mapRun(new EventScript(), 'r', 2000, 4);
    const state = replayState(s.take());
    const full = costShape(state, { now: s.time + 10 });
    const thin = costShape(state, { now: s.time + 10, columns: 100 });
    expect(full.time.length).toBeGreaterThan(2000);
    expect(thin.time.length).toBeLessThanOrEqual(102);
    expect(thin.time.length).toBeGreaterThan(50);
    expect([thin.time[0], thin.total[0]]).toEqual([full.time[0], 0]);
    expect(thin.time[thin.time.length - 1]).toBe(s.time + 10);
    expect(thin.total[thin.total.length - 1]).toBe(full.total[full.total.length - 1]);
    // Every point kept is one of the series, with all its parts.
    for (let i = 0; i < thin.time.length; i++) {
      const j = full.time.indexOf(thin.time[i]);
      expect(j).toBeGreaterThanOrEqual(0);
      expect(thin.compute[i]).toBe(full.compute[j]);
      expect(thin.storage[i]).toBe(full.storage[j]);
    }
    // Every column that has points keeps its last one.
    const width = (full.time[full.time.length - 1] - full.time[0]) / 100;
    const columnOf = (t: number) => Math.floor((t - full.time[0]) / width);
    const columns = new Set(full.time.map(columnOf));
    expect(new Set(thin.time.map(columnOf))).toEqual(columns);
    for (const c of columns) {
      const last = Math.max(...full.time.filter((t) => columnOf(t) === c));
      expect(thin.time).toContain(last);
    }
    expect(costShape(state, { columns: 100_000 }).time).toEqual(costShape(state).time);
    expect(thinned([1, 1, 1, 1], 2)).toEqual([0, 3]);
    expect(thinned([1, 2], 1)).toBeNull();
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
