/**
 * Plotly traces of the timeline: one horizontal `bar` trace per bar state
 * (base = start, length = duration), always SVG. A level of detail keeps the
 * bars drawn within what the plot can show: in a row with more bars than
 * the plot has pixels across, adjacent bars of one state less than a pixel's
 * worth of time apart become one bar ("n invocations, elements a-b, state");
 * and when all rows together still have more than {@link MAX_DRAWN_BARS},
 * every row is merged so, with a gap that doubles until they fit. Bars that
 * fit are drawn one by one with their own hover text and invocation id, so
 * small runs look as they always did. Zoomed in (`visible`), the level of
 * detail is that of the range shown: its bars are merged at its pixel's
 * worth of time, and the bars outside it, on each side, into one per row.
 */
import { escapePlotly } from './common';
import { barHover } from './timeline';
import type { BarSource, TimelineSeries, TimelineShape } from './timeline';

/** The most bars {@link timelineTraces} draws in all (beyond: merged). */
export const MAX_DRAWN_BARS = 1500;

/** The plot width assumed when none is given, px. */
export const DEFAULT_PLOT_WIDTH_PX = 1000;

/** The Plotly trace fields used (plain data; Plotly is loaded by the view). */
export interface TimelineTrace {
  type: 'bar';
  name: string;
  /** Lengths, ms. */
  x: number[];
  /** Row indexes. */
  y: number[];
  /** Starts, epoch ms. */
  base: number[];
  orientation: 'h';
  hovertext: string[];
  hoverinfo: 'text';
  /** The invocation id of each bar; null for a bar that stands for several. */
  customdata: (string | null)[];
  marker: { color: string; line?: { width: number } };
  showlegend: boolean;
  width?: number;
}

/** Options of {@link timelineTraces}. */
export interface TimelineTraceOptions {
  /** The plot's width, px (default {@link DEFAULT_PLOT_WIDTH_PX}). */
  widthPx?: number;
  /** The most bars drawn (default {@link MAX_DRAWN_BARS}). */
  maxBars?: number;
  /** The hover markup of a bar drawn on its own (default: {@link barHover} at the shape's `now`). */
  hover?: (source: BarSource) => string;
  /** The hover markup of a merged bar as built (e.g. wrapped); default as is. */
  mergedHover?: (markup: string) => string;
  /** The time range shown (epoch ms), when zoomed in; default: the shape's whole range. */
  visible?: readonly [number, number];
}

/** The bars of one series in one row, sorted by start (indexes into the series). */
interface Lane {
  readonly series: number;
  readonly row: number;
  readonly order: number[];
}

/** A bar drawn: a run of a lane's `order` from `from` to `to` (exclusive). */
interface Drawn {
  readonly from: number;
  readonly to: number;
  readonly end: number;
}

/**
 * The traces of `shape` (empty states left out); `color` resolves a theme
 * variable (e.g. with getComputedStyle) to a color Plotly understands.
 */
export function timelineTraces(
  shape: TimelineShape,
  color: (cssVar: string) => string,
  options: TimelineTraceOptions = {},
): TimelineTrace[] {
  const widthPx = Math.max(1, options.widthPx ?? DEFAULT_PLOT_WIDTH_PX);
  const maxBars = Math.max(1, options.maxBars ?? MAX_DRAWN_BARS);
  const hover = options.hover ?? ((source: BarSource) => barHover(source, shape.now));
  const mergedHover = options.mergedHover ?? ((markup: string) => markup);
  const merging = mergePlan(shape, widthPx, maxBars, options.visible);
  return shape.series
    .map((s, index) => ({ s, lanes: merging.get(index) }))
    .filter(({ s }) => s.start.length > 0)
    .map(({ s, lanes }): TimelineTrace => {
      const trace: TimelineTrace = {
        type: 'bar',
        orientation: 'h',
        name: s.label,
        base: s.start,
        x: s.duration,
        y: s.row,
        hovertext: [],
        hoverinfo: 'text',
        customdata: s.invocationId,
        marker: { color: color(s.colorVar) },
        showlegend: true,
      };
      if (!lanes) {
        trace.hovertext = s.source.map(hover);
        return trace;
      }
      trace.base = [];
      trace.x = [];
      trace.y = [];
      trace.customdata = [];
      for (const { lane, bars } of lanes) {
        for (const bar of bars) {
          const first = lane.order[bar.from];
          const start = s.start[first];
          trace.base.push(start);
          trace.x.push(bar.end - start);
          trace.y.push(lane.row);
          if (bar.to - bar.from === 1) {
            trace.hovertext.push(hover(s.source[first]));
            trace.customdata.push(s.invocationId[first]);
          } else {
            trace.hovertext.push(mergedHover(mergedText(s, lane.order.slice(bar.from, bar.to))));
            trace.customdata.push(null);
          }
        }
      }
      return trace;
    });
}

/** `n invocations, elements a-b, state` of the bars `indexes` of `s`. */
function mergedText(s: TimelineSeries, indexes: number[]): string {
  let low = Infinity;
  let high = -Infinity;
  for (const i of indexes) {
    const element = s.element[i];
    if (element >= 0) {
      low = Math.min(low, element);
      high = Math.max(high, element);
    }
  }
  const elements = low <= high ? (low === high ? `, element ${low}` : `, elements ${low}-${high}`) : '';
  return `${indexes.length} invocations${elements}, ${escapePlotly(s.label)}`;
}

/**
 * The series that need merging (by index), with their lanes' bars as
 * drawn; a series left out is drawn bar by bar.
 */
function mergePlan(
  shape: TimelineShape,
  widthPx: number,
  maxBars: number,
  visible: readonly [number, number] | undefined,
): Map<number, { lane: Lane; bars: Drawn[] }[]> {
  const plan = new Map<number, { lane: Lane; bars: Drawn[] }[]>();
  const perRow = new Map<number, number>();
  let shown = 0;
  for (const s of shape.series) {
    s.row.forEach((row, i) => {
      if (!visible || side(s, i, visible) === 0) {
        perRow.set(row, (perRow.get(row) ?? 0) + 1);
        shown += 1;
      }
    });
  }
  const crowded = [...perRow].some(([, n]) => n > widthPx);
  if (!crowded && shape.bars <= maxBars) {
    return plan;
  }
  const span = visible ? visible[1] - visible[0] : shape.range ? shape.range[1] - shape.range[0] : 0;
  // A pixel's worth of time (1 ms at least, so bars that touch or overlap always merge).
  let gap = Math.max(1, span / widthPx);
  const lanes = buildLanes(shape);
  // Zoomed in with few bars shown: those are drawn one by one, the rest merged.
  let onlyCrowded = crowded || (visible !== undefined && shown <= maxBars);
  for (;;) {
    let total = 0;
    const merged = lanes.map((lane) => {
      const all = !onlyCrowded || (perRow.get(lane.row) ?? 0) > widthPx;
      const bars = sweep(shape.series[lane.series], lane.order, all ? gap : -Infinity, visible);
      total += bars.length;
      return { lane, bars };
    });
    if (total <= maxBars || !Number.isFinite(gap)) {
      for (const entry of merged) {
        const list = plan.get(entry.lane.series) ?? [];
        list.push(entry);
        plan.set(entry.lane.series, list);
      }
      return plan;
    }
    if (onlyCrowded) {
      onlyCrowded = false;
    } else {
      gap = gap > span ? Infinity : gap * 2;
    }
  }
}

/** Where bar `i` of `s` is: -1 before the range shown, 1 after it, 0 in it. */
function side(s: TimelineSeries, i: number, visible: readonly [number, number]): -1 | 0 | 1 {
  return s.end[i] < visible[0] ? -1 : s.start[i] > visible[1] ? 1 : 0;
}

/** The lanes of `shape`: per series and row, bar indexes sorted by start. */
function buildLanes(shape: TimelineShape): Lane[] {
  const lanes: Lane[] = [];
  shape.series.forEach((s, series) => {
    const byRow = new Map<number, number[]>();
    s.row.forEach((row, i) => {
      const order = byRow.get(row);
      if (order) {
        order.push(i);
      } else {
        byRow.set(row, [i]);
      }
    });
    for (const [row, order] of byRow) {
      order.sort((a, b) => s.start[a] - s.start[b]);
      lanes.push({ series, row, order });
    }
  });
  return lanes;
}

/**
 * Bars of one lane, merging neighbours less than `gap` ms apart (-Infinity:
 * none merged); with `visible`, neighbours outside it on the same side
 * always merge, and never with a bar shown.
 */
function sweep(
  s: TimelineSeries,
  order: number[],
  gap: number,
  visible?: readonly [number, number],
): Drawn[] {
  const bars: Drawn[] = [];
  let from = 0;
  let end = -Infinity;
  let where = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    const here = visible ? side(s, i, visible) : 0;
    if (k > 0 && here === where && s.start[i] - end < (here === 0 ? gap : Infinity)) {
      end = Math.max(end, s.end[i]);
      continue;
    }
    if (k > 0) {
      bars.push({ from, to: k, end });
    }
    from = k;
    end = s.end[i];
    where = here;
  }
  if (order.length > 0) {
    bars.push({ from, to: order.length, end });
  }
  return bars;
}
