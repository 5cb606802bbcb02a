/**
 * The cost view as data: the kernel's cumulative cost over time split into
 * compute, INIT (of cold starts), requests and storage, as the bill and
 * `%serverless cost` split it; the budget line; a row per cell run.
 */
import type { CostSplit, RunCounts, RunRecord, TelemetryState } from '../../model/state';
import { formatMs, formatUsd, ITrans, NO_TRANS, runTag } from './common';

/** A part of the cost: its column in {@link CostShape} and its color. */
export type CostPart = 'compute' | 'init' | 'requests' | 'storage';

/** The parts of the cost chart, stacked in this order, with their theme colors. */
export const COST_PARTS: readonly { key: CostPart; colorVar: string }[] = [
  { key: 'compute', colorVar: '--jp-brand-color1' },
  { key: 'init', colorVar: '--jp-info-color1' },
  { key: 'requests', colorVar: '--jp-warn-color1' },
  { key: 'storage', colorVar: '--jp-success-color1' },
];

/** The legend name of a part of the cost. */
export function costPartLabel(part: CostPart, trans: ITrans = NO_TRANS): string {
  switch (part) {
    case 'compute':
      return trans.__('compute');
    case 'init':
      return trans.__('INIT (cold starts)');
    case 'requests':
      return trans.__('requests');
    case 'storage':
      return trans.__('storage');
  }
}

/** A cell run's row of the cost table. */
export interface RunCostRow {
  readonly runId: string;
  /** `[n]` (execution count) or `#n` (place). */
  readonly tag: string;
  readonly label: string;
  readonly state: RunRecord['state'];
  readonly backend?: string;
  readonly planned: number;
  readonly counts: RunCounts;
  readonly attempts: number;
  readonly coldStarts: number;
  readonly billedMs: number;
  readonly initBilledMs: number;
  readonly cost: CostSplit;
  readonly estimateUsd?: number;
  readonly budgetUsd?: number;
  /** Whether it cost its `--budget` or more. */
  readonly overBudget: boolean;
  readonly durationMs?: number;
  /** The row's text, formatted as `%serverless cost` formats it. */
  readonly cells: {
    readonly invocations: string;
    readonly billed: string;
    readonly compute: string;
    readonly init: string;
    readonly requests: string;
    readonly storage: string;
    readonly total: string;
    readonly estimate: string;
    readonly budget: string;
    readonly duration: string;
  };
}

/** What the cost view draws. */
export interface CostShape {
  /** True before anything was billed. */
  readonly empty: boolean;
  /** The cumulative series, as columns (epoch ms, USD). */
  readonly time: number[];
  readonly compute: number[];
  readonly init: number[];
  readonly requests: number[];
  readonly storage: number[];
  readonly total: number[];
  /** The kernel's totals now. */
  readonly totals: CostSplit & { invocations: number };
  /** The warning threshold as a horizontal line, when set. */
  readonly budget: { usd: number; reached: boolean } | null;
  /** Whether the history misses its oldest events (the series then starts late). */
  readonly truncated: boolean;
  readonly rows: RunCostRow[];
}

/** Options of {@link costShape}. */
export interface CostOptions {
  /** The budget warning, USD (null or absent: none). */
  budgetUsd?: number | null;
  /** Epoch ms to extend the series to (the last totals held until now). */
  now?: number;
  /**
   * The plot's pixel columns: a longer series keeps about one point per
   * column (the last of each, so every point kept is exact: a step drawn
   * from it is off by less than a pixel), the first and the last. None by
   * default: every point.
   */
  columns?: number;
}

/** Shapes the cost of `state`. */
export function costShape(state: TelemetryState, options: CostOptions = {}): CostShape {
  const points = state.costSeries;
  const time: number[] = [];
  const compute: number[] = [];
  const init: number[] = [];
  const requests: number[] = [];
  const storage: number[] = [];
  const total: number[] = [];
  const push = (t: number, p: CostSplit) => {
    time.push(t);
    compute.push(p.computeUsd);
    init.push(p.initUsd);
    requests.push(p.requestUsd);
    storage.push(p.storageUsd);
    total.push(p.totalUsd);
  };
  // From zero at the first event, unless the history lost its beginning.
  const first = state.firstTime;
  if (points.length > 0 && state.truncated === 0 && first !== undefined && first < points[0].time) {
    push(first, ZERO);
  }
  for (const point of points) {
    push(point.time, point);
  }
  const last = points[points.length - 1];
  if (last && options.now !== undefined && options.now > last.time) {
    push(options.now, last);
  }
  const totals = state.totals;
  const budgetUsd = options.budgetUsd;
  const keep = thinned(time, options.columns);
  const pick = (column: number[]) => (keep ? keep.map((i) => column[i]) : column);
  return {
    empty: points.length === 0,
    time: pick(time),
    compute: pick(compute),
    init: pick(init),
    requests: pick(requests),
    storage: pick(storage),
    total: pick(total),
    totals: {
      computeUsd: totals.computeUsd,
      initUsd: totals.initUsd,
      requestUsd: totals.requestUsd,
      storageUsd: totals.storageUsd,
      totalUsd: totals.totalUsd,
      invocations: totals.invocations,
    },
    budget:
      budgetUsd !== undefined && budgetUsd !== null && budgetUsd > 0
        ? { usd: budgetUsd, reached: totals.totalUsd >= budgetUsd }
        : null,
    truncated: state.truncated > 0,
    rows: runCostRows(state),
  };
}

/**
 * The indexes of `time` (ascending) to keep for about one point per column
 * of `columns`: the first, the last, and the last of each column; null when
 * all fit.
 */
export function thinned(time: readonly number[], columns: number | undefined): number[] | null {
  const n = time.length;
  if (columns === undefined || n <= Math.max(2, columns)) {
    return null;
  }
  const start = time[0];
  const width = (time[n - 1] - start) / Math.max(1, columns);
  if (!(width > 0)) {
    return [0, n - 1];
  }
  const column = (i: number) => Math.floor((time[i] - start) / width);
  const keep = [0];
  for (let i = 1; i < n - 1; i++) {
    if (column(i) !== column(i + 1)) {
      keep.push(i);
    }
  }
  keep.push(n - 1);
  return keep;
}

const ZERO: CostSplit = { computeUsd: 0, initUsd: 0, requestUsd: 0, storageUsd: 0, totalUsd: 0 };

/** A row per cell run, in the order they started. */
export function runCostRows(state: TelemetryState): RunCostRow[] {
  const rows: RunCostRow[] = [];
  let place = 0;
  for (const run of state.runs.values()) {
    place += 1;
    const { cost, counts } = run;
    const overBudget = run.budgetUsd !== undefined && cost.totalUsd >= run.budgetUsd;
    const invocations = run.planned > 0 ? `${counts.done}/${run.planned}` : `${counts.done}`;
    rows.push({
      runId: run.runId,
      tag: runTag(run, place),
      label: run.label,
      state: run.state,
      backend: run.backend,
      planned: run.planned,
      counts,
      attempts: run.attempts,
      coldStarts: run.coldStarts,
      billedMs: run.billedMs,
      initBilledMs: run.initBilledMs,
      cost,
      estimateUsd: run.estimateUsd,
      budgetUsd: run.budgetUsd,
      overBudget,
      durationMs: run.durationMs,
      cells: {
        invocations,
        billed: `${run.billedMs + run.initBilledMs} ms`,
        compute: formatUsd(cost.computeUsd),
        init: formatUsd(cost.initUsd),
        requests: formatUsd(cost.requestUsd),
        storage: formatUsd(cost.storageUsd),
        total: formatUsd(cost.totalUsd),
        estimate: run.estimateUsd !== undefined ? formatUsd(run.estimateUsd) : '',
        budget: run.budgetUsd !== undefined ? formatUsd(run.budgetUsd) : '',
        duration: run.durationMs !== undefined ? formatMs(run.durationMs) : '',
      },
    });
  }
  return rows;
}
