/**
 * The cost chart as a Plotly figure: the kernel's cumulative cost over time
 * as stacked areas (compute, INIT of cold starts, requests, storage: the top
 * edge is the total) and a dashed budget line when a budget warning is set.
 */
import type { Layout, PlotData, Shape, Annotations } from 'plotly.js';

import { COST_PARTS, costPartLabel, escapePlotly, formatUsd, ITrans, NO_TRANS } from './shape';
import type { CostPart, CostShape } from './shape';
import { baseLayout, IFigureTheme, LegendItem, themedAxis, timeAxis } from './figure-theme';
import type { IFigure } from './timeline-figure';

/** The chart's height, px. */
export const COST_HEIGHT_PX = 240;

/** Options of {@link costFigure}. */
export interface CostFigureOptions {
  /** Added to every epoch ms so the date axis shows local time; 0 shows UTC. */
  shiftMs: number;
  trans?: ITrans;
}

function column(shape: CostShape, part: CostPart): number[] {
  switch (part) {
    case 'compute':
      return shape.compute;
    case 'init':
      return shape.init;
    case 'requests':
      return shape.requests;
    case 'storage':
      return shape.storage;
  }
}

/** The cost of `shape` as a Plotly figure (empty data when `shape.empty`). */
export function costFigure(
  shape: CostShape,
  theme: IFigureTheme,
  options: CostFigureOptions,
): IFigure<Partial<PlotData>> {
  const trans = options.trans ?? NO_TRANS;
  const x = options.shiftMs === 0 ? shape.time : shape.time.map((t) => t + options.shiftMs);
  const data: Partial<PlotData>[] = shape.empty
    ? []
    : COST_PARTS.map(({ key, colorVar }) => {
        const y = column(shape, key);
        const name = costPartLabel(key, trans);
        return {
          type: 'scatter',
          mode: 'lines',
          stackgroup: 'cost',
          name,
          x,
          y,
          text: y.map((usd) => formatUsd(usd)),
          hovertemplate: `${escapePlotly(name)}: %{text}<extra></extra>`,
          line: { color: theme.solid(colorVar), width: 1, shape: 'hv' },
          fillcolor: theme.solid(colorVar),
        };
      });
  const shapes: Partial<Shape>[] = [];
  const annotations: Partial<Annotations>[] = [];
  const legend: LegendItem[] = shape.empty
    ? []
    : COST_PARTS.map(({ key, colorVar }) => ({ label: costPartLabel(key, trans), colorVar, kind: 'fill' }));
  if (shape.budget && !shape.empty) {
    const colorVar = shape.budget.reached ? '--jp-error-color1' : '--jp-warn-color1';
    const color = theme.color(colorVar);
    legend.push({ label: trans.__('budget warning'), colorVar, kind: 'dash' });
    shapes.push({
      type: 'line',
      xref: 'paper',
      yref: 'y',
      x0: 0,
      x1: 1,
      y0: shape.budget.usd,
      y1: shape.budget.usd,
      line: { color, width: 2, dash: 'dash' },
    });
    annotations.push({
      xref: 'paper',
      yref: 'y',
      x: 0,
      y: shape.budget.usd,
      xanchor: 'left',
      yanchor: 'bottom',
      showarrow: false,
      text: escapePlotly(trans.__('budget warning %1', formatUsd(shape.budget.usd))),
      font: { color },
    });
  }
  const layout: Partial<Layout> = {
    ...baseLayout(theme, COST_HEIGHT_PX),
    hovermode: 'x unified',
    uirevision: 'cost',
    xaxis: timeAxis(theme),
    yaxis: themedAxis(theme, {
      tickformat: '$.2~g',
      rangemode: 'tozero',
    }),
    shapes,
    annotations,
  };
  return { data, layout, legend };
}
