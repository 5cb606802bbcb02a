/**
 * The memory tuner's decisions (`%%serverless --tune`), apart from running
 * anything: what each memory size of the grid would cost and take, from
 * what was measured (profiles.ts predicts the sizes never run), which size
 * is picked for a goal and a deadline, and which size must be run to know
 * whether it fits in its memory (out-of-memory is found by running, never
 * predicted away).
 */
import { alikeRunPico, picoToUsd } from './meter';
import type { Prediction } from './profiles';
import type { Arch, PriceTable } from './prices';

/** What the tuner optimizes. */
export type TuneGoal = 'cost' | 'speed' | 'balanced';

/** The goals, for option parsers and messages. */
export const TUNE_GOALS: readonly TuneGoal[] = ['cost', 'speed', 'balanced'];

/** The memory sizes tuned without `--memory LIST` (DESIGN.md). */
export const DEFAULT_TUNE_SIZES: readonly number[] = [128, 512, 1024, 1769, 3008];

/**
 * A size whose predicted peak memory is above this share of it may not fit:
 * it is run before it can be picked.
 */
export const MEMORY_HEADROOM = 0.8;

/** What running the sample at one size showed. */
export type SizeRun = 'ok' | 'out-of-memory' | 'timeout';

/** What the tuner knows of one memory size. */
export interface TuneRow {
  memoryMb: number;
  /**
   * `measured`: the sample ran at this size; `modelled`: predicted from a
   * run at another size; `out-of-memory` and `timeout`: it ran out of
   * memory or time at this size or, for a smaller one, at a bigger size
   * (`found` says which), or its predicted duration is over --timeout.
   */
  status: 'measured' | 'modelled' | 'out-of-memory' | 'timeout';
  /** How it is known, in words (for the table). */
  how: string;
  /** Predicted billed ms per invocation (Lambda's clock). */
  perInvocationMs?: number;
  /** Predicted wall time of the whole run, ms. */
  runMs?: number;
  /** Predicted cost of the whole run, USD. */
  costUsd?: number;
  /** The highest peak memory seen in the runs it is predicted from, MB. */
  peakMb?: number;
  /** Modelled, and its predicted peak is too close to its memory to be sure it fits: run it before picking it. */
  unsure?: boolean;
}

/** The shape of the run being tuned. */
export interface TunedRun {
  /** Invocations of the full run (elements of a map, or 1). */
  invocations: number;
  concurrency: number;
  timeoutS: number;
  /** Cold starts the run pays for and their INIT ms (measured in the sample), if any. */
  initMs?: number;
}

/** Prices and architecture the tuner bills with. */
export interface TunePricing {
  prices: PriceTable;
  arch: Arch;
}

/**
 * Builds the row of one size from the runs at every size (`runs`: what
 * running the sample showed at the sizes it ran at) and the prediction for
 * it (from the nearest size that ran without failing).
 */
export function tuneRow(
  memoryMb: number,
  runs: ReadonlyMap<number, SizeRun>,
  prediction: Prediction | undefined,
  run: TunedRun,
  pricing: TunePricing,
): TuneRow {
  const failed = failureAt(memoryMb, runs);
  if (failed) {
    return failed;
  }
  if (!prediction) {
    return { memoryMb, status: 'modelled', how: 'no run to predict from', unsure: true };
  }
  const perInvocationMs = prediction.perInvocationMs;
  const measured = runs.get(memoryMb) === 'ok';
  const base = {
    memoryMb,
    perInvocationMs,
    ...(prediction.peakMb === undefined ? {} : { peakMb: prediction.peakMb }),
  };
  if (perInvocationMs > run.timeoutS * 1000) {
    return {
      ...base,
      status: 'timeout',
      how: `predicted over --timeout ${run.timeoutS} s (from ${prediction.fromMemoryMb} MB)`,
    };
  }
  const { runMs, costUsd } = runFigures(perInvocationMs, memoryMb, run, pricing);
  if (measured) {
    return {
      ...base,
      status: 'measured',
      how: `ran here (${prediction.samples} invocation${prediction.samples === 1 ? '' : 's'})`,
      runMs,
      costUsd,
    };
  }
  const fitsBelow = [...runs].some(([size, result]) => result === 'ok' && size < memoryMb);
  const unsure =
    !fitsBelow && (prediction.peakMb === undefined || prediction.peakMb > memoryMb * MEMORY_HEADROOM);
  return {
    ...base,
    status: 'modelled',
    how: `modelled from ${prediction.fromMemoryMb} MB`,
    runMs,
    costUsd,
    ...(unsure ? { unsure } : {}),
  };
}

/** The row of a size that ran out of memory or time, itself or (for a smaller size) a bigger one; undefined otherwise. */
function failureAt(memoryMb: number, runs: ReadonlyMap<number, SizeRun>): TuneRow | undefined {
  const here = runs.get(memoryMb);
  if (here === 'out-of-memory' || here === 'timeout') {
    return { memoryMb, status: here, how: `${here === 'timeout' ? 'timed out' : 'ran out of memory'} here` };
  }
  // Less memory never fits what more did not, nor runs faster on Lambda.
  const bigger = [...runs]
    .filter(([size, result]) => size > memoryMb && result !== 'ok')
    .sort(([a], [b]) => a - b)[0];
  if (bigger) {
    const [size, result] = bigger;
    return {
      memoryMb,
      status: result === 'timeout' ? 'timeout' : 'out-of-memory',
      how: `${result === 'timeout' ? 'timed out' : 'ran out of memory'} at ${size} MB`,
    };
  }
  return undefined;
}

/** The wall time and cost of the whole run at `perInvocationMs` per invocation. */
function runFigures(
  perInvocationMs: number,
  memoryMb: number,
  run: TunedRun,
  { prices, arch }: TunePricing,
): { runMs: number; costUsd: number } {
  const waves = Math.ceil(run.invocations / run.concurrency);
  // A cold start per concurrency slot.
  const coldStarts = run.initMs === undefined ? undefined : { count: run.concurrency, initMs: run.initMs };
  const pico = alikeRunPico(
    { invocations: run.invocations, perInvocationMs, memoryMb, coldStarts },
    prices,
    arch,
  );
  return { runMs: waves * perInvocationMs + (run.initMs ?? 0), costUsd: picoToUsd(pico) };
}

/** A row that can be picked: it fits (as far as is known) and finishes within --timeout. */
export type Candidate = TuneRow & { runMs: number; costUsd: number };

function isCandidate(row: TuneRow): row is Candidate {
  return (
    (row.status === 'measured' || row.status === 'modelled') &&
    row.runMs !== undefined &&
    row.costUsd !== undefined
  );
}

/** Candidates within this share of the best by the goal's measure count as equal to it: the other measure decides. */
export const TUNE_TIE = 0.01;

/**
 * The best candidate for a goal: the cheapest (`cost`), the fastest
 * (`speed`), or the lowest sum of cost and time each relative to the best
 * of them (`balanced`, as AWS Lambda Power Tuning's balanced strategy).
 * Among those within {@link TUNE_TIE} of the best, the fastest (for cost)
 * or the cheapest (otherwise), then the smallest.
 */
export function bestCandidate<R extends Candidate>(rows: readonly R[], goal: TuneGoal): R {
  const minCost = Math.min(...rows.map((r) => r.costUsd));
  const minTime = Math.min(...rows.map((r) => r.runMs));
  const primary = (r: Candidate): number =>
    goal === 'cost' ? r.costUsd : goal === 'speed' ? r.runMs : r.costUsd / minCost + r.runMs / minTime;
  const secondary = (r: Candidate): number => (goal === 'cost' ? r.runMs : r.costUsd);
  const best = Math.min(...rows.map(primary));
  const near = rows.filter((r) => primary(r) <= best * (1 + TUNE_TIE));
  return near.reduce((a, b) =>
    secondary(b) < secondary(a) || (secondary(b) === secondary(a) && b.memoryMb < a.memoryMb) ? b : a,
  );
}

/** The tuner's choice. */
export interface TunePick {
  /** The picked row; undefined when no size can run the body (out of memory or time everywhere). */
  row?: TuneRow;
  /** Whether the pick meets the deadline (true without one). */
  meetsDeadline: boolean;
  /** Why this size, in one sentence. */
  reason: string;
}

/**
 * Picks the best size for `goal` among those known to fit (`unsure` ones
 * excluded) that meet the deadline; when none meets it, the fastest.
 */
export function pickSize(rows: readonly TuneRow[], goal: TuneGoal, deadlineMs?: number): TunePick {
  const sure = rows.filter(isCandidate).filter((r) => !r.unsure);
  if (sure.length === 0) {
    return {
      meetsDeadline: false,
      reason: 'No size of the grid runs the body: each ran out of memory or time.',
    };
  }
  const inTime = deadlineMs === undefined ? sure : sure.filter((r) => r.runMs <= deadlineMs);
  if (inTime.length === 0) {
    const fastest = bestCandidate(sure, 'speed');
    return {
      row: fastest,
      meetsDeadline: false,
      reason:
        `No size meets the deadline of ${seconds(deadlineMs ?? 0)}: the fastest, ${fastest.memoryMb} MB, ` +
        `takes ~${seconds(fastest.runMs)}.`,
    };
  }
  const best = bestCandidate(inTime, goal);
  const within = deadlineMs === undefined ? '' : ` within the deadline of ${seconds(deadlineMs)}`;
  const why =
    goal === 'cost'
      ? `the cheapest${within}`
      : goal === 'speed'
        ? `the fastest${within} (the cheapest of the equally fast)`
        : `the best balance of cost and time${within}`;
  return { row: best, meetsDeadline: true, reason: `${best.memoryMb} MB is ${why}.` };
}

/**
 * The size to run next, or undefined when the pick is settled: among the
 * `unsure` sizes (modelled close to or over their memory) that would beat
 * the current pick, the middle one (so each run halves them: a size that
 * fits clears every bigger one, one that runs out condemns every smaller one).
 */
export function nextProbe(rows: readonly TuneRow[], goal: TuneGoal, deadlineMs?: number): number | undefined {
  const pick = pickSize(rows, goal, deadlineMs);
  const unsure = rows
    .filter(isCandidate)
    .filter((r) => r.unsure && (deadlineMs === undefined || r.runMs <= deadlineMs));
  const better = unsure.filter(
    (r) => !pick.row || !isCandidate(pick.row) || bestCandidate([r, pick.row], goal) === r,
  );
  if (better.length === 0) {
    return undefined;
  }
  better.sort((a, b) => a.memoryMb - b.memoryMb);
  return better[Math.floor(better.length / 2)].memoryMb;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}
