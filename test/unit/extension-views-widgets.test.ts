/**
 * @jest-environment jsdom
 */
/**
 * The panel's widgets in a DOM: views draw only while visible, at most once
 * per frame, load Plotly only for a chart (never for the traffic view's
 * empty state), redraw on theme changes and while runs are live; the
 * traffic view says when it first shows traffic and arranges its chart for
 * the height its plot gets; the cost
 * table writes cell text as text; the header and the status bar item follow
 * the model; the export downloads a file.
 */
import './extension-views-dom';

import { MessageLoop } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { exchangeKey } from '../../extension/src/model/exchange-state';
import { foldEvents, replayState } from '../../extension/src/model/fold';
import type { TelemetryState } from '../../extension/src/model/state';
import { CostView } from '../../extension/src/views/cost-view';
import { downloadTelemetry, EXPORT_FILENAME } from '../../extension/src/views/export';
import { PanelHeader } from '../../extension/src/views/panel-header';
import { TRAFFIC_EMPTY_TEXT } from '../../extension/src/views/shape';
import { ServerlessStatus } from '../../extension/src/views/status-item';
import { TimelineView } from '../../extension/src/views/timeline-view';
import { TRAFFIC_MIN_HEIGHT_PX, trafficDomains } from '../../extension/src/views/traffic-figure';
import { TrafficView } from '../../extension/src/views/traffic-view';
import { costSplit, EventScript, exchangeRun, mapRun, WARM_BILL } from './extension-fixtures';
import { attach, disposeAttached, FakeModel, fakePlotly, settle } from './extension-views-fakes';

/** Events of a finished 8-invocation map run (the script goes on from there). */
const script = (): EventScript => mapRun(new EventScript(), 'r1', 8, 2);

function mapState(s: EventScript = script()): TelemetryState {
  return replayState(s.take());
}

afterEach(disposeAttached);

describe('TimelineView', () => {
  it('draws nothing until attached, then once per frame however many changes arrive', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = new TimelineView({ model: model.asModel(), loadPlotly: load });
    const s = script();
    model.set(mapState(s));
    await settle();
    expect(view.draws).toBe(0);
    expect(load).not.toHaveBeenCalled();

    attach(view);
    await settle(view);
    expect(load).toHaveBeenCalledTimes(1);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    const [root, data, layout, config] = plotly.react.mock.calls[0];
    expect(root.classList.contains('jp-serverless-View-plot')).toBe(true);
    expect((data as { name: string }[]).map((t) => t.name)).toEqual(['cold start', 'done']);
    expect(layout).toMatchObject({ barmode: 'overlay' });
    expect(config).toMatchObject({ displaylogo: false, responsive: true });
    expect(view.node.classList.contains('jp-serverless-Timeline')).toBe(true);
    const swatches = view.node.querySelectorAll<HTMLElement>(
      '.jp-serverless-View-legend .jp-serverless-View-swatch',
    );
    expect(Array.from(swatches).map((n) => n.style.getPropertyValue('--jp-serverless-swatch-color'))).toEqual(
      ['var(--jp-info-color1)', 'var(--jp-success-color1)'],
    );
    expect(view.node.querySelector('.jp-serverless-View-legend')!.textContent).toBe('cold startdone');
    expect(view.node.querySelector('.jp-serverless-View-summary')!.textContent).toBe(
      '8 invocations · 1 run · 2 environments · 2 cold starts',
    );

    for (let i = 0; i < 5; i++) {
      s.runStarted(`x${i}`).queued(`x${i}-0`, `x${i}`);
      model.set(foldEvents(model.state, s.take()));
    }
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    const last = plotly.react.mock.calls[1][2] as { shapes: unknown[] };
    expect(last.shapes).toHaveLength(6);
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('only marks itself dirty while hidden and draws what it missed when shown', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TimelineView({ model: model.asModel(), loadPlotly: load }));
    const s = script();
    model.set(mapState(s));
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    view.hide();
    model.set(foldEvents(model.state, s.runStarted('y').take()));
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    expect(view.isDirty).toBe(true);
    view.show();
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    expect(view.isDirty).toBe(false);
  });

  it('reads its width once per resize and merges bars to it', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TimelineView({ model: model.asModel(), loadPlotly: load }));
    let width = 400;
    const reads = jest.fn(() => width);
    Object.defineProperty(view.node, 'clientWidth', { get: reads, configurable: true });
    const s = mapRun(new EventScript(), 'big', 1000, 2);
    model.set(mapState(s));
    await settle(view);
    const drawn = (call: number) =>
      (plotly.react.mock.calls[call][1] as { x: number[] }[]).reduce((n, t) => n + t.x.length, 0);
    // 500 bars in each of 2 rows, a plot of 320 px: merged.
    expect(drawn(0)).toBeLessThan(100);
    const readsAfterFirst = reads.mock.calls.length;
    expect(readsAfterFirst).toBeGreaterThan(0);
    model.set(foldEvents(model.state, s.runStarted('y').take()));
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    expect(reads.mock.calls.length).toBe(readsAfterFirst);
    // Wide enough for every bar: a resize draws them one by one.
    width = 5000;
    MessageLoop.sendMessage(view, Widget.ResizeMessage.UnknownSize);
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(3);
    expect(reads.mock.calls.length).toBeGreaterThan(readsAfterFirst);
    expect(drawn(2)).toBe(1002); // 1,000 attempts + 2 cold starts
  });

  it('shows a message and loads no Plotly before any invocation', async () => {
    const model = new FakeModel();
    const { load } = fakePlotly();
    const view = attach(new TimelineView({ model: model.asModel(), loadPlotly: load }));
    await settle(view);
    expect(view.draws).toBe(1);
    expect(load).not.toHaveBeenCalled();
    const message = view.node.querySelector('.jp-serverless-View-message') as HTMLElement;
    expect(message.textContent).toMatch(/^No serverless invocations yet/);
    expect(message.hidden).toBe(false);
    expect((view.node.querySelector('.jp-serverless-View-plot') as HTMLElement).hidden).toBe(true);
  });

  it('redraws on a theme change, on a timer while a run is live, and purges on dispose', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const themeChanged = new Signal<object, string>({});
    const view = attach(
      new TimelineView({ model: model.asModel(), loadPlotly: load, themeChanged, tickMs: 20 }),
    );
    const s = new EventScript();
    s.runStarted('r', { invocations: 1 }).queued('a', 'r', 0).started('a', 'r', { env: 'e' });
    model.set(replayState(s.take()));
    await settle(view);
    const drawn = plotly.react.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    await settle(view);
    expect(plotly.react.mock.calls.length).toBeGreaterThan(drawn);

    s.finished('a', 'r', { env: 'e' }).runFinished('r', { done: 1, bill: costSplit(WARM_BILL) });
    model.set(foldEvents(model.state, s.take()));
    await settle(view);
    const finished = plotly.react.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    await settle(view);
    expect(plotly.react.mock.calls.length).toBe(finished);

    themeChanged.emit('JupyterLab Dark');
    await settle(view);
    expect(plotly.react.mock.calls.length).toBe(finished + 1);

    view.dispose();
    expect(plotly.purge).toHaveBeenCalledTimes(1);
  });

  it('says so when Plotly cannot be loaded', async () => {
    const model = new FakeModel();
    const load = jest.fn(() => Promise.reject(new Error('offline')));
    const view = attach(new TimelineView({ model: model.asModel(), loadPlotly: load }));
    model.set(mapState());
    await settle(view);
    expect(view.node.querySelector('.jp-serverless-View-message')!.textContent).toBe(
      'Plotly could not be loaded: Error: offline',
    );
  });
});

describe('TrafficView', () => {
  it('shows the empty-state text without Plotly until exchange rounds exist', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TrafficView({ model: model.asModel(), loadPlotly: load }));
    const s = script();
    model.set(mapState(s));
    await settle(view);
    const empty = view.node.querySelector('.jp-serverless-Traffic-empty') as HTMLElement;
    expect(empty.textContent).toBe(TRAFFIC_EMPTY_TEXT);
    expect(load).not.toHaveBeenCalled();
    const picker = view.node.querySelector('.jp-serverless-Traffic-picker') as HTMLElement;
    expect(picker.hidden).toBe(true);

    s.runStarted('t', { executionCount: 2 });
    exchangeRun(s, 't', { workers: 2, rounds: 3, ratio: 2, codec: 'fp16', requestUsd: 0.0000004 });
    model.set(foldEvents(model.state, s.take()));
    await settle(view);
    expect(empty.hidden).toBe(true);
    expect(picker.hidden).toBe(true);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    const data = plotly.react.mock.calls[0][1] as { type: string; name: string }[];
    expect(data.filter((t) => t.type === 'bar').map((t) => t.name)).toEqual(['w0', 'w1']);
    expect(view.node.querySelector('.jp-serverless-View-summary')!.textContent).toBe(
      '[2] grads · allreduce · fp16 · embedded · 2 workers · 3 rounds · up 12.0 kB · down 12.0 kB · ' +
        'ratio 2.00× · 12 requests · storage $0.0000048',
    );
    expect(view.node.querySelector('.jp-serverless-View-legend')!.textContent).toBe('w0w1compression ratio');
  });

  it('offers a selector when there are several exchanges, and draws the one picked', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TrafficView({ model: model.asModel(), loadPlotly: load }));
    const s = new EventScript();
    s.runStarted('a', { executionCount: 1 });
    exchangeRun(s, 'a', { workers: 2, rounds: 2 });
    s.runStarted('b', { executionCount: 2 });
    exchangeRun(s, 'b', { workers: 3, rounds: 2, strategy: 'scatter-reduce' });
    model.set(replayState(s.take()));
    await settle(view);
    const picker = view.node.querySelector('.jp-serverless-Traffic-picker') as HTMLElement;
    const select = picker.querySelector('select.jp-serverless-Traffic-select') as HTMLSelectElement;
    expect(picker.hidden).toBe(false);
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual([
      '[2] grads · scatter-reduce',
      '[1] grads · allreduce',
    ]);
    expect(select.value).toBe(exchangeKey('b', 'grads'));
    const bars = (call: number) =>
      (plotly.react.mock.calls[call][1] as { type: string; name: string }[]).filter((t) => t.type === 'bar');
    expect(bars(0)).toHaveLength(3);

    select.value = exchangeKey('a', 'grads');
    select.dispatchEvent(new Event('change'));
    await settle(view);
    expect(view.selected).toBe(exchangeKey('a', 'grads'));
    expect(plotly.react).toHaveBeenCalledTimes(2);
    expect(bars(1)).toHaveLength(2);
    expect(plotly.react.mock.calls[1][2]).toMatchObject({ uirevision: exchangeKey('a', 'grads') });

    // A newer exchange does not take the place of the one picked.
    s.runStarted('c', { executionCount: 3 });
    exchangeRun(s, 'c', { workers: 4, rounds: 1 });
    model.set(foldEvents(model.state, s.take()));
    await settle(view);
    expect(select.options).toHaveLength(3);
    expect(select.value).toBe(exchangeKey('a', 'grads'));
    expect(bars(2)).toHaveLength(2);
  });

  it('draws 16 workers × 1,000 rounds with traces of bounded size, fewer bars in a narrow view, only while visible', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TrafficView({ model: model.asModel(), loadPlotly: load }));
    const s = new EventScript();
    s.runStarted('big', { executionCount: 1 });
    exchangeRun(s, 'big', { workers: 16, rounds: 1000, strategy: 'scatter-reduce', ratio: 2 });
    view.hide();
    model.set(replayState(s.take()));
    await settle(view);
    expect(plotly.react).not.toHaveBeenCalled();
    view.show();
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    const points = (call: number) =>
      (plotly.react.mock.calls[call][1] as { x: unknown[] }[]).map((t) => t.x.length);
    const wide = points(0);
    // 16 bars traces of 126 bars (bins of 8 rounds), the ratio, the mesh's edges, their hover, the nodes.
    expect(wide).toEqual([...new Array<number>(16).fill(126), 126, 360, 120, 16]);
    expect(view.node.querySelector('.jp-serverless-View-summary')!.textContent).toContain(
      'a bar per 8 rounds',
    );

    // A 240 px wide view: at most 80 bars across (bins of 16 rounds).
    Object.defineProperty(view.node, 'clientWidth', { configurable: true, value: 240 });
    MessageLoop.sendMessage(view, new Widget.ResizeMessage(240, 400));
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    expect(points(1).slice(0, 17)).toEqual(new Array<number>(17).fill(63));
  });

  it("says once that it shows traffic, and arranges the chart for its plot's height, read once per resize", async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TrafficView({ model: model.asModel(), loadPlotly: load }));
    const shown = jest.fn();
    view.trafficShown.connect(shown);
    const plot = view.node.querySelector('.jp-serverless-View-plot') as HTMLElement;
    expect(plot.style.minHeight).toBe(`${TRAFFIC_MIN_HEIGHT_PX}px`);
    let height = 0;
    const reads = jest.fn(() => (plot.hidden ? 0 : height));
    Object.defineProperty(plot, 'clientHeight', { get: reads, configurable: true });
    const s = script();
    model.set(mapState(s));
    await settle(view);
    expect(shown).not.toHaveBeenCalled();

    height = 500;
    s.runStarted('t', { executionCount: 2 });
    exchangeRun(s, 't', { workers: 2, rounds: 3 });
    model.set(foldEvents(model.state, s.take()));
    await settle(view);
    expect(shown).toHaveBeenCalledTimes(1);
    const barsDomain = (call: number) =>
      (plotly.react.mock.calls[call][2] as { yaxis: { domain: number[] } }).yaxis.domain;
    // The first chart: arranged for the height read once the plot showed.
    expect(barsDomain(0)).toEqual(trafficDomains(500).bars);
    const readsAfterFirst = reads.mock.calls.length;

    exchangeRun(s, 't', { workers: 2, rounds: 2, firstRound: 4 });
    model.set(foldEvents(model.state, s.take()));
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    expect(reads.mock.calls.length).toBe(readsAfterFirst);
    expect(shown).toHaveBeenCalledTimes(1);

    height = 320;
    MessageLoop.sendMessage(view, Widget.ResizeMessage.UnknownSize);
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(3);
    expect(barsDomain(2)).toEqual(trafficDomains(320).bars);
    expect(shown).toHaveBeenCalledTimes(1);
  });
});

describe('CostView', () => {
  it('says "invocation" of one invocation', async () => {
    const model = new FakeModel();
    const { load } = fakePlotly();
    const view = attach(new CostView({ model: model.asModel(), loadPlotly: load }));
    model.set(replayState(mapRun(new EventScript(), 'r1', 1, 1).take()));
    await settle(view);
    expect(view.node.querySelector('.jp-serverless-View-summary')!.textContent).toMatch(
      /^Total \$[\d.]+ over 1 invocation · compute /,
    );
  });

  it('plots the cost and writes a row per run as plain text, with the budget warning state', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new CostView({ model: model.asModel(), loadPlotly: load }));
    await settle(view);
    expect(view.node.querySelector('.jp-serverless-View-message')!.textContent).toBe('Nothing billed yet.');
    expect(load).not.toHaveBeenCalled();

    const s = mapRun(new EventScript(), 'r1', 4, 2);
    s.runStarted('r2', { executionCount: 9, label: '%%serverless <img src=x onerror="alert(1)">' });
    model.budgetWarningUsd = 1e-9;
    model.set(replayState(s.take()));
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    const table = view.node.querySelector('table.jp-serverless-Cost-table') as HTMLTableElement;
    expect(Array.from(table.tHead!.rows[0].cells).map((c) => c.textContent)).toEqual([
      'Run',
      'Total',
      'State',
      'Done',
      'Cold',
      'Billed',
      'Compute',
      'INIT',
      'Requests',
      'Storage',
      'Estimate',
      'Budget',
      'Duration',
    ]);
    const rows = table.tBodies[0].rows;
    expect(rows).toHaveLength(2);
    expect(rows[1].cells[0].textContent).toBe('[9] %%serverless <img src=x onerror="alert(1)">');
    expect(table.querySelector('img')).toBeNull();
    expect(rows[1].classList.contains('jp-mod-running')).toBe(true);
    expect(rows[1].dataset.runId).toBe('r2');
    expect(view.hasClass('jp-mod-warning')).toBe(true);
    expect(view.node.querySelector('.jp-serverless-View-summary')!.textContent).toMatch(
      /^Total \$[\d.]+ over 4 invocations · compute .* · budget warning \$[\d.e-]+ reached$/,
    );

    model.set(foldEvents(model.state, s.runStarted('r3').take()));
    await settle(view);
    expect(table.tBodies).toHaveLength(1);
    expect(table.tBodies[0].rows).toHaveLength(3);
  });
});

describe('PanelHeader', () => {
  it('shows the connection state and enables its buttons as the model allows', () => {
    const model = new FakeModel();
    model.connection = 'opening';
    const onCancel = jest.fn();
    const onExport = jest.fn();
    const header = attach(new PanelHeader({ model: model.asModel(), onCancel, onExport }));
    const status = header.node.querySelector('.jp-serverless-Panel-status') as HTMLElement;
    const cancel = header.node.querySelector('.jp-serverless-Panel-cancel') as HTMLButtonElement;
    const exportButton = header.node.querySelector('.jp-serverless-Panel-export') as HTMLButtonElement;
    expect(status.textContent).toBe("Waiting for the kernel's history");
    expect(status.dataset.connection).toBe('opening');
    expect([cancel.disabled, exportButton.disabled]).toEqual([true, true]);

    const s = new EventScript();
    s.runStarted('r', { invocations: 1 }).queued('a', 'r', 0);
    model.set(replayState(s.take()), 'open');
    expect(status.textContent).toBe('Live');
    expect([cancel.disabled, exportButton.disabled]).toEqual([false, false]);
    cancel.click();
    exportButton.click();
    // The request names the run shown running, so that a run started since is not cancelled.
    expect(onCancel.mock.calls).toEqual([['r']]);
    expect(onExport).toHaveBeenCalledTimes(1);

    model.set(model.state, 'closed');
    expect(status.textContent).toBe('No telemetry in this kernel');
    expect(cancel.disabled).toBe(true);
  });
});

describe('ServerlessStatus', () => {
  it('shows the cost, warns over the budget, hides without telemetry and opens the panel on click', () => {
    const model = new FakeModel();
    model.connection = 'none';
    const onClick = jest.fn();
    const item = attach(new ServerlessStatus({ model: model.asModel(), onClick }));
    const active = jest.fn();
    item.activeStateChanged.connect(active);
    expect(item.isActive).toBe(false);

    model.set(mapState(), 'open');
    expect(item.isActive).toBe(true);
    expect(active).toHaveBeenCalledTimes(1);
    expect(item.node.textContent).toMatch(/^Serverless \$/);
    expect(item.node.title).toContain('over 8 invocations');
    expect(item.hasClass('jp-serverless-StatusItem')).toBe(true);
    expect(item.hasClass('jp-mod-warning')).toBe(false);

    model.budgetWarningUsd = 1e-9;
    model.set(model.state);
    expect(item.hasClass('jp-mod-warning')).toBe(true);
    expect(active).toHaveBeenCalledTimes(1);

    item.node.click();
    expect(onClick).toHaveBeenCalledTimes(1);
  });
});

describe('downloadTelemetry', () => {
  it('downloads the model JSON as serverless-telemetry.json through a Blob URL', () => {
    const created: Blob[] = [];
    const createObjectURL = jest.fn((blob: Blob) => {
      created.push(blob);
      return 'blob:telemetry';
    });
    const revokeObjectURL = jest.fn();
    Object.assign(URL, { createObjectURL, revokeObjectURL });
    const clicked: HTMLAnchorElement[] = [];
    const click = jest.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicked.push(this);
    });
    jest.useFakeTimers();
    try {
      downloadTelemetry({ exportJson: () => '{"events":[1]}' });
      expect(clicked).toHaveLength(1);
      expect(clicked[0].download).toBe(EXPORT_FILENAME);
      expect(clicked[0].href).toBe('blob:telemetry');
      expect(clicked[0].isConnected).toBe(false);
      expect(created[0].type).toBe('application/json');
      expect(revokeObjectURL).not.toHaveBeenCalled();
      jest.runAllTimers();
      expect(revokeObjectURL).toHaveBeenCalledWith('blob:telemetry');
    } finally {
      jest.useRealTimers();
      click.mockRestore();
    }
  });
});
