/**
 * The per-run cost table under the cost chart: one row per cell run, the
 * amounts formatted as `%serverless cost` formats them. Built with
 * textContent only: labels come from cell text and are never parsed as HTML.
 */
import { ITrans, NO_TRANS, oneLine } from './shape';
import type { RunCostRow } from './shape';

/** A column of the table: its header and the text of a row's cell. */
export interface CostColumn {
  readonly key: string;
  readonly header: string;
  /** Numbers align right. */
  readonly numeric: boolean;
  cell(row: RunCostRow): string;
}

/** The table's columns, in order. */
export function costColumns(trans: ITrans = NO_TRANS): CostColumn[] {
  const col = (key: string, header: string, numeric: boolean, cell: (row: RunCostRow) => string) => ({
    key,
    header,
    numeric,
    cell,
  });
  return [
    col('run', trans.__('Run'), false, (r) => `${r.tag} ${oneLine(r.label, 48)}`),
    col('total', trans.__('Total'), true, (r) => r.cells.total),
    col('state', trans.__('State'), false, (r) => r.state),
    col('invocations', trans.__('Done'), true, (r) => r.cells.invocations),
    col('cold', trans.__('Cold'), true, (r) => String(r.coldStarts)),
    col('billed', trans.__('Billed'), true, (r) => r.cells.billed),
    col('compute', trans.__('Compute'), true, (r) => r.cells.compute),
    col('init', trans.__('INIT'), true, (r) => r.cells.init),
    col('requests', trans.__('Requests'), true, (r) => r.cells.requests),
    col('storage', trans.__('Storage'), true, (r) => r.cells.storage),
    col('estimate', trans.__('Estimate'), true, (r) => r.cells.estimate),
    col('budget', trans.__('Budget'), true, (r) => r.cells.budget),
    col('duration', trans.__('Duration'), true, (r) => r.cells.duration),
  ];
}

/** The `jp-mod-*` classes of a row. */
export function costRowClasses(row: RunCostRow): string[] {
  const classes: string[] = [];
  if (row.state === 'running') {
    classes.push('jp-mod-running');
  }
  if (row.counts.failed > 0 || row.state === 'failed') {
    classes.push('jp-mod-failed');
  }
  if (row.overBudget || row.state === 'budget-stopped') {
    classes.push('jp-mod-overBudget');
  }
  return classes;
}

/** The tooltip of a row: the whole label and the details the cells leave out. */
export function costRowTitle(row: RunCostRow, trans: ITrans = NO_TRANS): string {
  const lines = [`${row.tag} ${row.label}`];
  if (row.backend) {
    lines.push(trans.__('backend: %1', row.backend));
  }
  const c = row.counts;
  lines.push(
    trans.__(
      '%1 done, %2 failed, %3 cancelled, %4 running, %5 queued',
      c.done,
      c.failed,
      c.cancelled,
      c.running,
      c.queued,
    ),
  );
  lines.push(trans.__('%1 attempts, %2 cold starts', row.attempts, row.coldStarts));
  if (row.overBudget) {
    lines.push(trans.__('Cost reached its --budget of %1', row.cells.budget));
  }
  return lines.join('\n');
}

/** Fills `table` (a `<table>`) with `rows`; the header row is written once. */
export function renderCostTable(
  table: HTMLTableElement,
  rows: readonly RunCostRow[],
  trans: ITrans = NO_TRANS,
): void {
  const columns = costColumns(trans);
  const doc = table.ownerDocument;
  if (!table.tHead) {
    const tr = table.createTHead().insertRow();
    for (const column of columns) {
      const th = doc.createElement('th');
      th.scope = 'col';
      th.textContent = column.header;
      th.className = `jp-serverless-Cost-${column.key}`;
      tr.appendChild(th);
    }
  }
  const body = doc.createElement('tbody');
  for (const row of rows) {
    const tr = body.insertRow();
    tr.dataset.runId = row.runId;
    tr.title = costRowTitle(row, trans);
    tr.classList.add(...costRowClasses(row));
    for (const column of columns) {
      const td = tr.insertCell();
      td.className = `jp-serverless-Cost-${column.key}${column.numeric ? ' jp-mod-numeric' : ''}`;
      td.textContent = column.cell(row);
    }
  }
  if (table.tBodies.length > 0) {
    table.tBodies[0].replaceWith(body);
  } else {
    table.appendChild(body);
  }
}
