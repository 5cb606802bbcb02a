/**
 * The options of `%%serverless`, their limits and defaults. Limits follow
 * AWS Lambda's (memory 128-10,240 MB, timeout up to 900 s) so that a cell
 * that runs on the embedded runtime also runs on Lambda.
 */

import type { CpuModel } from '../cost/cpu-share';
import type { TuneGoal } from '../cost/tuning';

/** Where invocations run. */
export type BackendName = 'local' | 'lambda';

/** Parsed `%%serverless` options. */
export interface ServerlessCellOptions {
  backend: BackendName;
  /** Configured memory per invocation, MB (also the price basis). */
  memoryMb: number;
  /** Per-invocation timeout, seconds. */
  timeoutS: number;
  /** Invocations running at once. */
  concurrency: number;
  /** Retries of crashed invocations (never of errors thrown by user code). */
  retries: number;
  /** Expression evaluated in the kernel; the body runs once per element. */
  map?: string;
  /** Most elements `--map` reads from its expression (each is one invocation). */
  maxElements: number;
  /**
   * Name the element is bound to in the body (with --map); absent, it is
   * DEFAULT_ELEMENT_NAME, and the body must use that name.
   */
  as?: string;
  /** Kernel variable that receives the cell's value. */
  out?: string;
  /** Refuse or stop the run past this spend, USD. */
  budgetUsd?: number;
  /** Estimate time and cost, invoke nothing. */
  dryRun: boolean;
  /**
   * Glob of files (relative to the notebook's directory) shipped read-only
   * into every invocation's working directory.
   */
  files?: string;
  /**
   * Streamed output (stdout and stderr) kept per invocation, MB; the rest
   * is dropped and counted. Absent: LIMITS.outputCapMb.default.
   */
  outputCapMb?: number;
  /** The store URL of the exchange and models (`--store`); absent: the embedded store. */
  store?: string;
  /**
   * Whose clock the embedded runtime bills and times out on (`--cpu`):
   * Lambda's CPU share of `memoryMb` (the default) or this machine's. The
   * Lambda backend bills what Lambda reports, whatever this says.
   */
  cpu: CpuModel;
  /** `--tune`: profile the body at some of these memory sizes and pick one; nothing else runs. */
  tune?: TuneOptions;
}

/**
 * The clock the embedded runtime keeps for a cell: its `--cpu`; none on
 * Lambda, whose own REPORT is the truth.
 */
export function embeddedClock(options: Pick<ServerlessCellOptions, 'backend' | 'cpu'>): CpuModel | undefined {
  return options.backend === 'local' ? options.cpu : undefined;
}

/** What `--tune` compares and picks for. */
export interface TuneOptions {
  /** The memory sizes compared, MB, ascending. */
  memoryMb: number[];
  goal: TuneGoal;
  /** The whole run must finish within this many seconds. */
  deadlineS?: number;
}

/** Limits and defaults, named so messages and docs quote the same numbers. */
export const LIMITS = {
  memoryMb: { min: 128, max: 10_240, default: 1024 },
  timeoutS: { min: 1, max: 900, default: 60 },
  concurrency: { min: 1, max: 1000, default: 8 },
  retries: { min: 0, max: 10, default: 2 },
  /**
   * Elements of one `--map`: each is an invocation, planned and serialized
   * in the kernel before the first is dispatched, so an endless iterable must
   * stop somewhere.
   */
  maxElements: { min: 1, max: 10_000_000, default: 100_000 },
  outputCapMb: { min: 1, max: 1024, default: 5 },
} as const;

/** The element name when --map is given without --as. */
export const DEFAULT_ELEMENT_NAME = 'item';
