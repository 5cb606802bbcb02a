/**
 * The gradient traffic as one Plotly figure of two parts: on top, the bytes
 * of each round stacked by worker (a bar trace per worker) with the
 * compression ratio as a line on a second axis; below, the exchange graph
 * (`./traffic-graph-figure`) on axes of its own. It is as high as its
 * section leaves room for (`style/views.css` gives the plot the rest of the
 * view's height, above a floor below which the view scrolls). Its size is
 * bounded by the shaping: workers times bars drawn, plus a few traces for
 * the graph.
 */
import type { Annotations, Layout, PlotData } from 'plotly.js';

import { BASE_MARGIN, baseLayout, IFigureTheme, LegendItem, themedAxis } from './figure-theme';
import { escapePlotly, formatBytes, formatMs, formatRatio, formatUsd, ITrans, NO_TRANS } from './shape';
import type { TrafficShape, TrafficWorkerSeries } from './shape';
import type { IFigure } from './timeline-figure';
import { GRAPH_AXES, graphLayoutLabel, graphTraces } from './traffic-graph-figure';

/**
 * The least height the chart is drawn at, px: the traffic view keeps its
 * plot at least this high (the view scrolls below it).
 */
export const TRAFFIC_MIN_HEIGHT_PX = 300;

/** Between the bars' plot and the graph, px: the round axis (ticks, title) and the graph's caption. */
export const TRAFFIC_GAP_PX = 88;

/** The graph's share of the height the bars and the graph divide. */
export const GRAPH_SHARE = 0.45;

/** Where the bars and the graph are, as shares of the plot's height from its bottom (Plotly domains). */
export interface TrafficDomains {
  bars: [number, number];
  graph: [number, number];
}

/**
 * The domains of a chart drawn `heightPx` high (at least {@link TRAFFIC_MIN_HEIGHT_PX}):
 * {@link TRAFFIC_GAP_PX} between the bars and the graph whatever the height.
 * A chart drawn higher than the height given keeps a wider gap, never a narrower one.
 */
export function trafficDomains(heightPx: number): TrafficDomains {
  const { t, b } = BASE_MARGIN;
  const plot = Math.max(TRAFFIC_MIN_HEIGHT_PX, heightPx) - t - b;
  const graphTop = (GRAPH_SHARE * (plot - TRAFFIC_GAP_PX)) / plot;
  return { bars: [graphTop + TRAFFIC_GAP_PX / plot, 1], graph: [0, graphTop] };
}

/** The theme variables of the workers' bars, by rank order: five hues in three shades and grey, then again. */
export const WORKER_COLORS: readonly string[] = [
  ...[1, 2, 0].flatMap((shade) =>
    ['brand', 'warn', 'success', 'info', 'error'].map((hue) => `--jp-${hue}-color${shade}`),
  ),
  '--jp-ui-font-color2',
];

/** The theme variables of the chart's other series. */
export const TRAFFIC_COLORS = {
  ratio: '--jp-ui-font-color1',
  more: '--jp-ui-font-color3',
} as const;

/** Workers named in the legend at most (the rest as `+n workers`). */
export const LEGEND_WORKERS = 10;

/** The color variable of the `i`th worker by rank. */
export function workerColorVar(i: number): string {
  return WORKER_COLORS[i % WORKER_COLORS.length];
}

/**
 * The traffic of `shape` as a Plotly figure (empty data when `shape.empty`),
 * arranged for a chart `heightPx` high (its layout has no height: the chart
 * takes its node's).
 */
export function trafficFigure(
  shape: TrafficShape,
  theme: IFigureTheme,
  trans: ITrans = NO_TRANS,
  heightPx: number = TRAFFIC_MIN_HEIGHT_PX,
): IFigure<Partial<PlotData>> {
  if (shape.empty || !shape.exchange) {
    return { data: [], layout: baseLayout(theme, null), legend: [] };
  }
  const b = shape.bars;
  const rounds = b.x.map((_, i) =>
    b.firstRound[i] === b.lastRound[i] && b.rounds[i] === 1
      ? trans.__('round %1', b.firstRound[i])
      : trans.__('rounds %1–%2, mean of %3', b.firstRound[i], b.lastRound[i], b.rounds[i]),
  );
  const colors = new Map<string, string>();
  const bars: Partial<PlotData>[] = shape.workers.map((w, wi) => {
    const color = theme.solid(workerColorVar(wi));
    colors.set(w.id, color);
    return {
      type: 'bar',
      name: w.label,
      x: b.x,
      y: w.bytes,
      width: b.width,
      hovertext: rounds.map((r, i) => workerHover(w, i, r, trans)),
      hoverinfo: 'text',
      marker: { color, line: { width: 0 } },
    };
  });
  const ratio: Partial<PlotData> = {
    type: 'scatter',
    mode: b.x.length > 60 ? 'lines' : 'lines+markers',
    name: trans.__('compression ratio'),
    x: b.x,
    y: b.ratio,
    yaxis: 'y2',
    connectgaps: false,
    hovertext: rounds.map((r, i) =>
      [
        `<b>${r}</b>`,
        trans.__('all workers: %1 per round', formatBytes(Math.round(b.bytes[i]))),
        trans.__('ratio %1 · slowest worker %2', formatRatio(b.ratio[i]), formatMs(b.durationMs[i])),
      ].join('<br>'),
    ),
    hoverinfo: 'text',
    line: { color: theme.color(TRAFFIC_COLORS.ratio), width: 2 },
    marker: { color: theme.color(TRAFFIC_COLORS.ratio), size: 4 },
  };
  const graph = graphTraces(shape.graph, theme, { workerColor: (id) => colors.get(id), trans });
  const domains = trafficDomains(heightPx);
  const annotations: Partial<Annotations>[] = [
    {
      xref: 'paper',
      yref: 'paper',
      x: 0,
      y: domains.graph[1],
      yshift: 2,
      xanchor: 'left',
      yanchor: 'bottom',
      align: 'left',
      showarrow: false,
      text: [
        escapePlotly(trans.__('Exchange graph, %1', graphLayoutLabel(shape.graph.layout, trans))),
        escapePlotly(trans.__('edge width: bytes carried')),
      ].join('<br>'),
      font: { color: theme.color('--jp-ui-font-color2') },
    },
  ];
  const hidden = { visible: false, fixedrange: true, showgrid: false, zeroline: false };
  const layout: Partial<Layout> = {
    ...baseLayout(theme, null),
    barmode: 'stack',
    bargap: 0,
    hovermode: 'closest',
    // Another exchange shown: the zoom starts anew.
    uirevision: shape.exchange.key,
    xaxis: themedAxis(theme, {
      anchor: 'y',
      title: { text: trans.__('round'), standoff: 4 },
      tickformat: 'd',
      zeroline: false,
    }),
    yaxis: themedAxis(theme, {
      domain: domains.bars,
      tickformat: '~s',
      ticksuffix: 'B',
      rangemode: 'tozero',
    }),
    yaxis2: themedAxis(theme, {
      overlaying: 'y',
      side: 'right',
      showgrid: false,
      // Room above the highest ratio: a constant one is not drawn on the top edge.
      range: [0, Math.max(1, ...b.ratio.map((r) => r ?? 0)) * 1.15],
      ticksuffix: '×',
    }),
    xaxis2: { ...hidden, anchor: GRAPH_AXES.yaxis, range: [-1.7, 1.7] },
    yaxis3: {
      ...hidden,
      anchor: GRAPH_AXES.xaxis,
      domain: domains.graph,
      range: [-1.3, 1.3],
      scaleanchor: GRAPH_AXES.xaxis,
    },
    annotations,
  };
  const legend: LegendItem[] = shape.workers.slice(0, LEGEND_WORKERS).map((w, i) => ({
    label: w.label,
    colorVar: workerColorVar(i),
    kind: 'fill',
  }));
  if (shape.workers.length > LEGEND_WORKERS) {
    legend.push({
      label: trans.__('+%1 workers', shape.workers.length - LEGEND_WORKERS),
      colorVar: TRAFFIC_COLORS.more,
      kind: 'fill',
    });
  }
  legend.push({ label: trans.__('compression ratio'), colorVar: TRAFFIC_COLORS.ratio, kind: 'line' });
  return { data: [...bars, ratio, ...graph], layout, legend };
}

/** A count that may be a mean: whole, or with one decimal. */
function count(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function workerHover(w: TrafficWorkerSeries, i: number, rounds: string, trans: ITrans): string {
  return [
    `<b>${escapePlotly(w.id)}</b> · ${rounds}`,
    trans.__(
      'up %1 · down %2',
      formatBytes(Math.round(w.bytesUp[i])),
      formatBytes(Math.round(w.bytesDown[i])),
    ),
    trans.__(
      'ratio %1 · %2 requests · storage %3',
      formatRatio(w.ratio[i]),
      count(w.requests[i]),
      formatUsd(w.storageUsd[i]),
    ),
    formatMs(w.durationMs[i]),
  ].join('<br>');
}
