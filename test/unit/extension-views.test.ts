/**
 * The panel's pure parts: Plotly figures of the timeline (run bands, local
 * time, merged bars, cached hover text), the traffic and the cost (stacked
 * parts, budget line) built from resolved theme colors; the header's text
 * per connection state; the cost table's columns; the export file.
 */
import { foldEvents, replayState } from '../../extension/src/model/fold';
import { emptyState, TelemetryState } from '../../extension/src/model/state';
import type { ITelemetryModel } from '../../extension/src/tokens';
import { costFigure } from '../../extension/src/views/cost-figure';
import { costColumns, costRowClasses, costRowTitle } from '../../extension/src/views/cost-table';
import { EXPORT_FILENAME, exportBlob } from '../../extension/src/views/export';
import {
  baseLayout,
  figureTheme,
  hoverChars,
  localShiftMs,
  opaque,
  parseColor,
} from '../../extension/src/views/figure-theme';
import {
  connectionText,
  hasRunning,
  headerShape,
  runningRunId,
} from '../../extension/src/views/header-shape';
import {
  BAR_STYLES,
  COST_PARTS,
  costShape,
  formatUsd,
  timelineShape,
  TRAFFIC_EMPTY_TEXT,
  trafficShape,
} from '../../extension/src/views/shape';
import {
  HoverCache,
  timelineFigure,
  timelineHeight,
  wrapHover,
} from '../../extension/src/views/timeline-figure';
import { trafficFigure } from '../../extension/src/views/traffic-figure';
import { costSplit, EventScript, mapRun } from './extension-fixtures';

/** A theme whose every color names its variable, so tests see which one was used. */
const theme = figureTheme((cssVar) => (cssVar.startsWith('--jp-ui-font-') ? '' : `color(${cssVar})`));

/** Run r1 (finished, 6 invocations on 2 environments), then r2 with one running and one queued. */
function scenario(): { s: EventScript; state: TelemetryState } {
  const s = new EventScript();
  mapRun(s, 'r1', 6, 2);
  s.wait(1000);
  s.runStarted('r2', {
    invocations: 2,
    executionCount: 7,
    label: '%%serverless <img src=x onerror=alert(1)>',
  });
  s.queued('r2-0', 'r2', 0).queued('r2-1', 'r2', 1);
  s.started('r2-0', 'r2', { index: 0, env: 'env-0' });
  return { s, state: replayState(s.take()) };
}

describe('figureTheme', () => {
  it('resolves variables once, falls back to light-theme values and reads the font', () => {
    const lookup = jest.fn((cssVar: string) =>
      cssVar === '--jp-brand-color1' ? ' #123456 ' : cssVar === '--jp-ui-font-size1' ? '15px' : '',
    );
    const t = figureTheme(lookup);
    expect(t.color('--jp-brand-color1')).toBe('#123456');
    expect(t.color('--jp-brand-color1')).toBe('#123456');
    expect(lookup.mock.calls.filter(([v]) => v === '--jp-brand-color1')).toHaveLength(1);
    expect(t.color('--jp-error-color1')).toBe('#d32f2f');
    expect(t.color('--jp-not-a-variable')).toBe('#808080');
    expect(t.fontSize).toBe(15);
    expect(t.fontFamily).toContain('sans-serif');
  });

  it('gives every chart transparent backgrounds and themed hover labels', () => {
    const layout = baseLayout(theme, 300);
    expect(layout.height).toBe(300);
    expect(layout.paper_bgcolor).toBe('rgba(0,0,0,0)');
    expect(layout.plot_bgcolor).toBe('rgba(0,0,0,0)');
    expect(layout.hoverlabel?.bgcolor).toBe('color(--jp-layout-color0)');
    expect(layout.font?.color).toBe('rgba(0, 0, 0, 0.87)');
  });

  it('makes translucent colors opaque over the background, so overlapping bars do not add up', () => {
    expect(parseColor('#abc')).toEqual([170, 187, 204, 1]);
    expect(parseColor(' #1976D2 ')).toEqual([25, 118, 210, 1]);
    expect(parseColor('rgba(0, 0, 0, 0.38)')).toEqual([0, 0, 0, 0.38]);
    expect(parseColor('rgb(255 255 255 / 50%)')).toEqual([255, 255, 255, 0.5]);
    expect(parseColor('var(--x)')).toBeNull();
    expect(opaque('rgba(0, 0, 0, 0.38)', '#ffffff')).toBe('rgb(158, 158, 158)');
    expect(opaque('rgba(0, 0, 0, 0.38)', 'white')).toBe('rgb(158, 158, 158)');
    expect(opaque('rgba(255, 255, 255, 0.38)', '#111111')).toBe('rgb(107, 107, 107)');
    expect(opaque('#1976d2', '#ffffff')).toBe('#1976d2');
    expect(opaque('rgba(0,0,0,0.5)', 'transparent')).toBe('rgba(0,0,0,0.5)');
    const t = figureTheme((v) => (v === '--jp-ui-font-color3' ? 'rgba(0, 0, 0, 0.38)' : ''));
    expect(t.solid('--jp-ui-font-color3')).toBe('rgb(158, 158, 158)');
    expect(t.color('--jp-ui-font-color3')).toBe('rgba(0, 0, 0, 0.38)');
  });

  it('shifts epoch ms to local time for date axes', () => {
    const ms = Date.UTC(2026, 0, 15, 12);
    expect(localShiftMs(ms)).toBe(-new Date(ms).getTimezoneOffset() * 60_000);
  });
});

describe('timelineFigure', () => {
  it('draws a bar trace per state in overlay mode, a band and a tag per run, rows top-down', () => {
    const { s, state } = scenario();
    const now = s.time + 100;
    const shape = timelineShape(state, { now });
    const { data, layout, legend } = timelineFigure(shape, theme, { shiftMs: 0 });
    expect(data.map((t) => t.name)).toEqual(['queued', 'cold start', 'running', 'done']);
    expect(legend.map((l) => [l.label, l.colorVar, l.kind])).toEqual(
      ['queued', 'cold', 'running', 'done'].map((state) => {
        const style = BAR_STYLES.find((b) => b.state === state)!;
        return [
          data.find((t) => t.marker?.color === `color(${style.colorVar})`)!.name,
          style.colorVar,
          'fill',
        ];
      }),
    );
    expect(layout.showlegend).toBe(false);
    expect(layout.margin?.t).toBe(44);
    expect(data.every((t) => t.type === 'bar' && t.orientation === 'h')).toBe(true);
    const cold = BAR_STYLES.find((b) => b.state === 'cold')!;
    expect(data[1].marker?.color).toBe(`color(${cold.colorVar})`);
    expect(layout.barmode).toBe('overlay');
    expect(layout.xaxis?.type).toBe('date');
    expect(layout.xaxis?.autorange).toBe(true);
    expect(layout.uirevision).toBe('timeline');
    expect(layout.yaxis?.ticktext).toEqual(['queue', 'env-0', 'env-1']);
    expect(layout.yaxis?.range).toEqual([2.5, -0.5]);
    expect(layout.height).toBe(timelineHeight(3));
    expect(layout.shapes).toHaveLength(2);
    const [r1, r2] = layout.shapes!;
    expect([r1.x0, r1.x1, r1.yref, r1.layer]).toEqual([
      shape.bands[0].start,
      shape.bands[0].end,
      'paper',
      'below',
    ]);
    expect(r2.x1).toBe(now);
    expect(r2.line?.dash).toBe('dot');
    expect(layout.annotations!.map((a) => a.text)).toEqual(['#1', '[7]']);
    expect(layout.annotations![1].hovertext).toBe(
      '[7] %%serverless &lt;img src=x onerror=alert(1)&gt; · running',
    );
  });

  it('moves bars and bands by the local-time shift', () => {
    const { s, state } = scenario();
    const shape = timelineShape(state, { now: s.time });
    const plain = timelineFigure(shape, theme, { shiftMs: 0 });
    const shifted = timelineFigure(shape, theme, { shiftMs: 3_600_000 });
    expect(shifted.data[3].base).toEqual(plain.data[3].base!.map((v) => v + 3_600_000));
    expect(shifted.data[3].x).toEqual(plain.data[3].x);
    expect(shifted.layout.shapes![0].x0).toBe((plain.layout.shapes![0].x0 as number) + 3_600_000);
    // Merged bars (a narrow plot) move too, and stay SVG bars.
    const narrow = timelineFigure(shape, theme, { shiftMs: 1000, widthPx: 1, maxBars: 1 });
    expect(narrow.data.every((t) => t.type === 'bar' && t.orientation === 'h')).toBe(true);
    const done = shape.series.find((x) => x.state === 'done')!;
    const drawn = narrow.data.find((t) => t.name === 'done')!;
    expect(Math.min(...drawn.base)).toBe(Math.min(...done.start) + 1000);
  });

  it('wraps hover lines at spaces to fit a narrow panel, never inside tags or entities', () => {
    const line = 'run: %%serverless --map Array.from({length:50},(_,i)=&gt;i) --as n';
    expect(wrapHover(`<b>abc</b> · element 0<br>${line}`, 30).split('<br>')).toEqual([
      '<b>abc</b> · element 0',
      'run: %%serverless --map',
      'Array.from({length:50},(_,i)=&gt;i)',
      '--as n',
    ]);
    expect(wrapHover('short<br>lines', 10)).toBe('short<br>lines');
    expect(hoverChars(344, 13)).toBe(42);
    expect(hoverChars(100, 13)).toBe(24);
    const { s, state } = scenario();
    const shape = timelineShape(state, { now: s.time });
    const wrapped = timelineFigure(shape, theme, { shiftMs: 0, hoverChars: 24 });
    for (const trace of wrapped.data) {
      for (const text of trace.hovertext) {
        for (const line of text!.split('<br>')) {
          const visible = line.replace(/<[^>]*>/g, '').replace(/&[a-z]+;/g, '_');
          expect([visible, visible.length <= 24 || !visible.includes(' ')]).toEqual([visible, true]);
        }
      }
    }
  });

  it('keeps hover text across redraws per invocation and state, written once', () => {
    const { s, state } = scenario();
    const cache = new HoverCache();
    const first = timelineFigure(timelineShape(state, { now: s.time }), theme, {
      shiftMs: 0,
      hoverChars: 30,
      hoverCache: cache,
    });
    const held = cache.size;
    expect(held).toBeGreaterThan(0);
    const later = timelineFigure(timelineShape(state, { now: s.time + 2000 }), theme, {
      shiftMs: 0,
      hoverChars: 30,
      hoverCache: cache,
    });
    expect(cache.size).toBe(held);
    const done = (f: typeof first) => f.data.find((t) => t.name === 'done')!.hovertext;
    expect(done(later)).toEqual(done(first));
    // The same string objects: not written or wrapped again.
    done(later).forEach((text, i) => expect(Object.is(text, done(first)[i])).toBe(true));
    // Running bars follow the time; the queue bar counts.
    const running = (f: typeof first) => f.data.find((t) => t.name === 'running')!.hovertext[0];
    expect(running(later)).not.toBe(running(first));
    expect(first.data.find((t) => t.name === 'queued')!.hovertext).toEqual(['1 queued (run [7])']);
    // Another width: written anew, wrapped to it.
    timelineFigure(timelineShape(state, { now: s.time }), theme, { shiftMs: 0, hoverCache: cache });
    expect(cache.size).toBe(held);
    const wide = timelineFigure(timelineShape(state, { now: s.time }), theme, {
      shiftMs: 0,
      hoverCache: cache,
    });
    expect(done(wide).some((text, i) => text !== done(first)[i])).toBe(true);
  });

  it('shows both clocks of an attempt billed on Lambda’s CPU share, and one for the others', () => {
    const s = new EventScript();
    s.runStarted('r', { invocations: 2, executionCount: 3, label: '%%serverless' });
    s.queued('a', 'r', 0).queued('b', 'r', 1);
    s.started('a', 'r', { index: 0, env: 'env-0' }).started('b', 'r', { index: 1, env: 'env-1' });
    s.wait(300);
    s.finished('a', 'r', { index: 0, durationMs: 300, cpuMs: 290, lambdaMs: 523, billedMs: 523 });
    s.finished('b', 'r', { index: 1, durationMs: 300, billedMs: 300 });
    const figure = timelineFigure(timelineShape(replayState(s.take()), { now: s.time }), theme, {
      shiftMs: 0,
      hoverChars: 400,
    });
    const [modelled, plain] = figure.data.find((t) => t.name === 'done')!.hovertext;
    expect(modelled).toContain('billed 523 ms');
    expect(modelled).toMatch(
      /ran 300 ms here \(290 ms on the CPU\) · 523 ms on a 1024 MB Lambda's share of a vCPU/,
    );
    expect(plain).toContain('billed 300 ms');
    expect(plain).not.toContain('ran ');
  });

  it('has no traces, bands or legend for an empty state, and caps its height', () => {
    const { data, layout } = timelineFigure(timelineShape(emptyState(), { now: 0 }), theme, { shiftMs: 0 });
    expect(data).toEqual([]);
    expect(layout.shapes).toEqual([]);
    expect(layout.showlegend).toBe(false);
    expect(timelineFigure(timelineShape(emptyState(), { now: 0 }), theme, { shiftMs: 0 }).legend).toEqual([]);
    expect(timelineHeight(0)).toBe(220);
    expect(timelineHeight(10_000)).toBe(1200);
  });
});

describe('trafficFigure', () => {
  it('draws nothing before any exchange (more in extension-traffic)', () => {
    const shape = trafficShape(emptyState());
    expect(shape.empty).toBe(true);
    expect(trafficFigure(shape, theme).data).toEqual([]);
    expect(TRAFFIC_EMPTY_TEXT).toMatch(/^No gradient traffic yet/);
  });
});

describe('costFigure', () => {
  it('stacks the cumulative parts as areas with USD hover text', () => {
    const { state } = scenario();
    const shape = costShape(state);
    const { data, layout } = costFigure(shape, theme, { shiftMs: 0 });
    expect(data.map((t) => t.name)).toEqual(['compute', 'INIT (cold starts)', 'requests', 'storage']);
    expect(data.every((t) => t.stackgroup === 'cost' && t.line?.shape === 'hv')).toBe(true);
    expect(data.map((t) => t.fillcolor)).toEqual(COST_PARTS.map((p) => `color(${p.colorVar})`));
    expect(data[0].x).toBe(shape.time);
    expect(data[0].y).toBe(shape.compute);
    expect(data[2].text).toEqual(shape.requests.map((v) => formatUsd(v)));
    expect(layout.hovermode).toBe('x unified');
    expect(layout.shapes).toEqual([]);
    const shifted = costFigure(shape, theme, { shiftMs: -60_000 });
    expect(shifted.data[0].x).toEqual(shape.time.map((t) => t - 60_000));
  });

  it('draws the budget warning as a dashed line, red once reached', () => {
    const { state } = scenario();
    const below = costFigure(costShape(state, { budgetUsd: 1 }), theme, { shiftMs: 0 }).layout;
    expect(below.shapes).toHaveLength(1);
    expect(below.shapes![0]).toMatchObject({ type: 'line', y0: 1, y1: 1, xref: 'paper' });
    expect(below.shapes![0].line).toMatchObject({ dash: 'dash', color: 'color(--jp-warn-color1)' });
    expect(below.annotations![0].text).toBe(`budget warning ${formatUsd(1)}`);
    const legend = costFigure(costShape(state, { budgetUsd: 1 }), theme, { shiftMs: 0 }).legend;
    expect(legend.map((l) => l.kind)).toEqual(['fill', 'fill', 'fill', 'fill', 'dash']);
    expect(legend[4]).toMatchObject({ label: 'budget warning', colorVar: '--jp-warn-color1' });
    const reached = costFigure(costShape(state, { budgetUsd: 1e-9 }), theme, { shiftMs: 0 }).layout;
    expect(reached.shapes![0].line?.color).toBe('color(--jp-error-color1)');
  });

  it('has no traces before anything was billed', () => {
    const shape = costShape(emptyState(), { budgetUsd: 1 });
    const { data, layout } = costFigure(shape, theme, { shiftMs: 0 });
    expect(data).toEqual([]);
    expect(layout.shapes).toEqual([]);
  });
});

describe('the panel header', () => {
  it('names each connection state', () => {
    const states: ITelemetryModel.Connection[] = ['none', 'opening', 'open', 'restarting', 'closed'];
    expect(states.map((c) => connectionText(c))).toEqual([
      'Not connected',
      "Waiting for the kernel's history",
      'Live',
      'Kernel restarting',
      'No telemetry in this kernel',
    ]);
  });

  it('enables Cancel only while a run runs on an open comm, Export once events arrived', () => {
    const { s, state } = scenario();
    expect(hasRunning(state)).toBe(true);
    expect(runningRunId(state)).toBe('r2');
    expect(headerShape(state, 'open')).toMatchObject({ text: 'Live', canCancel: true, canExport: true });
    expect(headerShape(state, 'restarting').canCancel).toBe(false);
    expect(headerShape(emptyState(), 'open')).toMatchObject({ canCancel: false, canExport: false });
    s.runFinished('r2', { done: 0, status: 'cancelled', bill: costSplit({ computeUsd: 0, requestUsd: 0 }) });
    const ended = foldEvents(state, s.take());
    expect(hasRunning(ended)).toBe(false);
    expect(runningRunId(ended)).toBeUndefined();
    // A run that lost its finished event is not the one a click cancels: the latest started is.
    const lost = new EventScript().runStarted('lost').runStarted('latest');
    expect(runningRunId(replayState(lost.take()))).toBe('latest');
    expect(headerShape(ended, 'open').canCancel).toBe(false);
  });

  it('says when the kernel dropped its oldest events', () => {
    const shape = headerShape(emptyState(12), 'open');
    expect(shape.text).toBe('Live · 12 oldest events dropped');
    expect(shape.title).toContain('the 12 oldest are missing');
  });
});

describe('the cost table', () => {
  it('has a row per run with its tag, state, counts and amounts', () => {
    const { state } = scenario();
    const rows = costShape(state, { budgetUsd: null }).rows;
    const columns = costColumns();
    expect(columns.map((c) => c.key)).toEqual([
      'run',
      'total',
      'state',
      'invocations',
      'cold',
      'billed',
      'compute',
      'init',
      'requests',
      'storage',
      'estimate',
      'budget',
      'duration',
    ]);
    const cells = rows.map((row) => columns.map((c) => c.cell(row)));
    expect(cells[0].slice(0, 5)).toEqual(['#1 %%serverless r1', rows[0].cells.total, 'ok', '6/6', '2']);
    expect(cells[1].slice(0, 4)).toEqual([
      '[7] %%serverless <img src=x onerror=alert(1)>',
      rows[1].cells.total,
      'running',
      '0/2',
    ]);
    expect(costRowClasses(rows[0])).toEqual([]);
    expect(costRowClasses(rows[1])).toEqual(['jp-mod-running']);
    expect(costRowTitle(rows[1])).toContain('0 done, 0 failed, 0 cancelled, 1 running, 1 queued');
  });
});

describe('the export', () => {
  it('is the model JSON in a JSON Blob, named serverless-telemetry.json', async () => {
    const json = JSON.stringify({ events: [{ seq: 1 }] });
    const blob = exportBlob({ exportJson: () => json });
    expect(EXPORT_FILENAME).toBe('serverless-telemetry.json');
    expect(blob.type).toBe('application/json');
    expect(await blob.text()).toBe(json);
  });
});
