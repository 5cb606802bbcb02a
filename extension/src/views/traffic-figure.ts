/**
 * The gradient traffic chart as a Plotly figure: bytes sent up to and down
 * from the store in each exchange round (stacked bars), and each round's
 * throughput on a second axis.
 */
import type { Layout, PlotData } from 'plotly.js';

import { escapePlotly, formatBytes, formatMs, ITrans, NO_TRANS } from './shape';
import type { TrafficShape } from './shape';
import { baseLayout, IFigureTheme, LegendItem, themedAxis } from './figure-theme';
import type { IFigure } from './timeline-figure';

/** The chart's height, px. */
export const TRAFFIC_HEIGHT_PX = 260;

/** The theme variables of the traffic chart's series. */
export const TRAFFIC_COLORS = {
  up: '--jp-brand-color1',
  down: '--jp-info-color1',
  throughput: '--jp-warn-color1',
} as const;

/** The traffic of `shape` as a Plotly figure (empty data when `shape.empty`). */
export function trafficFigure(
  shape: TrafficShape,
  theme: IFigureTheme,
  trans: ITrans = NO_TRANS,
): IFigure<Partial<PlotData>> {
  const hover = shape.rounds.map((r) =>
    [
      `<b>${escapePlotly(r.label)}</b>`,
      trans.__('up %1 · down %2', formatBytes(r.bytesUp), formatBytes(r.bytesDown)),
      r.workers > 0 ? trans.__('%1 workers · %2', r.workers, escapePlotly(r.stores)) : escapePlotly(r.stores),
      trans.__('%1 · %2/s', formatMs(r.durationMs), formatBytes(Math.round(r.throughputBps))),
    ].join('<br>'),
  );
  const x = shape.series.label.map((label) => escapePlotly(label));
  const bars = (name: string, y: number[], colorVar: string): Partial<PlotData> => ({
    type: 'bar',
    name,
    x,
    y,
    hovertext: hover,
    hoverinfo: 'text',
    marker: { color: theme.solid(colorVar) },
  });
  const data: Partial<PlotData>[] = shape.empty
    ? []
    : [
        bars(trans.__('bytes up'), shape.series.bytesUp, TRAFFIC_COLORS.up),
        bars(trans.__('bytes down'), shape.series.bytesDown, TRAFFIC_COLORS.down),
        {
          type: 'scatter',
          mode: 'lines+markers',
          name: trans.__('throughput'),
          x,
          y: shape.series.throughputBps,
          yaxis: 'y2',
          hovertext: hover,
          hoverinfo: 'text',
          line: { color: theme.color(TRAFFIC_COLORS.throughput), width: 2 },
          marker: { color: theme.color(TRAFFIC_COLORS.throughput), size: 5 },
        },
      ];
  const layout: Partial<Layout> = {
    ...baseLayout(theme, TRAFFIC_HEIGHT_PX),
    barmode: 'stack',
    hovermode: 'closest',
    uirevision: 'traffic',
    xaxis: themedAxis(theme, { type: 'category', tickangle: -30 }),
    yaxis: themedAxis(theme, { tickformat: '~s', ticksuffix: 'B', rangemode: 'tozero' }),
    yaxis2: themedAxis(theme, {
      tickformat: '~s',
      ticksuffix: 'B/s',
      overlaying: 'y',
      side: 'right',
      showgrid: false,
      rangemode: 'tozero',
    }),
  };
  const legend: LegendItem[] = shape.empty
    ? []
    : [
        { label: trans.__('bytes up'), colorVar: TRAFFIC_COLORS.up, kind: 'fill' },
        { label: trans.__('bytes down'), colorVar: TRAFFIC_COLORS.down, kind: 'fill' },
        { label: trans.__('throughput'), colorVar: TRAFFIC_COLORS.throughput, kind: 'line' },
      ];
  return { data, layout, legend };
}
