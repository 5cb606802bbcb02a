/**
 * What train-time tuning shows in the cell before the training starts: a
 * table of every workers x memory (how it is known, the training's time and
 * cost, a worker's peak memory), a Plotly chart of time against cost with
 * the pick marked, and why the pick, with what profiling cost.
 */
import { escapeHtml, formatUsd } from '../../cost/format';
import { htmlTable, PLOTLY_MIME, textTable, tuneFigure } from '../../cost/tune-format';
import type { Display } from '../../output/display';
import type { TrainTuneRow, TrainTuning } from './tune-training';

const TITLES = ['workers', 'memory', 'how', 'training', 'cost', 'peak memory'];

function cells(row: TrainTuneRow, tuning: TrainTuning): string[] {
  const picked = isPick(row, tuning);
  const late = row.runMs !== undefined && !row.meetsDeadline ? ' (after the deadline)' : '';
  return [
    `${picked ? '→ ' : ''}${row.workers}`,
    `${row.memoryMb} MB`,
    `${row.how}${late}`,
    row.runMs === undefined ? '' : `${(row.runMs / 1000).toFixed(1)} s`,
    row.costUsd === undefined ? '' : formatUsd(row.costUsd),
    row.peakMb === undefined ? '' : `${Math.ceil(row.peakMb)} MB`,
  ];
}

function isPick(row: TrainTuneRow, tuning: TrainTuning): boolean {
  return row.workers === tuning.pick.workers && row.memoryMb === tuning.pick.memoryMb;
}

/** The sentence under the table: the pick, why, and what profiling ran and cost. */
export function tuningSummary(tuning: TrainTuning): string {
  const counts = tuning.profiled.workers;
  const listed =
    counts.length === 1
      ? `${counts[0]}`
      : `${counts.slice(0, -1).join(', ')} and ${counts[counts.length - 1]}`;
  const plural = (n: number): string => (n === 1 ? '' : 's');
  return (
    `Training on ${tuning.pick.workers} worker${plural(tuning.pick.workers)} x ${tuning.pick.memoryMb} MB: ` +
    `${tuning.reason} Tuning profiled ${listed} worker${plural(counts[counts.length - 1])} at ` +
    `${tuning.profiled.memoryMb} MB (${tuning.invocations} invocations, ${formatUsd(tuning.costUsd)}); ` +
    `the other sizes are predicted from Lambda's CPU share of their memory.`
  );
}

/** The table as plain text. */
export function tuningTableText(tuning: TrainTuning): string {
  return textTable(
    TITLES,
    tuning.rows.map((row) => cells(row, tuning)),
    3,
  );
}

/** Shows the table, the chart and the summary on `view`. */
export function showTuning(view: Display, tuning: TrainTuning): void {
  const summary = tuningSummary(tuning);
  const html = htmlTable(
    TITLES,
    tuning.rows.map((row) => ({ cells: cells(row, tuning), picked: isPick(row, tuning) })),
    3,
  );
  const pick = tuning.rows.find((row) => isPick(row, tuning));
  view.bundle({
    'text/plain': `${tuningTableText(tuning)}\n${summary}`,
    'text/html': `${html}<p>${escapeHtml(summary)}</p>`,
  });
  view.bundle({
    [PLOTLY_MIME]: tuneFigure(tuning.rows, { row: pick }, 'cost', {
      label: (row) => `${row.workers}x${row.memoryMb} MB`,
      same: (row, picked) => row === picked,
      title: 'Training time against cost per workers x memory',
    }),
    'text/plain': summary,
  });
}
