/**
 * What the side panel knows about a kernel's serverless work: the telemetry
 * events folded (by {@link foldEvents} in `./fold`) into runs, invocations,
 * execution environments, a cost series, exchanges (per round and edge) and
 * train() calls (per epoch). States are
 * immutable snapshots: a fold returns a new state and shares every part the
 * events did not touch.
 */
import type { CostSplit as BillSplit, InvocationStatus, RunStatus } from '../telemetry';
import type { ExchangeRecord } from './exchange-state';
export type { TrainingLimits, TrainingRecord } from './training-state';
import type { TrainingRecord } from './training-state';

export type {
  ExchangeEdge,
  ExchangeLimits,
  ExchangeRecord,
  ExchangeWorker,
  RoundBin,
  TrafficSums,
} from './exchange-state';

/** The state of one attempt: `running` until its finished event. */
export type AttemptState = 'running' | InvocationStatus;

/**
 * The state of an invocation: `queued` before its first attempt starts;
 * `retried` while it waits for the attempt after a crash; otherwise the state
 * of its latest attempt. An invocation still queued or running when its run
 * finished is `cancelled`.
 */
export type InvocationState = 'queued' | AttemptState;

/** The state of a run: `running` until its finished event. */
export type RunState = 'running' | RunStatus;

/** An error as the kernel reports it. */
export interface TelemetryError {
  readonly name: string;
  readonly message: string;
}

/** One attempt of an invocation, on one execution environment. */
export interface AttemptRecord {
  /** 1-based. */
  readonly attempt: number;
  readonly environmentId: string;
  readonly cold: boolean;
  readonly memoryMb: number;
  /** INIT ms of a cold start (0 when warm). */
  readonly initMs: number;
  /**
   * Epoch ms of the started event (the INIT phase ends then); for an attempt
   * seen only finished (a truncated history), its end minus its duration.
   */
  readonly startTime: number;
  /** Epoch ms of the finished event (or of the run's end, for an attempt cut short). */
  readonly endTime?: number;
  readonly state: AttemptState;
  /** ms the program ran, once finished (this machine's clock on the embedded runtime). */
  readonly durationMs?: number;
  /** CPU ms it used, when measured. */
  readonly cpuMs?: number;
  /** Its Lambda-equivalent duration, ms, when the embedded runtime modelled Lambda's CPU share (what it was billed on). */
  readonly lambdaMs?: number;
  readonly billedMs: number;
  readonly initBilledMs: number;
  readonly costUsd: number;
  readonly error?: TelemetryError;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** One invocation (one element with `--map`) and its attempts. */
export interface InvocationRecord {
  readonly id: string;
  readonly runId: string;
  /** The element index with `--map`. */
  readonly index?: number;
  /** Epoch ms of the queued event. */
  readonly queuedTime?: number;
  /** Epoch ms when it reached a final state. */
  readonly endTime?: number;
  readonly state: InvocationState;
  /** Ordered by attempt number. */
  readonly attempts: readonly AttemptRecord[];
  /** Sums over the attempts. */
  readonly billedMs: number;
  readonly initBilledMs: number;
  readonly costUsd: number;
  /**
   * What code the invocation left behind threw after it ended, taking its
   * environment down (its own outcome stands).
   */
  readonly lateError?: { readonly name: string; readonly message: string };
}

/** Costs in USD split the way the kernel bills them (the protocol's split, read-only). */
export type CostSplit = Readonly<BillSplit>;

/** How many of a run's invocations are in each state. */
export interface RunCounts {
  /** Waiting for their first attempt, or for the next one after a crash. */
  readonly queued: number;
  readonly running: number;
  readonly done: number;
  /** error, timeout, out-of-memory or crashed. */
  readonly failed: number;
  readonly cancelled: number;
}

/** One `%%serverless` cell run. */
export interface RunRecord {
  readonly runId: string;
  /** The cell's first line (the run id for a run whose start was truncated away). */
  readonly label: string;
  readonly executionCount?: number;
  readonly backend?: string;
  readonly memoryMb?: number;
  readonly timeoutS?: number;
  readonly concurrency?: number;
  /** Invocations planned (0 when the start was not seen). */
  readonly planned: number;
  readonly estimateUsd?: number;
  readonly budgetUsd?: number;
  /** Whether its run-started event was seen (else its record was made from later events). */
  readonly started: boolean;
  readonly state: RunState;
  /** Epoch ms of its first event. */
  readonly startTime: number;
  readonly endTime?: number;
  /** As the kernel measured it, once finished. */
  readonly durationMs?: number;
  /** Ids of its invocations, in the order first seen (none once pruned, see `./prune`). */
  readonly invocationIds: readonly string[];
  /** Invocations whose records were dropped to keep the state bounded (their run's counts and cost stay). */
  readonly prunedInvocations: number;
  readonly counts: RunCounts;
  /** Attempts started, and how many of them were cold starts. */
  readonly attempts: number;
  readonly coldStarts: number;
  readonly billedMs: number;
  readonly initBilledMs: number;
  /**
   * Its cost: the sum of its attempts' bills while it runs; once finished,
   * the kernel's bill of the run (storage included).
   */
  readonly cost: CostSplit;
}

/** The attempts an execution environment ran, in order. */
export interface EnvironmentRecord {
  readonly id: string;
  /** Epoch ms of its first attempt (its INIT included). */
  readonly firstTime: number;
  readonly attempts: readonly AttemptRef[];
}

/** Points to an attempt of an invocation. */
export interface AttemptRef {
  readonly invocationId: string;
  readonly attempt: number;
}

/** The kernel's cumulative cost at a time. */
export interface CostPoint extends CostSplit {
  readonly seq: number;
  readonly time: number;
  /** Attempts billed so far. */
  readonly invocations: number;
  /**
   * True at a cost-totals event (the kernel ledger's totals, storage
   * included); false at a billed attempt (the point before plus its bill).
   */
  readonly fromLedger: boolean;
}

/** Everything the panel knows about a kernel's telemetry. */
export interface TelemetryState {
  /** The `seq` of the last event folded (0 before any); events at or below it are skipped. */
  readonly lastSeq: number;
  /** Events the kernel dropped from its history before the replay (the state misses them). */
  readonly truncated: number;
  /** Epoch ms of the first and last events folded. */
  readonly firstTime?: number;
  readonly lastTime?: number;
  /** Runs by id, in the order they started. */
  readonly runs: ReadonlyMap<string, RunRecord>;
  /** Invocations by id, in the order first seen. */
  readonly invocations: ReadonlyMap<string, InvocationRecord>;
  /** Execution environments by id, in the order first used. */
  readonly environments: ReadonlyMap<string, EnvironmentRecord>;
  /** The kernel's cumulative cost after each billed attempt and each cost-totals event. */
  readonly costSeries: readonly CostPoint[];
  /** The cumulative cost now (the last point, or zeros). */
  readonly totals: CostPoint;
  /**
   * The exchanges of the cell runs, folded from their exchange-round events
   * (aggregates, bounded: see `./exchange-state`), by `exchangeKey(runId,
   * exchange)`, in the order first seen.
   */
  readonly exchanges: ReadonlyMap<string, ExchangeRecord>;
  /** Exchanges dropped (the oldest first) to keep the state bounded. */
  readonly droppedExchanges: number;
  /**
   * The train() calls, folded from their training-epoch events (bounded:
   * see `./training-state`), by `trainId`, in the order first seen.
   */
  readonly trainings: ReadonlyMap<string, TrainingRecord>;
  /** Train() calls dropped (the oldest first) to keep the state bounded. */
  readonly droppedTrainings: number;
}

const ZERO_TOTALS: CostPoint = {
  seq: 0,
  time: 0,
  invocations: 0,
  fromLedger: true,
  computeUsd: 0,
  initUsd: 0,
  requestUsd: 0,
  storageUsd: 0,
  totalUsd: 0,
};

/** A state with nothing folded; `truncated` as a replay reports it. */
export function emptyState(truncated = 0): TelemetryState {
  return {
    lastSeq: 0,
    truncated,
    runs: new Map(),
    invocations: new Map(),
    environments: new Map(),
    costSeries: [],
    totals: ZERO_TOTALS,
    exchanges: new Map(),
    droppedExchanges: 0,
    trainings: new Map(),
    droppedTrainings: 0,
  };
}
