/**
 * The training chart's data (protocol v4): training-epoch events folded per
 * train() call copy-on-write (a fold never changes the state it was given,
 * and shares the calls its events did not touch; a replay and live batches
 * give the same state; an epoch reported again replaces the earlier one;
 * calls and epochs bounded); the calls to pick from and the default one;
 * loss, accuracy and cost per epoch shaped as columns, cost bars binned
 * beyond the bar limit with every dollar counted; and the Plotly figure.
 */
import { foldEvents, replayState } from '../../extension/src/model/fold';
import { emptyState } from '../../extension/src/model/state';
import { TrainingDraft } from '../../extension/src/model/training-fold';
import { TRAINING_LIMITS } from '../../extension/src/model/training-state';
import { addUsd } from '../../extension/src/telemetry';
import type { TrainingEpochEvent } from '../../extension/src/telemetry';
import { figureTheme } from '../../extension/src/views/figure-theme';
import {
  formatAccuracy,
  formatLoss,
  formatRate,
  formatSeconds,
  MAX_TRAINING_BARS,
  trainingChoices,
  trainingShape,
} from '../../extension/src/views/shape';
import { TRAINING_COLORS, TRAINING_DOMAINS, trainingFigure } from '../../extension/src/views/training-figure';
import { EventScript, trainingRun } from './extension-fixtures';

/** A theme whose every color names its variable, so tests see which one was used. */
const theme = figureTheme((cssVar) => (cssVar.startsWith('--jp-ui-font-') ? '' : `color(${cssVar})`));

function epochs(events: readonly TrainingEpochEvent[]): number[] {
  return events.map((e) => e.epoch);
}

describe('folding training-epoch events', () => {
  it('keeps each call with its epochs in order and what its latest epoch said', () => {
    const s = new EventScript();
    trainingRun(s, 't1', { epochs: 3, planned: 10, costUsd: () => 0.0001 });
    const state = replayState(s.take());
    const t = state.trainings.get('t1')!;
    expect(epochs(t.epochs)).toEqual([1, 2, 3]);
    expect(t).toMatchObject({
      name: 'mnist-mlp',
      runId: 't1-run',
      plannedEpochs: 10,
      workers: 4,
      strategy: 'allreduce',
      firstSeq: 1,
      lastSeq: 3,
      totalCostUsd: 0.0003,
      droppedEpochs: 0,
    });
    expect(t.epochs[2]).toMatchObject({ loss: 0.5, valAccuracy: 0.8, checkpointVersion: 3 });
    expect(state.lastSeq).toBe(3);
  });

  it('never changes the state it was given, and shares the calls its events did not touch', () => {
    const s = new EventScript();
    trainingRun(s, 'a', { epochs: 2 });
    trainingRun(s, 'b', { epochs: 2 });
    const before = replayState(s.take());
    const a = before.trainings.get('a')!;
    const b = before.trainings.get('b')!;
    const aEpochs = a.epochs;
    s.epoch('b', 3, { totalCostUsd: 0.5 });
    const after = foldEvents(before, s.take());
    expect(after).not.toBe(before);
    expect(after.trainings.get('a')).toBe(a);
    expect(epochs(after.trainings.get('b')!.epochs)).toEqual([1, 2, 3]);
    expect(after.trainings.get('b')!.totalCostUsd).toBe(0.5);
    // The old state is as it was.
    expect(before.trainings.get('b')).toBe(b);
    expect(epochs(b.epochs)).toEqual([1, 2]);
    expect(a.epochs).toBe(aEpochs);
    // A fold of events already folded changes nothing.
    expect(foldEvents(after, s.all.slice(0, 3))).toBe(after);
    // A fold with no training event shares the map itself.
    s.runStarted('r');
    expect(foldEvents(after, s.take()).trainings).toBe(after.trainings);
  });

  it('gives the same state from a replay as from live batches of any size', () => {
    const s = new EventScript();
    s.runStarted('t1-run', { executionCount: 4 });
    trainingRun(s, 't1', { epochs: 7 });
    s.runStarted('t2-run', { executionCount: 5 });
    trainingRun(s, 't2', { epochs: 5, validation: false });
    const events = s.take();
    const replayed = replayState(events);
    for (const size of [1, 2, 5]) {
      let live = emptyState();
      for (let i = 0; i < events.length; i += size) {
        live = foldEvents(live, events.slice(i, i + size));
      }
      expect(live).toEqual(replayed);
    }
  });

  it('replaces an epoch reported again, and puts one reported late in its place', () => {
    const s = new EventScript();
    s.epoch('t', 1)
      .epoch('t', 3)
      .epoch('t', 2, { loss: 0.7 })
      .epoch('t', 3, { loss: 0.2, totalCostUsd: 0.9 });
    const t = replayState(s.take()).trainings.get('t')!;
    expect(epochs(t.epochs)).toEqual([1, 2, 3]);
    expect(t.epochs.map((e) => e.loss)).toEqual([1, 0.7, 0.2]);
    // The total is the kernel's latest.
    expect(t.totalCostUsd).toBe(0.9);
  });

  it('keeps the newest calls and, in a call, the highest epochs, counting what it dropped', () => {
    const s = new EventScript();
    for (let i = 1; i <= 4; i++) {
      trainingRun(s, `t${i}`, { epochs: 5 });
    }
    const draft = new TrainingDraft(new Map(), 0, { maxTrainings: 3, maxEpochs: 4 });
    for (const e of s.take()) {
      draft.apply(e as TrainingEpochEvent);
    }
    expect([...draft.trainings.keys()]).toEqual(['t2', 't3', 't4']);
    expect(draft.dropped).toBe(1);
    const t4 = draft.trainings.get('t4')!;
    expect(epochs(t4.epochs)).toEqual([2, 3, 4, 5]);
    expect(t4.droppedEpochs).toBe(1);
    expect(TRAINING_LIMITS.maxEpochs).toBeGreaterThanOrEqual(10_000);
  });
});

describe('trainingShape: the calls', () => {
  it('offers every call, the newest first, tagged by its run, and shows the newest unless one is picked', () => {
    const s = new EventScript();
    s.runStarted('run-a', { executionCount: 3 });
    trainingRun(s, 'ta', { epochs: 2, runId: 'run-a' });
    s.runStarted('run-b', { executionCount: 5 });
    trainingRun(s, 'tb', { epochs: 1, runId: 'run-b', name: 'cnn' });
    // A call whose run the panel never saw: its place among the calls.
    trainingRun(s, 'tc', { epochs: 1, runId: 'unknown', name: 'mlp' });
    const state = replayState(s.take());
    expect(trainingChoices(state)).toEqual([
      { key: 'tc', label: '#3 mlp · allreduce · 4 workers' },
      { key: 'tb', label: '[5] cnn · allreduce · 4 workers' },
      { key: 'ta', label: '[3] mnist-mlp · allreduce · 4 workers' },
    ]);
    expect(trainingShape(state).training!.trainId).toBe('tc');
    const picked = trainingShape(state, { key: 'ta' });
    expect(picked.label).toBe('[3] mnist-mlp · allreduce · 4 workers');
    expect(picked.series.epoch).toEqual([1, 2]);
    expect(trainingShape(state, { key: 'gone' }).training!.trainId).toBe('tc');
  });

  it('is empty before any epoch', () => {
    const shape = trainingShape(emptyState());
    expect(shape).toMatchObject({ empty: true, training: null, latest: null, choices: [] });
  });
});

describe('trainingShape: epochs', () => {
  it('gives loss, accuracy, validation and the running total per epoch, and sums over the epochs', () => {
    const s = new EventScript();
    trainingRun(s, 't', { epochs: 4 });
    const shape = trainingShape(replayState(s.take()));
    expect(shape.series.epoch).toEqual([1, 2, 3, 4]);
    expect(shape.series.loss).toEqual([1, 2 / 3, 0.5, 0.4]);
    expect(shape.series.accuracy).toEqual([0.5, 0.75, 1 - 0.5 / 3, 0.875]);
    expect(shape.series.valLoss[3]).toBeCloseTo(0.44);
    expect(shape.series.valAccuracy[0]).toBeCloseTo(0.4);
    expect(shape.series.totalCostUsd).toEqual([0.0001, 0.0003, 0.0006, 0.001]);
    expect(shape.has).toEqual({ accuracy: true, valLoss: true, valAccuracy: true });
    expect(shape.epochsPerBar).toBe(1);
    expect(shape.bars).toEqual({
      x: [1, 2, 3, 4],
      width: [0.6, 0.6, 0.6, 0.6],
      firstEpoch: [1, 2, 3, 4],
      lastEpoch: [1, 2, 3, 4],
      costUsd: [0.0001, 0.0002, 0.0003, 0.0004],
    });
    expect(shape.latest!.epoch).toBe(4);
    expect(shape.totals).toEqual({ seconds: 8, bytesExchanged: 4_000_000 });
  });

  it('leaves gaps where an epoch did not report a metric, and says which metrics exist', () => {
    const s = new EventScript();
    trainingRun(s, 't', { epochs: 2, accuracy: false, validation: false });
    const plain = trainingShape(replayState(s.take()));
    expect(plain.has).toEqual({ accuracy: false, valLoss: false, valAccuracy: false });
    expect(plain.series.accuracy).toEqual([null, null]);
    // Validation on some epochs only (e.g. every other one).
    const v = new EventScript();
    v.epoch('t', 1).epoch('t', 2, { valLoss: 0.9 }).epoch('t', 3);
    const some = trainingShape(replayState(v.take()));
    expect(some.series.valLoss).toEqual([null, 0.9, null]);
    expect(some.has.valLoss).toBe(true);
  });

  it('draws 10,000 epochs as at most maxBars cost bars, every dollar counted', () => {
    const s = new EventScript();
    trainingRun(s, 't', { epochs: 10_000, costUsd: () => 0.000001 });
    const shape = trainingShape(replayState(s.take()));
    expect(shape.series.epoch).toHaveLength(10_000);
    // Bins of 64 epochs: 0-63 (epochs 1-63), ..., 9984-10047 (9984-10000): 157 bars.
    expect(shape.epochsPerBar).toBe(64);
    expect(shape.bars.x.length).toBeLessThanOrEqual(MAX_TRAINING_BARS);
    expect(shape.bars.x).toHaveLength(157);
    expect([shape.bars.firstEpoch[0], shape.bars.lastEpoch[0]]).toEqual([1, 63]);
    expect(shape.bars.costUsd[0]).toBe(0.000063);
    expect(shape.bars.x[0]).toBe(31.5);
    const drawn = shape.bars.costUsd.reduce((sum, usd) => addUsd(sum, usd), 0);
    expect(drawn).toBe(shape.training!.totalCostUsd);
    expect(drawn).toBe(0.01);
    // Fewer bars when asked (a narrow panel).
    const narrow = trainingShape(replayState(trainingRun(new EventScript(), 't', { epochs: 100 }).take()), {
      maxBars: 30,
    });
    expect(narrow.bars.x.length).toBeLessThanOrEqual(30);
    expect(narrow.epochsPerBar).toBe(4);
  });

  it('formats the metrics for the summary and the hover', () => {
    expect(formatLoss(0.41234)).toBe('0.412');
    expect(formatLoss(12.345)).toBe('12.3');
    expect(formatLoss(1234.5)).toBe('1230');
    expect(formatAccuracy(0.9234)).toBe('92.3%');
    expect(formatRate(12480.4)).toBe('12,480');
    expect([0.42, 2.5, 42.4, 750].map(formatSeconds)).toEqual(['0.42 s', '2.5 s', '42 s', '12.5 min']);
  });
});

describe('trainingFigure', () => {
  function figureOf(build: (s: EventScript) => void) {
    const s = new EventScript();
    build(s);
    const shape = trainingShape(replayState(s.take()));
    return { shape, figure: trainingFigure(shape, theme) };
  }

  it('draws loss and accuracy on two axes above the cost bars and total, sharing the epoch axis', () => {
    const { figure } = figureOf((s) => trainingRun(s, 't', { epochs: 3 }));
    const traces = figure.data as {
      name: string;
      type: string;
      yaxis: string;
      y: (number | null)[];
      line?: { dash?: string; color?: string };
      text: string[];
      hovertemplate: string;
    }[];
    expect(traces.map((t) => [t.name, t.type, t.yaxis])).toEqual([
      ['loss', 'scatter', 'y'],
      ['validation loss', 'scatter', 'y'],
      ['accuracy', 'scatter', 'y2'],
      ['validation accuracy', 'scatter', 'y2'],
      ['cost per epoch', 'bar', 'y3'],
      ['total cost', 'scatter', 'y4'],
    ]);
    expect(traces[0].line).toEqual({ color: `color(${TRAINING_COLORS.loss})`, width: 2, dash: 'solid' });
    expect(traces[1].line!.dash).toBe('dash');
    expect(traces[2].text).toEqual(['50.0%', '75.0%', '83.3%']);
    expect(traces[4].text).toEqual(['$0.0001', '$0.0002', '$0.0003']);
    expect(traces[5].y).toEqual([0.0001, 0.0003, 0.0006]);
    expect(traces[0].hovertemplate).toBe('loss: %{text}<extra></extra>');
    const layout = figure.layout as Record<string, Record<string, unknown>> & { uirevision: string };
    expect(layout.xaxis).toMatchObject({ anchor: 'y3', tickformat: 'd' });
    expect(layout.yaxis.domain).toEqual([...TRAINING_DOMAINS.metrics]);
    expect(layout.yaxis2).toMatchObject({ overlaying: 'y', side: 'right', tickformat: '.1~%' });
    expect(layout.yaxis3.domain).toEqual([...TRAINING_DOMAINS.cost]);
    expect(layout.yaxis4).toMatchObject({ overlaying: 'y3', side: 'right' });
    expect(layout.hovermode).toBe('x unified');
    expect(layout.uirevision).toBe('t');
    expect(figure.legend.map((l) => `${l.label}:${l.kind}`)).toEqual([
      'loss:line',
      'validation loss:dash',
      'accuracy:line',
      'validation accuracy:dash',
      'cost per epoch:fill',
      'total cost:line',
    ]);
  });

  it('leaves out the accuracy axis and the traces of metrics no epoch reported', () => {
    const { figure } = figureOf((s) =>
      trainingRun(s, 't', { epochs: 2, accuracy: false, validation: false }),
    );
    expect((figure.data as { name: string }[]).map((t) => t.name)).toEqual([
      'loss',
      'cost per epoch',
      'total cost',
    ]);
    expect(figure.layout.yaxis2).toBeUndefined();
  });

  it('says how many epochs a cost bar stands for, and draws lines without markers over many epochs', () => {
    const { figure } = figureOf((s) => trainingRun(s, 't', { epochs: 1000 }));
    const data = figure.data as { name: string; mode?: string; text?: string[] }[];
    expect(data[0].mode).toBe('lines');
    expect(String(figure.layout.annotations![0].text)).toBe(
      'cost per 8 epochs (bars), total so far (line, right)',
    );
    expect(data.find((t) => t.name === 'cost per epoch')!.text![0]).toMatch(/^\$[\d.]+ \(epochs 1–7\)$/);
  });

  it('is empty (no traces) before any epoch', () => {
    const figure = trainingFigure(trainingShape(emptyState()), theme);
    expect(figure.data).toEqual([]);
    expect(figure.legend).toEqual([]);
  });
});
