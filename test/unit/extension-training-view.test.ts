/**
 * @jest-environment jsdom
 */
/**
 * The training view and the panel's training section in a DOM: the
 * empty-state text without Plotly until an epoch ends; then the chart, a
 * summary of the latest epoch and an accessible name for the plot, redrawn
 * as epochs arrive; a selector when there are several train() calls (the
 * newest shown, a pick kept when newer calls come); the shares of the
 * panel's four sections, the training section given room once it draws (the
 * panel itself is tested in a browser: jest cannot load its ESM imports).
 */
import './extension-views-dom';

import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { foldEvents, replayState } from '../../extension/src/model/fold';
import {
  SECTION_SIZES,
  sectionSizes,
  TRAFFIC_SECTION_SIZES,
  TRAFFIC_TRAINING_SECTION_SIZES,
  TRAINING_SECTION_SIZES,
} from '../../extension/src/views/section-sizes';
import { TRAINING_EMPTY_TEXT } from '../../extension/src/views/shape';
import { TRAINING_MIN_HEIGHT_PX } from '../../extension/src/views/training-figure';
import { TrainingView } from '../../extension/src/views/training-view';
import { EventScript, mapRun, trainingRun } from './extension-fixtures';
import { attach, disposeAttached, FakeModel, fakePlotly, settle } from './extension-views-fakes';

afterEach(disposeAttached);

type Trace = { name: string; type: string; x: number[]; y: (number | null)[] };

describe('TrainingView', () => {
  it('shows the empty-state text without Plotly until an epoch ends, then draws each epoch as it comes', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TrainingView({ model: model.asModel(), loadPlotly: load }));
    expect(view.title.label).toBe('Training');
    expect(view.title.caption).toMatch(/per epoch/);
    const s = mapRun(new EventScript(), 'r1', 4, 2);
    model.set(replayState(s.take()));
    await settle(view);
    const empty = view.node.querySelector('.jp-serverless-Training-empty') as HTMLElement;
    expect(empty.textContent).toBe(TRAINING_EMPTY_TEXT);
    expect(empty.textContent).toMatch(/^No training yet\./);
    expect(load).not.toHaveBeenCalled();
    const picker = view.node.querySelector('.jp-serverless-Training-picker') as HTMLElement;
    expect(picker.hidden).toBe(true);
    const plot = view.node.querySelector('.jp-serverless-View-plot') as HTMLElement;
    expect(plot.style.minHeight).toBe(`${TRAINING_MIN_HEIGHT_PX}px`);
    const shown = jest.fn();
    view.trainingShown.connect(shown);

    s.runStarted('train-run', { executionCount: 7 });
    s.epoch('t1', 1, {
      runId: 'train-run',
      epochs: 3,
      loss: 0.61234,
      accuracy: 0.8123,
      valLoss: 0.6,
      valAccuracy: 0.805,
      seconds: 2.5,
      samplesPerSecond: 3200.4,
      costUsd: 0.00012,
      totalCostUsd: 0.00012,
      bytesExchanged: 2_500_000,
      checkpointVersion: 1,
    });
    model.set(foldEvents(model.state, s.take()));
    await settle(view);
    expect(empty.hidden).toBe(true);
    expect(shown).toHaveBeenCalledTimes(1);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    expect(view.node.querySelector('.jp-serverless-View-summary')!.textContent).toBe(
      '[7] mnist-mlp · allreduce · 4 workers · none · embedded · epoch 1 of 3 · loss 0.612 · ' +
        'validation loss 0.6 · accuracy 81.2% · validation accuracy 80.5% · 2.5 s per epoch · ' +
        '3,200 samples/s · 2.50 MB exchanged · total $0.00012 · checkpoint v1',
    );
    expect(plot.getAttribute('role')).toBe('img');
    expect(plot.getAttribute('aria-label')).toBe(
      '[7] mnist-mlp · allreduce · 4 workers: loss and accuracy per epoch, and cost per epoch with the total',
    );
    expect(view.node.querySelector('.jp-serverless-View-legend')!.textContent).toBe(
      'lossvalidation lossaccuracyvalidation accuracycost per epochtotal cost',
    );

    // The next epoch: drawn again, one more point per line.
    s.epoch('t1', 2, { runId: 'train-run', epochs: 3, loss: 0.4, totalCostUsd: 0.00024 });
    model.set(foldEvents(model.state, s.take()));
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    const loss = (plotly.react.mock.calls[1][1] as Trace[]).find((t) => t.name === 'loss')!;
    expect(loss.x).toEqual([1, 2]);
    expect(loss.y).toEqual([0.61234, 0.4]);
    expect(view.node.querySelector('.jp-serverless-View-summary')!.textContent).toContain(
      'epoch 2 of 3 · loss 0.4 · 2.0 s per epoch',
    );
    expect(shown).toHaveBeenCalledTimes(1);
  });

  it('offers a selector when there are several calls, shows the newest, and keeps the one picked', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TrainingView({ model: model.asModel(), loadPlotly: load }));
    const s = new EventScript();
    s.runStarted('a', { executionCount: 1 });
    trainingRun(s, 'ta', { epochs: 2, runId: 'a' });
    s.runStarted('b', { executionCount: 2 });
    trainingRun(s, 'tb', { epochs: 5, runId: 'b', name: 'cnn' });
    model.set(replayState(s.take()));
    await settle(view);
    const picker = view.node.querySelector('.jp-serverless-Training-picker') as HTMLLabelElement;
    const select = picker.querySelector('select.jp-serverless-Training-select') as HTMLSelectElement;
    expect(picker.hidden).toBe(false);
    // The label's text names the select.
    expect(picker.querySelector('.jp-serverless-Training-pickerLabel')!.textContent).toBe('Training');
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual([
      '[2] cnn · allreduce · 4 workers',
      '[1] mnist-mlp · allreduce · 4 workers',
    ]);
    expect(select.value).toBe('tb');
    const lossPoints = (call: number) =>
      (plotly.react.mock.calls[call][1] as Trace[]).find((t) => t.name === 'loss')!.x.length;
    expect(lossPoints(0)).toBe(5);

    select.value = 'ta';
    select.dispatchEvent(new Event('change'));
    await settle(view);
    expect(view.selected).toBe('ta');
    expect(lossPoints(1)).toBe(2);
    expect(plotly.react.mock.calls[1][2]).toMatchObject({ uirevision: 'ta' });

    // A newer call does not take the place of the one picked.
    s.runStarted('c', { executionCount: 3 });
    trainingRun(s, 'tc', { epochs: 1, runId: 'c' });
    model.set(foldEvents(model.state, s.take()));
    await settle(view);
    expect(select.options).toHaveLength(3);
    expect(select.value).toBe('ta');
    expect(lossPoints(2)).toBe(2);
    expect(view.choices.map((c) => c.key)).toEqual(['tc', 'tb', 'ta']);
  });

  it('draws 10 calls of 100 epochs only while visible, and fewer cost bars in a narrow view', async () => {
    const model = new FakeModel();
    const { plotly, load } = fakePlotly();
    const view = attach(new TrainingView({ model: model.asModel(), loadPlotly: load }));
    const s = new EventScript();
    for (let i = 0; i < 10; i++) {
      trainingRun(s, `t${i}`, { epochs: 100 });
    }
    view.hide();
    model.set(replayState(s.take()));
    await settle(view);
    expect(plotly.react).not.toHaveBeenCalled();
    view.show();
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(1);
    const bars = (call: number) =>
      (plotly.react.mock.calls[call][1] as Trace[]).find((t) => t.type === 'bar')!.x.length;
    expect(bars(0)).toBe(100);
    expect(view.choices).toHaveLength(10);

    // A 120 px wide view: at most 40 bars across (bins of 4 epochs).
    Object.defineProperty(view.node, 'clientWidth', { configurable: true, value: 120 });
    MessageLoop.sendMessage(view, new Widget.ResizeMessage(120, 400));
    await settle(view);
    expect(plotly.react).toHaveBeenCalledTimes(2);
    expect(bars(1)).toBe(26);
    expect(view.node.querySelector('.jp-serverless-View-summary')!.textContent).toContain(
      'a bar per 4 epochs',
    );
  });
});

describe("the panel's section sizes", () => {
  it('give the training section room once it draws, as much as the traffic once both draw', () => {
    expect(sectionSizes({ traffic: false, training: false })).toBe(SECTION_SIZES);
    expect(sectionSizes({ traffic: true, training: false })).toBe(TRAFFIC_SECTION_SIZES);
    expect(sectionSizes({ traffic: false, training: true })).toBe(TRAINING_SECTION_SIZES);
    expect(sectionSizes({ traffic: true, training: true })).toBe(TRAFFIC_TRAINING_SECTION_SIZES);
    for (const sizes of [
      SECTION_SIZES,
      TRAFFIC_SECTION_SIZES,
      TRAINING_SECTION_SIZES,
      TRAFFIC_TRAINING_SECTION_SIZES,
    ]) {
      // Invocations, traffic, training, cost.
      expect(sizes).toHaveLength(4);
      expect(sizes.reduce((a, b) => a + b, 0)).toBeCloseTo(1);
    }
    // Grown, the training section is the largest; with the traffic, the two together take most.
    expect(Math.max(...TRAINING_SECTION_SIZES)).toBe(TRAINING_SECTION_SIZES[2]);
    expect(TRAINING_SECTION_SIZES[2]).toBeGreaterThan(SECTION_SIZES[2]);
    expect(TRAFFIC_TRAINING_SECTION_SIZES[1] + TRAFFIC_TRAINING_SECTION_SIZES[2]).toBeGreaterThan(0.7);
  });
});
