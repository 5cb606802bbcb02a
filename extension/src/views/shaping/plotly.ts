/**
 * Plotly traces of the timeline, built from its columns without copying them
 * per bar: one trace per bar state. Horizontal `bar` traces (base = start,
 * length = duration) for up to a few thousand bars; `scattergl` line
 * segments (WebGL) beyond {@link GL_THRESHOLD}.
 */
import type { TimelineShape } from './timeline';

/** Bars above which {@link timelineTraces} uses WebGL line segments. */
export const GL_THRESHOLD = 4000;

/** The Plotly trace fields used (plain data; Plotly is loaded by the view). */
export interface TimelineTrace {
  type: 'bar' | 'scattergl';
  name: string;
  /** bar: lengths; scattergl: start, end, null per bar. */
  x: (number | null)[];
  /** Row indexes (scattergl: null between bars). */
  y: (number | null)[];
  base?: number[];
  orientation?: 'h';
  mode?: 'lines';
  hovertext: (string | null)[];
  hoverinfo: 'text';
  customdata: (string | null)[];
  marker?: { color: string };
  line?: { color: string; width: number };
  showlegend: boolean;
}

/**
 * The traces of `shape` (empty states left out); `color` resolves a theme
 * variable (e.g. with getComputedStyle) to a color Plotly understands.
 */
export function timelineTraces(
  shape: TimelineShape,
  color: (cssVar: string) => string,
  options: { gl?: boolean } = {},
): TimelineTrace[] {
  const gl = options.gl ?? shape.bars > GL_THRESHOLD;
  return shape.series
    .filter((s) => s.start.length > 0)
    .map((s): TimelineTrace => {
      if (!gl) {
        return {
          type: 'bar',
          orientation: 'h',
          name: s.label,
          base: s.start,
          x: s.duration,
          y: s.row,
          hovertext: s.hover,
          hoverinfo: 'text',
          customdata: s.invocationId,
          marker: { color: color(s.colorVar) },
          showlegend: true,
        };
      }
      const n = s.start.length;
      const x = new Array<number | null>(n * 3);
      const y = new Array<number | null>(n * 3);
      const hovertext = new Array<string | null>(n * 3);
      const customdata = new Array<string | null>(n * 3);
      for (let i = 0; i < n; i++) {
        const j = i * 3;
        x[j] = s.start[i];
        x[j + 1] = s.end[i];
        x[j + 2] = null;
        y[j] = y[j + 1] = s.row[i];
        y[j + 2] = null;
        hovertext[j] = hovertext[j + 1] = s.hover[i];
        hovertext[j + 2] = null;
        customdata[j] = customdata[j + 1] = s.invocationId[i];
        customdata[j + 2] = null;
      }
      return {
        type: 'scattergl',
        mode: 'lines',
        name: s.label,
        x,
        y,
        hovertext,
        hoverinfo: 'text',
        customdata,
        line: { color: color(s.colorVar), width: 8 },
        showlegend: true,
      };
    });
}
