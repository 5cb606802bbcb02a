/**
 * The invocations timeline as data: one row per execution environment (and
 * a queue row: one bar per cell run for its invocations that wait for their
 * first attempt, one per invocation its run cancelled in the queue), a bar
 * per attempt (and one for the INIT of a cold start), colored by state, and
 * a band per cell run. Bars come as one columnar series per state, so Plotly
 * draws 10,000 invocations as seven traces, not 10,000. Hover text is not
 * built here: each bar keeps its {@link BarSource}, and {@link barHover}
 * writes the text of the bars actually drawn (the figure caches it).
 */
import type { AttemptRecord, InvocationRecord, RunRecord, TelemetryState } from '../../model/state';
import { escapePlotly, formatMs, formatUsd, ITrans, NO_TRANS, oneLine, runTag } from './common';

/** The state a bar shows. */
export type BarState = 'queued' | 'cold' | 'running' | 'done' | 'failed' | 'retried' | 'cancelled';

/** How a bar state is drawn. */
export interface BarStyle {
  readonly state: BarState;
  /** `jp-serverless-Timeline-<state>` */
  readonly className: string;
  /** The JupyterLab theme variable of its color (Plotly needs the value: resolve it with getComputedStyle). */
  readonly colorVar: string;
}

function style(state: BarState, colorVar: string): BarStyle {
  return { state, className: `jp-serverless-Timeline-${state}`, colorVar };
}

/** The bar states, in legend order. */
export const BAR_STYLES: readonly BarStyle[] = [
  style('queued', '--jp-border-color1'),
  style('cold', '--jp-info-color1'),
  style('running', '--jp-brand-color1'),
  style('done', '--jp-success-color1'),
  style('failed', '--jp-error-color1'),
  style('retried', '--jp-warn-color1'),
  style('cancelled', '--jp-ui-font-color3'),
];

/** The legend name of a bar state. */
export function barLabel(state: BarState, trans: ITrans = NO_TRANS): string {
  switch (state) {
    case 'queued':
      return trans.__('queued');
    case 'cold':
      return trans.__('cold start');
    case 'running':
      return trans.__('running');
    case 'done':
      return trans.__('done');
    case 'failed':
      return trans.__('failed');
    case 'retried':
      return trans.__('retried');
    case 'cancelled':
      return trans.__('cancelled');
  }
}

/** The id of the row of invocations waiting for their first attempt. */
export const QUEUE_ROW = '(queue)';

/** A row of the timeline. */
export interface TimelineRow {
  /** An environment id, or {@link QUEUE_ROW}. */
  readonly id: string;
  readonly label: string;
  readonly kind: 'queue' | 'environment';
}

/** The bars of one state, as columns: bar `i` spans `start[i]`..`end[i]` on row `row[i]`. */
export interface TimelineSeries extends BarStyle {
  /** Its legend name. */
  readonly label: string;
  /** Epoch ms. */
  readonly start: number[];
  readonly end: number[];
  /** `end - start`, ms (a horizontal bar's length over `base: start`). */
  readonly duration: number[];
  /** Index into {@link TimelineShape.rows}. */
  readonly row: number[];
  /** What each bar shows (its hover text: {@link barHover}). */
  readonly source: BarSource[];
  /** The invocation of each bar; null for a run's bar of queued invocations. */
  readonly invocationId: (string | null)[];
  readonly runId: string[];
  /** The element index of each bar's invocation (`--map`), or -1. */
  readonly element: number[];
}

/**
 * What a bar stands for: an attempt (and the INIT of its cold start), an
 * invocation cancelled in the queue, or a run's invocations still queued.
 */
export type BarSource =
  | {
      readonly kind: 'attempt';
      readonly inv: InvocationRecord;
      readonly attempt: AttemptRecord;
      readonly run: RunRecord | undefined;
    }
  | {
      readonly kind: 'cancelled';
      readonly inv: InvocationRecord;
      readonly run: RunRecord | undefined;
      readonly start: number;
      readonly end: number;
    }
  | { readonly kind: 'queued'; readonly count: number; readonly tag: string };

/**
 * A key of a bar's hover text that changes when the text does, or null when
 * it changes with `now` (a running attempt): a cache of the text per key
 * stays right across redraws.
 */
export function hoverKey(source: BarSource): string | null {
  switch (source.kind) {
    case 'attempt':
      return source.attempt.state === 'running'
        ? null
        : `a\u0000${source.inv.id}\u0000${source.attempt.attempt}\u0000${source.attempt.state}` +
            (source.inv.lateError ? '\u0000late' : '');
    case 'cancelled':
      return `c\u0000${source.inv.id}`;
    case 'queued':
      return null;
  }
}

/** The hover markup of a bar at time `now` (escaped; lines joined with `<br>`). */
export function barHover(source: BarSource, now: number): string {
  switch (source.kind) {
    case 'attempt':
      return attemptHover(source.inv, source.attempt, source.run, now);
    case 'cancelled':
      return queueHover(source.inv, source.run, source.start, source.end);
    case 'queued':
      return `${source.count} queued (run ${escapePlotly(source.tag)})`;
  }
}

/** The time span of a cell run. */
export interface RunBand {
  readonly runId: string;
  /** `[n]` (execution count) or `#n` (place). */
  readonly tag: string;
  readonly label: string;
  readonly state: RunRecord['state'];
  readonly start: number;
  /** Its end, or `now` while it runs. */
  readonly end: number;
}

/** What the timeline view draws. */
export interface TimelineShape {
  readonly rows: TimelineRow[];
  /** One per {@link BAR_STYLES} entry, in that order (some may be empty). */
  readonly series: TimelineSeries[];
  readonly bands: RunBand[];
  /** Bars in all series. */
  readonly bars: number;
  /** The time span of the bars and bands, or null when there are none. */
  readonly range: [number, number] | null;
  /** The time it was shaped at (running and queued bars end there). */
  readonly now: number;
}

/** Options of {@link timelineShape}. */
export interface TimelineOptions {
  /** Epoch ms that running and queued bars end at. */
  now: number;
  /** Only this run's invocations (and the environments they used). */
  runId?: string;
  /** Translates the legend and row names. */
  trans?: ITrans;
}

/** Where an attempt's bar goes. */
function attemptBar(attempt: AttemptRecord): BarState {
  switch (attempt.state) {
    case 'running':
      return 'running';
    case 'ok':
      return 'done';
    case 'retried':
      return 'retried';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'failed';
  }
}

const ERROR_WIDTH = 200;

function head(inv: InvocationRecord, run: RunRecord | undefined): string[] {
  const element = inv.index !== undefined ? ` · element ${inv.index}` : '';
  return [
    `<b>${escapePlotly(inv.id)}</b>${element}`,
    `run: ${escapePlotly(oneLine(run?.label ?? inv.runId, 80))}`,
  ];
}

/**
 * Both clocks of an attempt the embedded runtime ran on Lambda's CPU share:
 * how long it ran here (and on the CPU), and how long on Lambda's clock.
 */
function clocksLine(attempt: AttemptRecord): string | undefined {
  if (attempt.durationMs === undefined || attempt.lambdaMs === undefined) {
    return undefined;
  }
  const cpu = attempt.cpuMs !== undefined ? ` (${formatMs(attempt.cpuMs)} on the CPU)` : '';
  return (
    `ran ${formatMs(attempt.durationMs)} here${cpu} · ${formatMs(attempt.lambdaMs)} ` +
    `on a ${attempt.memoryMb} MB Lambda's share of a vCPU`
  );
}

function attemptHover(
  inv: InvocationRecord,
  attempt: AttemptRecord,
  run: RunRecord | undefined,
  now: number,
): string {
  const lines = head(inv, run);
  const tries = inv.attempts.length > 1 || attempt.attempt > 1 ? ` · attempt ${attempt.attempt}` : '';
  const start = attempt.cold ? `cold start, INIT ${formatMs(attempt.initMs)}` : 'warm';
  lines.push(`env: ${escapePlotly(attempt.environmentId)} · ${start}${tries}`);
  if (attempt.state === 'running') {
    lines.push(`${attempt.memoryMb} MB · running for ${formatMs(Math.max(0, now - attempt.startTime))}`);
  } else {
    const init = attempt.initBilledMs > 0 ? ` + INIT ${attempt.initBilledMs} ms` : '';
    lines.push(
      `${attempt.memoryMb} MB · billed ${attempt.billedMs} ms${init} · ${formatUsd(attempt.costUsd)}`,
    );
    const clocks = clocksLine(attempt);
    if (clocks) {
      lines.push(clocks);
    }
  }
  const error = attempt.error
    ? ` · ${oneLine(`${attempt.error.name}: ${attempt.error.message}`, ERROR_WIDTH)}`
    : '';
  lines.push(`state: ${attempt.state}${escapePlotly(error)}`);
  const last = inv.attempts[inv.attempts.length - 1] === attempt;
  if (inv.lateError && last) {
    // Code it left behind failed after it returned, and took its environment down.
    const late = oneLine(`${inv.lateError.name}: ${inv.lateError.message}`, ERROR_WIDTH);
    lines.push(`after it returned: ${escapePlotly(late)} (environment replaced)`);
  }
  return lines.join('<br>');
}

function queueHover(inv: InvocationRecord, run: RunRecord | undefined, start: number, end: number): string {
  const lines = head(inv, run);
  lines.push(`cancelled after ${formatMs(end - start)} in the queue`);
  return lines.join('<br>');
}

/** Shapes the timeline of `state` at time `now`. */
export function timelineShape(state: TelemetryState, options: TimelineOptions): TimelineShape {
  const { now, runId } = options;
  const trans = options.trans ?? NO_TRANS;
  const series = BAR_STYLES.map((s): TimelineSeries => ({
    ...s,
    label: barLabel(s.state, trans),
    start: [],
    end: [],
    duration: [],
    row: [],
    source: [],
    invocationId: [],
    runId: [],
    element: [],
  }));
  const byState = new Map(series.map((s) => [s.state, s]));
  const rows: TimelineRow[] = [];
  const rowOf = new Map<string, number>();
  let min = Infinity;
  let max = -Infinity;
  let bars = 0;

  const rowIndex = (id: string, kind: TimelineRow['kind']): number => {
    let index = rowOf.get(id);
    if (index === undefined) {
      index = rows.length;
      rows.push({ id, label: kind === 'queue' ? trans.__('queue') : id, kind });
      rowOf.set(id, index);
    }
    return index;
  };
  const add = (
    bar: BarState,
    row: number,
    start: number,
    end: number,
    source: BarSource,
    inv: InvocationRecord,
  ) => {
    const s = byState.get(bar) as TimelineSeries;
    const stop = Math.max(start, end);
    s.start.push(start);
    s.end.push(stop);
    s.duration.push(stop - start);
    s.row.push(row);
    s.source.push(source);
    s.invocationId.push(source.kind === 'queued' ? null : inv.id);
    s.runId.push(inv.runId);
    s.element.push(inv.index ?? -1);
    min = Math.min(min, start);
    max = Math.max(max, stop);
    bars += 1;
  };

  // The queue row first, when anything waits (or waited in vain); then environments, in order of first use.
  const waiting = [...state.invocations.values()].filter(
    (inv) => inv.attempts.length === 0 && inv.queuedTime !== undefined && (!runId || inv.runId === runId),
  );
  if (waiting.length > 0) {
    rowIndex(QUEUE_ROW, 'queue');
  }
  for (const env of state.environments.values()) {
    if (!runId || env.attempts.some((ref) => state.invocations.get(ref.invocationId)?.runId === runId)) {
      rowIndex(env.id, 'environment');
    }
  }

  // Still queued: one bar per run, from its earliest queued invocation to now (its first one stands for it).
  const queuedByRun = new Map<string, { first: InvocationRecord; start: number; count: number }>();
  for (const inv of waiting) {
    const start = inv.queuedTime as number;
    if (inv.state === 'cancelled') {
      const end = inv.endTime ?? now;
      add(
        'cancelled',
        0,
        start,
        end,
        { kind: 'cancelled', inv, run: state.runs.get(inv.runId), start, end },
        inv,
      );
      continue;
    }
    const group = queuedByRun.get(inv.runId);
    if (!group) {
      queuedByRun.set(inv.runId, { first: inv, start, count: 1 });
    } else {
      group.count += 1;
      group.start = Math.min(group.start, start);
    }
  }
  if (queuedByRun.size > 0) {
    const places = runPlaces(state);
    for (const [id, group] of queuedByRun) {
      const tag = runTag(state.runs.get(id), places.get(id) ?? 0);
      add('queued', 0, group.start, now, { kind: 'queued', count: group.count, tag }, group.first);
    }
  }
  for (const inv of state.invocations.values()) {
    if (inv.attempts.length === 0 || (runId && inv.runId !== runId)) {
      continue;
    }
    const run = state.runs.get(inv.runId);
    for (const attempt of inv.attempts) {
      const row = rowIndex(attempt.environmentId, 'environment');
      const source: BarSource = { kind: 'attempt', inv, attempt, run };
      if (attempt.cold && attempt.initMs > 0) {
        add('cold', row, attempt.startTime - attempt.initMs, attempt.startTime, source, inv);
      }
      add(attemptBar(attempt), row, attempt.startTime, attempt.endTime ?? now, source, inv);
    }
  }

  const bands: RunBand[] = [];
  let place = 0;
  for (const run of state.runs.values()) {
    place += 1;
    if (runId && run.runId !== runId) {
      continue;
    }
    const end = run.endTime ?? now;
    bands.push({
      runId: run.runId,
      tag: runTag(run, place),
      label: run.label,
      state: run.state,
      start: run.startTime,
      end,
    });
    min = Math.min(min, run.startTime);
    max = Math.max(max, end);
  }
  return { rows, series, bands, bars, range: min <= max ? [min, max] : null, now };
}

/** The place (1-based, in start order) of each run, for its `#n` tag. */
function runPlaces(state: TelemetryState): Map<string, number> {
  const places = new Map<string, number>();
  for (const run of state.runs.values()) {
    places.set(run.runId, places.size + 1);
  }
  return places;
}
