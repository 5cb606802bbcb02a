/**
 * What `%%serverless --tune` shows: a table of the memory sizes (plain text
 * and HTML, every text escaped) and a Plotly figure of duration against
 * cost per size with the pick marked (`application/vnd.plotly.v1+json`,
 * drawn by the extension, or by any frontend that renders Plotly).
 */
import type { JsonObject } from '../kernel/messages';
import { escapeHtml, formatUsd, NO_MATH_CLASSES } from './format';
import type { TuneGoal, TunePick, TuneRow } from './tuning';

/** The MIME type of a Plotly figure in notebook outputs. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

function ms(value: number | undefined): string {
  return value === undefined
    ? ''
    : value >= 10_000
      ? `${(value / 1000).toFixed(1)} s`
      : `${Math.round(value)} ms`;
}

/** One row's cells: memory, how it is known, per invocation, run time, run cost, peak memory. */
function cells(row: TuneRow, pick: TunePick): string[] {
  const picked = pick.row?.memoryMb === row.memoryMb;
  const status =
    row.status === 'measured' || row.status === 'modelled'
      ? `${row.how}${row.unsure ? ' (may not fit)' : ''}`
      : row.how;
  return [
    `${picked ? '→ ' : ''}${row.memoryMb} MB`,
    status,
    ms(row.perInvocationMs),
    ms(row.runMs),
    row.costUsd === undefined ? '' : formatUsd(row.costUsd),
    row.peakMb === undefined ? '' : `${Math.ceil(row.peakMb)} MB`,
  ];
}

const TITLES = ['memory', 'how', 'per invocation', 'run', 'cost per run', 'peak memory'];

/** The table as plain text, aligned. */
export function tuneTableText(rows: readonly TuneRow[], pick: TunePick): string {
  return textTable(
    TITLES,
    rows.map((row) => cells(row, pick)),
    2,
  );
}

/** The table as HTML (escaped), the pick's row in bold. */
export function tuneTableHtml(rows: readonly TuneRow[], pick: TunePick): string {
  return htmlTable(
    TITLES,
    rows.map((row) => ({ cells: cells(row, pick), picked: row.memoryMb === pick.row?.memoryMb })),
    2,
  );
}

/** A table as plain text: the first `textColumns` columns left-aligned, the others (figures) right-aligned. */
export function textTable(titles: readonly string[], rows: readonly string[][], textColumns: number): string {
  const table = [titles, ...rows];
  const widths = titles.map((_, i) => Math.max(...table.map((r) => r[i].length)));
  return table
    .map((r) =>
      r
        .map((cell, i) => (i < textColumns ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A table as HTML (every cell escaped): the first `textColumns` columns left-aligned, the picked row in bold. */
export function htmlTable(
  titles: readonly string[],
  rows: readonly { cells: string[]; picked: boolean }[],
  textColumns: number,
): string {
  const num = ' style="text-align:right;white-space:nowrap"';
  const left = ' style="text-align:left"';
  const first = ' style="text-align:left;white-space:nowrap"';
  const align = (i: number): string => (i === 0 ? first : i < textColumns ? left : num);
  const head = `<tr>${titles.map((t, i) => `<th${align(i)}>${escapeHtml(t)}</th>`).join('')}</tr>`;
  const body = rows
    .map(
      (row) =>
        `<tr${row.picked ? ' class="jp-mod-picked" style="font-weight:bold"' : ''}>` +
        row.cells.map((cell, i) => `<td${align(i)}>${escapeHtml(cell)}</td>`).join('') +
        '</tr>',
    )
    .join('');
  return (
    `<div class="jp-serverless-Tune ${NO_MATH_CLASSES}"><table class="jp-serverless-Tune-table">` +
    `<thead>${head}</thead><tbody>${body}</tbody></table></div>`
  );
}

/** How a figure names its points and its title. */
export interface FigureLabels<R> {
  label(row: R): string;
  /** Whether a row is the pick. */
  same(row: R, pick: R | undefined): boolean;
  title: string;
}

const MEMORY_LABELS: FigureLabels<TuneRow> = {
  label: (row) => `${row.memoryMb} MB`,
  same: (row, pick) => row.memoryMb === pick?.memoryMb,
  title: 'Run time against cost per memory size',
};

/**
 * The chart: each size that can run as a point at (run time, cost), measured
 * sizes filled, modelled ones open, the pick a star; sizes that ran out of
 * memory or time are in the table only.
 */
export function tuneFigure<R extends TuneRow>(
  rows: readonly R[],
  pick: { row?: R },
  goal: TuneGoal,
  shown: FigureLabels<R> = MEMORY_LABELS,
): JsonObject {
  const drawn = rows.filter((r) => r.runMs !== undefined && r.costUsd !== undefined);
  const trace = (name: string, points: readonly R[], symbol: string, size: number): JsonObject => ({
    type: 'scatter',
    mode: 'markers+text',
    name,
    x: points.map((r) => (r.runMs ?? 0) / 1000),
    y: points.map((r) => r.costUsd ?? 0),
    text: points.map((r) => shown.label(r)),
    textposition: 'top center',
    hovertext: points.map(
      (r) => `${shown.label(r)}: ${ms(r.runMs)}, ${formatUsd(r.costUsd ?? 0)} (${r.how})`,
    ),
    hoverinfo: 'text',
    marker: { symbol, size },
  });
  const picked = drawn.filter((r) => shown.same(r, pick.row));
  const others = drawn.filter((r) => !shown.same(r, pick.row));
  const data = [
    trace(
      'measured',
      others.filter((r) => r.status === 'measured'),
      'circle',
      10,
    ),
    trace(
      'modelled',
      others.filter((r) => r.status !== 'measured'),
      'circle-open',
      10,
    ),
    ...(picked.length > 0 ? [trace(`pick (${goal})`, picked, 'star', 16)] : []),
  ].filter((t) => (t.x as unknown[]).length > 0);
  // Room above and right of the farthest points for their labels.
  const top = Math.max(0, ...drawn.map((r) => r.costUsd ?? 0)) * 1.2;
  const right = Math.max(0, ...drawn.map((r) => (r.runMs ?? 0) / 1000)) * 1.15;
  return {
    data,
    layout: {
      title: { text: `${shown.title} (goal: ${goal})` },
      xaxis: { title: { text: 'run time (s)' }, range: [0, right || 1] },
      yaxis: { title: { text: 'cost per run (USD)' }, range: [0, top || 1], tickformat: '.2~e' },
      showlegend: true,
      height: 360,
    },
    config: { displaylogo: false, responsive: true },
  };
}
