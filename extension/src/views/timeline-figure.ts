/**
 * The timeline chart as a Plotly figure: the shaping's traces (one per bar
 * state, WebGL above a few thousand bars) on a local-time axis, a row per
 * execution environment, and a band per cell run drawn as layout shapes
 * with the run's tag above it.
 */
import type { Annotations, Layout, Shape } from 'plotly.js';

import { escapePlotly, oneLine, timelineTraces } from './shape';
import type { TimelineShape, TimelineTrace } from './shape';
import { baseLayout, IFigureTheme, LegendItem, themedAxis, timeAxis } from './figure-theme';

/** A figure: what `Plotly.react` draws, and the legend shown above it. */
export interface IFigure<T = object> {
  data: T[];
  layout: Partial<Layout>;
  legend: LegendItem[];
}

/** Options of {@link timelineFigure}. */
export interface TimelineFigureOptions {
  /** Added to every epoch ms so the date axis shows local time (see `localShiftMs`); 0 shows UTC. */
  shiftMs: number;
  /** Wrap hover lines wider than this many characters (the panel is narrow); none by default. */
  hoverChars?: number;
  /** Force WebGL (or not); by default above the shaping's threshold. */
  gl?: boolean;
}

/** Pixels per row of the timeline, and the height around the rows. */
export const TIMELINE_ROW_PX = 22;
const TIMELINE_CHROME_PX = 120;
const TIMELINE_MIN_PX = 220;
const TIMELINE_MAX_PX = 1200;

/** The chart's height for `rows` rows. */
export function timelineHeight(rows: number): number {
  return Math.min(TIMELINE_MAX_PX, Math.max(TIMELINE_MIN_PX, TIMELINE_CHROME_PX + rows * TIMELINE_ROW_PX));
}

function shift(values: readonly (number | null)[], by: number): (number | null)[] {
  return values.map((v) => (v === null ? null : v + by));
}

/** The characters of Plotly markup a reader sees: tags count 0, an entity 1. */
function visibleLength(markup: string): number {
  return markup.replace(/<[^>]*>/g, '').replace(/&(?:[a-z]+|#\d+);/gi, '_').length;
}

/**
 * Wraps Plotly hover markup so lines stay within `width` visible characters,
 * breaking at spaces only (never inside a tag or an entity); a longer word
 * keeps its own line.
 */
export function wrapHover(markup: string, width: number): string {
  return markup
    .split('<br>')
    .map((line) => {
      if (visibleLength(line) <= width) {
        return line;
      }
      const lines: string[] = [];
      let current = '';
      for (const word of line.split(' ')) {
        const next = current === '' ? word : `${current} ${word}`;
        if (current !== '' && visibleLength(next) > width) {
          lines.push(current);
          current = word;
        } else {
          current = next;
        }
      }
      lines.push(current);
      return lines.join('<br>');
    })
    .join('<br>');
}

/** The traces with their hover text wrapped at `width` characters. */
function wrappedTraces(traces: TimelineTrace[], width: number | undefined): TimelineTrace[] {
  if (width === undefined) {
    return traces;
  }
  const cache = new Map<string, string>();
  const wrap = (text: string | null): string | null => {
    if (text === null) {
      return null;
    }
    let wrapped = cache.get(text);
    if (wrapped === undefined) {
      wrapped = wrapHover(text, width);
      cache.set(text, wrapped);
    }
    return wrapped;
  };
  return traces.map((t) => ({ ...t, hovertext: t.hovertext.map(wrap) }));
}

/** The traces of `shape` with their times moved by `shiftMs`. */
function shiftedTraces(traces: TimelineTrace[], shiftMs: number): TimelineTrace[] {
  if (shiftMs === 0) {
    return traces;
  }
  return traces.map((t) =>
    t.type === 'bar'
      ? { ...t, base: (t.base ?? []).map((v) => v + shiftMs) }
      : { ...t, x: shift(t.x, shiftMs) },
  );
}

/** The timeline of `shape` as a Plotly figure. */
export function timelineFigure(
  shape: TimelineShape,
  theme: IFigureTheme,
  options: TimelineFigureOptions,
): IFigure<TimelineTrace> {
  const { shiftMs } = options;
  const data = wrappedTraces(
    shiftedTraces(timelineTraces(shape, theme.solid, { gl: options.gl }), shiftMs),
    options.hoverChars,
  );
  for (const trace of data) {
    if (trace.type === 'bar') {
      Object.assign(trace, { width: 0.7, marker: { ...trace.marker, line: { width: 0 } } });
    }
  }
  const shapes: Partial<Shape>[] = [];
  const annotations: Partial<Annotations>[] = [];
  shape.bands.forEach((band, i) => {
    const running = band.state === 'running';
    shapes.push({
      type: 'rect',
      layer: 'below',
      xref: 'x',
      yref: 'paper',
      x0: band.start + shiftMs,
      x1: band.end + shiftMs,
      y0: 0,
      y1: 1,
      fillcolor: theme.color(i % 2 === 0 ? '--jp-layout-color2' : '--jp-layout-color3'),
      opacity: 0.35,
      line: running
        ? { color: theme.color('--jp-brand-color1'), width: 1, dash: 'dot' }
        : { color: theme.color('--jp-border-color2'), width: 1 },
    });
    annotations.push({
      xref: 'x',
      yref: 'paper',
      x: band.start + shiftMs,
      y: 1,
      xanchor: 'left',
      yanchor: 'bottom',
      showarrow: false,
      text: escapePlotly(band.tag),
      hovertext: wrapHover(
        escapePlotly(`${band.tag} ${oneLine(band.label, 100)} · ${band.state}`),
        options.hoverChars ?? Infinity,
      ),
      font: { color: theme.color('--jp-ui-font-color2') },
    });
  });
  const rows = shape.rows.length;
  const layout: Partial<Layout> = {
    ...baseLayout(theme, timelineHeight(rows)),
    // Room for the run tags above the plot, under Plotly's mode bar.
    margin: { l: 8, r: 8, t: 44, b: 8, pad: 2 },
    barmode: 'overlay',
    bargap: 0.3,
    hovermode: 'closest',
    // Keeps the user's zoom across redraws while events arrive.
    uirevision: 'timeline',
    xaxis: timeAxis(theme, {
      // Autorange (bars and run bands): a range set here would undo the user's zoom on every event.
      autorange: true,
    }),
    yaxis: themedAxis(theme, {
      tickmode: 'array',
      tickvals: shape.rows.map((_, i) => i),
      ticktext: shape.rows.map((r) => escapePlotly(oneLine(r.label, 24))),
      range: [rows - 0.5, -0.5],
      fixedrange: true,
      showgrid: false,
    }),
    shapes,
    annotations,
  };
  const legend = shape.series
    .filter((s) => s.start.length > 0)
    .map((s): LegendItem => ({ label: s.label, colorVar: s.colorVar, kind: 'fill' }));
  return { data, layout, legend };
}
