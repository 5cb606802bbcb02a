/**
 * The timeline chart as a Plotly figure: the shaping's traces (one SVG bar
 * trace per bar state, merged to what the plot's width can show) on a
 * local-time axis, a row per execution environment, and a band per cell run
 * drawn as layout shapes with the run's tag above it. Hover text is written
 * only for the bars drawn, and kept across redraws in a {@link HoverCache}.
 */
import type { Annotations, Layout, Shape } from 'plotly.js';

import { barHover, escapePlotly, hoverKey, oneLine, timelineTraces } from './shape';
import type { BarSource, TimelineShape, TimelineTrace } from './shape';
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
  /** The plot's width, px: bars beyond one per pixel in a row are merged (see `timelineTraces`). */
  widthPx?: number;
  /** The most bars drawn (default `MAX_DRAWN_BARS`). */
  maxBars?: number;
  /** Keeps hover text across redraws (a view keeps one); none: written anew. */
  hoverCache?: HoverCache;
  /** The time range the user zoomed to (epoch ms, not shifted); none: all of it. */
  visible?: readonly [number, number];
}

/**
 * What a `plotly_relayout` event says of the time axis: the range zoomed or
 * panned to (epoch ms, `shiftMs` taken off), null when it went back to the
 * whole range, undefined when the event is not about it.
 */
export function zoomFromRelayout(
  update: Readonly<Record<string, unknown>>,
  shiftMs: number,
): [number, number] | null | undefined {
  if (update['xaxis.autorange'] === true) {
    return null;
  }
  const range = update['xaxis.range'];
  const [a, b] = Array.isArray(range) ? range : [update['xaxis.range[0]'], update['xaxis.range[1]']];
  const start = axisMs(a);
  const end = axisMs(b);
  if (start === undefined || end === undefined || !(end > start)) {
    return undefined;
  }
  return [start - shiftMs, end - shiftMs];
}

/**
 * Wrapped hover text of bars, per bar key (`hoverKey`: invocation, attempt
 * and state) and wrap width, kept across redraws: a redraw writes and wraps
 * only the text of bars that changed. Bounded: emptied when it holds more
 * than {@link HoverCache.MAX_ENTRIES} texts or the width changes.
 */
export class HoverCache {
  /** The markup of `source` at `now`, wrapped at `width` characters (undefined: not wrapped). */
  get(source: BarSource, now: number, width: number | undefined): string {
    if (width !== this._width) {
      this._texts.clear();
      this._width = width;
    }
    const key = hoverKey(source);
    if (key === null) {
      return wrapTo(barHover(source, now), width);
    }
    let text = this._texts.get(key);
    if (text === undefined) {
      if (this._texts.size >= HoverCache.MAX_ENTRIES) {
        this._texts.clear();
      }
      text = wrapTo(barHover(source, now), width);
      this._texts.set(key, text);
    }
    return text;
  }

  /** Texts held. */
  get size(): number {
    return this._texts.size;
  }

  /** The most texts held before the cache is emptied. */
  static readonly MAX_ENTRIES = 50_000;

  private readonly _texts = new Map<string, string>();
  private _width: number | undefined = undefined;
}

function wrapTo(markup: string, width: number | undefined): string {
  return width === undefined ? markup : wrapHover(markup, width);
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

/** A date axis position as Plotly gives it (ms, or a time-zone-less date string read as UTC) in ms. */
function axisMs(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : undefined;
  }
  if (typeof value !== 'string') {
    return undefined;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2})(?::(\d{2})(?::(\d{2})(\.\d+)?)?)?)?$/.exec(value.trim());
  if (!m) {
    return undefined;
  }
  const [, y, mo, d, h, mi, sec, fraction] = m;
  const whole = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h ?? 0),
    Number(mi ?? 0),
    Number(sec ?? 0),
  );
  return whole + (fraction ? Number(fraction) * 1000 : 0);
}

/** The traces of `shape` with their times moved by `shiftMs`. */
function shiftedTraces(traces: TimelineTrace[], shiftMs: number): TimelineTrace[] {
  if (shiftMs === 0) {
    return traces;
  }
  return traces.map((t) => ({ ...t, base: t.base.map((v) => v + shiftMs) }));
}

/** The timeline of `shape` as a Plotly figure. */
export function timelineFigure(
  shape: TimelineShape,
  theme: IFigureTheme,
  options: TimelineFigureOptions,
): IFigure<TimelineTrace> {
  const { shiftMs, hoverChars } = options;
  const cache = options.hoverCache ?? new HoverCache();
  const data = shiftedTraces(
    timelineTraces(shape, theme.solid, {
      widthPx: options.widthPx,
      maxBars: options.maxBars,
      hover: (source) => cache.get(source, shape.now, hoverChars),
      mergedHover: (markup) => wrapTo(markup, hoverChars),
      visible: options.visible,
    }),
    shiftMs,
  );
  for (const trace of data) {
    trace.width = 0.7;
    trace.marker = { ...trace.marker, line: { width: 0 } };
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
