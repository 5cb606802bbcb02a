/**
 * The training chart as one Plotly figure of two stacked plots sharing the
 * epoch axis: on top, the loss per epoch (left axis) and the accuracy
 * (right axis, as a percentage), validation dashed beside training; below,
 * the cost of each epoch as bars and the call's running total as a line
 * (right axis). Hovering an epoch lists every value of it. It is as high as
 * its section leaves room for (`style/views.css`), above a floor below
 * which the view scrolls; its size is bounded by the shaping (bars binned,
 * six traces at most).
 */
import type { Annotations, Layout, PlotData } from 'plotly.js';

import { baseLayout, IFigureTheme, LegendItem, themedAxis } from './figure-theme';
import { escapePlotly, formatAccuracy, formatLoss, formatUsd, ITrans, NO_TRANS } from './shape';
import type { TrainingShape } from './shape';
import type { IFigure } from './timeline-figure';

/** The least height the chart is drawn at, px: the training view keeps its plot at least this high. */
export const TRAINING_MIN_HEIGHT_PX = 280;

/**
 * Where the two plots are, as shares of the plot area's height from its
 * bottom (Plotly domains); between them, room for the cost plot's caption.
 */
export const TRAINING_DOMAINS = { metrics: [0.47, 1], cost: [0, 0.33] } as const;

/** The theme variables of the chart's series. */
export const TRAINING_COLORS = {
  loss: '--jp-brand-color1',
  accuracy: '--jp-success-color1',
  cost: '--jp-warn-color2',
  total: '--jp-warn-color0',
} as const;

/** Points drawn with markers at most (beyond, lines only: markers would merge into a band). */
const MARKER_POINTS = 60;

/** The training of `shape` as a Plotly figure (empty data when `shape.empty`). */
export function trainingFigure(
  shape: TrainingShape,
  theme: IFigureTheme,
  trans: ITrans = NO_TRANS,
): IFigure<Partial<PlotData>> {
  if (shape.empty || !shape.training) {
    return { data: [], layout: baseLayout(theme, null), legend: [] };
  }
  const s = shape.series;
  const mode = s.epoch.length > MARKER_POINTS ? 'lines' : 'lines+markers';
  const line = (
    name: string,
    y: (number | null)[],
    colorVar: string,
    dashed: boolean,
    format: (value: number) => string,
    yaxis: 'y' | 'y2',
  ): Partial<PlotData> => ({
    type: 'scatter',
    mode,
    name,
    x: s.epoch,
    y,
    yaxis,
    // An epoch that did not report the metric leaves a gap, not a line through it.
    connectgaps: false,
    text: y.map((v) => (v === null ? '' : format(v))),
    hovertemplate: `${escapePlotly(name)}: %{text}<extra></extra>`,
    line: { color: theme.color(colorVar), width: 2, dash: dashed ? 'dash' : 'solid' },
    marker: { color: theme.color(colorVar), size: 5 },
  });
  const names = {
    loss: trans.__('loss'),
    valLoss: trans.__('validation loss'),
    accuracy: trans.__('accuracy'),
    valAccuracy: trans.__('validation accuracy'),
    cost: trans.__('cost per epoch'),
    total: trans.__('total cost'),
  };
  const metrics: Partial<PlotData>[] = [
    line(names.loss, s.loss, TRAINING_COLORS.loss, false, formatLoss, 'y'),
  ];
  const legend: LegendItem[] = [{ label: names.loss, colorVar: TRAINING_COLORS.loss, kind: 'line' }];
  if (shape.has.valLoss) {
    metrics.push(line(names.valLoss, s.valLoss, TRAINING_COLORS.loss, true, formatLoss, 'y'));
    legend.push({ label: names.valLoss, colorVar: TRAINING_COLORS.loss, kind: 'dash' });
  }
  const accuracyAxis = shape.has.accuracy || shape.has.valAccuracy;
  if (shape.has.accuracy) {
    metrics.push(line(names.accuracy, s.accuracy, TRAINING_COLORS.accuracy, false, formatAccuracy, 'y2'));
    legend.push({ label: names.accuracy, colorVar: TRAINING_COLORS.accuracy, kind: 'line' });
  }
  if (shape.has.valAccuracy) {
    metrics.push(
      line(names.valAccuracy, s.valAccuracy, TRAINING_COLORS.accuracy, true, formatAccuracy, 'y2'),
    );
    legend.push({ label: names.valAccuracy, colorVar: TRAINING_COLORS.accuracy, kind: 'dash' });
  }
  const b = shape.bars;
  const cost: Partial<PlotData> = {
    type: 'bar',
    name: names.cost,
    x: b.x,
    y: b.costUsd,
    width: b.width,
    yaxis: 'y3',
    text: b.costUsd.map((usd, i) =>
      b.firstEpoch[i] === b.lastEpoch[i]
        ? formatUsd(usd)
        : trans.__('%1 (epochs %2–%3)', formatUsd(usd), b.firstEpoch[i], b.lastEpoch[i]),
    ),
    // The text is for the hover only: not drawn on the bars.
    textposition: 'none',
    hovertemplate: `${escapePlotly(names.cost)}: %{text}<extra></extra>`,
    marker: { color: theme.solid(TRAINING_COLORS.cost), line: { width: 0 } },
  };
  const total: Partial<PlotData> = {
    type: 'scatter',
    mode,
    name: names.total,
    x: s.epoch,
    y: s.totalCostUsd,
    yaxis: 'y4',
    text: s.totalCostUsd.map((usd) => formatUsd(usd)),
    hovertemplate: `${escapePlotly(names.total)}: %{text}<extra></extra>`,
    line: { color: theme.color(TRAINING_COLORS.total), width: 2, shape: 'linear' },
    marker: { color: theme.color(TRAINING_COLORS.total), size: 4 },
  };
  legend.push(
    { label: names.cost, colorVar: TRAINING_COLORS.cost, kind: 'fill' },
    { label: names.total, colorVar: TRAINING_COLORS.total, kind: 'line' },
  );
  const caption = (text: string, y: number): Partial<Annotations> => ({
    xref: 'paper',
    yref: 'paper',
    x: 0,
    y,
    yshift: 2,
    xanchor: 'left',
    yanchor: 'bottom',
    align: 'left',
    showarrow: false,
    text: escapePlotly(text),
    font: { color: theme.color('--jp-ui-font-color2') },
  });
  const usdAxis = { tickformat: '$.2~g', rangemode: 'tozero' as const };
  const layout: Partial<Layout> = {
    ...baseLayout(theme, null),
    barmode: 'overlay',
    hovermode: 'x unified',
    // Another call shown: the zoom starts anew; the same call growing keeps it.
    uirevision: shape.training.trainId,
    xaxis: themedAxis(theme, {
      anchor: 'y3',
      title: { text: trans.__('epoch'), standoff: 4 },
      tickformat: 'd',
      zeroline: false,
    }),
    yaxis: themedAxis(theme, { domain: [...TRAINING_DOMAINS.metrics], rangemode: 'tozero' }),
    yaxis3: themedAxis(theme, { domain: [...TRAINING_DOMAINS.cost], ...usdAxis }),
    yaxis4: themedAxis(theme, { overlaying: 'y3', side: 'right', showgrid: false, ...usdAxis }),
    annotations: [
      caption(
        shape.epochsPerBar > 1
          ? trans.__('cost per %1 epochs (bars), total so far (line, right)', shape.epochsPerBar)
          : trans.__('cost per epoch (bars), total so far (line, right)'),
        TRAINING_DOMAINS.cost[1],
      ),
    ],
  };
  if (accuracyAxis) {
    // `~` drops trailing zeros: 92%, 92.5%.
    layout.yaxis2 = themedAxis(theme, {
      overlaying: 'y',
      side: 'right',
      showgrid: false,
      tickformat: '.1~%',
    });
  }
  return { data: [...metrics, cost, total], layout, legend };
}
