/**
 * The telemetry protocol between the kernel and the side panel, over the comm
 * target {@link TELEMETRY_TARGET}: the types of events, messages and
 * requests. These declarations are the one source of the protocol: the guards
 * in `./guards` are checked against them by the compiler. No Node imports:
 * the JupyterLab extension loads this folder in the browser, as
 * `serverless-kernel/telemetry`.
 *
 * Every event carries `seq` (1, 2, 3... per kernel, never reused) and `time`
 * (epoch ms). Optional fields are absent, never `undefined` or `null`, so an
 * event reads the same before and after JSON.
 *
 * Kernel -> frontend: {@link EventsMessage} batches of live events, sent to
 * every open comm from the moment it opens; {@link ReplayMessage}, the whole
 * kept history, sent when a comm asks. Events batched before a replay are
 * sent before it, so a panel replaces its state with a replay and then applies
 * only events whose `seq` is above the replay's last.
 * Frontend -> kernel: {@link TelemetryRequest}s.
 */

/** The comm target name. */
export const TELEMETRY_TARGET = 'jupyter.serverless.telemetry';

/**
 * Version of this protocol, carried by every kernel -> frontend message.
 * 2: attempts and runs carry their bill's parts (`bill`) instead of a bare
 * `costUsd`.
 * 3: `exchange-round` is one worker's part of a round, with its strategy,
 * codec, raw bytes, requests, storage cost and graph edges.
 * 4: `training-epoch`, one per finished epoch of a `train()` call (a
 * frontend that does not know it skips it, as any unknown event type).
 * 5: `invocation-finished` carries the attempt's CPU time and its
 * Lambda-equivalent duration (`cpuMs`, `lambdaMs`) when measured, and
 * `run-started` the clock the run is billed on (`cpu`).
 */
export const TELEMETRY_PROTOCOL_VERSION = 5;

/** Fields every event has. */
export type EventStamp = {
  /** Monotonic per kernel, from 1. */
  seq: number;
  /** Epoch ms when the kernel emitted it. */
  time: number;
};

/**
 * What one attempt was billed, USD, part by part, as the kernel's meter
 * computed it (each part a whole number of pico-dollars, see `./money`).
 */
export interface AttemptCost {
  /** Invoke-phase duration. */
  computeUsd: number;
  /** INIT phase of a cold start. */
  initUsd: number;
  /** The per-request price (0 for an attempt that never ran). */
  requestUsd: number;
  /** The sum of the parts. */
  totalUsd: number;
}

/** Costs in USD split the way the bill is: an {@link AttemptCost}'s parts plus storage. */
export interface CostSplit extends AttemptCost {
  /** Object store requests and storage. */
  storageUsd: number;
}

/** The cost ledger's totals: its split, and how many attempts it billed. */
export interface CostTotals extends CostSplit {
  /** Attempts that ran, each billed as one request (retries included). */
  invocations: number;
}

/** A `%%serverless` cell run started dispatching. */
export type RunStartedEvent = EventStamp & {
  type: 'run-started';
  runId: string;
  /** What the run is called (the cell's first line). */
  label: string;
  /** The cell's execution count, when known. */
  executionCount?: number;
  /** Invocations planned. */
  invocations: number;
  memoryMb: number;
  timeoutS: number;
  concurrency: number;
  /** `local` or `lambda`. */
  backend: string;
  /** The estimate made before the run, USD. */
  estimateUsd?: number;
  /** The run's `--budget`, USD. */
  budgetUsd?: number;
  /**
   * The clock it is billed on: `lambda`, the embedded runtime's
   * Lambda-equivalent duration; `host`, this machine's; absent: the
   * platform's own (Lambda's REPORT).
   */
  cpu?: 'lambda' | 'host';
};

/** How a run ended. */
export type RunStatus = 'ok' | 'failed' | 'cancelled' | 'budget-stopped';

/** A run ended. */
export type RunFinishedEvent = EventStamp & {
  type: 'run-finished';
  runId: string;
  status: RunStatus;
  /** Invocations that succeeded, failed and were cancelled. */
  done: number;
  failed: number;
  cancelled: number;
  durationMs: number;
  /** What the run cost, as the kernel's ledger sums it (storage included). */
  bill: CostSplit;
};

/** An invocation entered the backend's queue. */
export type InvocationQueuedEvent = EventStamp & {
  type: 'invocation-queued';
  id: string;
  runId: string;
  /** The element index with `--map`; absent for a single invocation. */
  index?: number;
};

/** What identifies an attempt of an invocation, in its started and finished events. */
export type AttemptFields = {
  id: string;
  runId: string;
  index?: number;
  /** 1-based. */
  attempt: number;
  environmentId: string;
  cold: boolean;
  memoryMb: number;
};

/** An attempt of an invocation got an environment and started. */
export type InvocationStartedEvent = EventStamp &
  AttemptFields & {
    type: 'invocation-started';
    /** INIT ms of a cold start (0 when warm). */
    initMs: number;
  };

/**
 * How an attempt ended: the backend's attempt statuses, plus `retried` for an
 * attempt that crashed and is followed by another attempt of the same
 * invocation (a crash with no retry left is `crashed`).
 */
export type InvocationStatus =
  'ok' | 'error' | 'timeout' | 'out-of-memory' | 'crashed' | 'cancelled' | 'retried';

/** An attempt of an invocation ended (one event per attempt). */
export type InvocationFinishedEvent = EventStamp &
  AttemptFields & {
    type: 'invocation-finished';
    /** ms the program ran, on this machine's clock (on Lambda, as the runner measured it). */
    durationMs: number;
    /** CPU time the program used, ms, when measured. */
    cpuMs?: number;
    /**
     * Its Lambda-equivalent duration, ms (the embedded runtime under `--cpu
     * lambda`: `durationMs` with the CPU time stretched by the vCPU share of
     * `memoryMb`): what it was billed and timed out on.
     */
    lambdaMs?: number;
    /** Billed invoke ms and INIT ms. */
    billedMs: number;
    initBilledMs: number;
    /** What the attempt cost. */
    bill: AttemptCost;
    status: InvocationStatus;
    /** Absent when the status is `ok`. */
    error?: { name: string; message: string };
    bytesIn: number;
    bytesOut: number;
  };

/**
 * Code an invocation left behind after it ended (a timer, a promise) threw,
 * or ended its environment (`process.exit`): the environment died of it and
 * is replaced. Sent for the invocation that left the code behind, possibly
 * after its run finished; the invocation's own outcome stands.
 */
export type InvocationLateErrorEvent = EventStamp & {
  type: 'invocation-late-error';
  id: string;
  runId: string;
  index?: number;
  /** The attempt that left the code behind. */
  attempt: number;
  /** The environment that died of it. */
  environmentId: string;
  error: { name: string; message: string };
};

/** The kernel's cost totals so far. */
export type CostTotalsEvent = EventStamp & CostTotals & { type: 'cost-totals' };

/** How workers combine their vectors in an exchange (see exchange/collectives). */
export type ExchangeStrategy = 'allreduce' | 'scatter-reduce' | 'parameter-server';

/**
 * One edge of the exchange graph that a worker used in a round: the bytes it
 * sent towards `node` and received from it, through the store. Nodes are
 * `worker:<rank>` (a leader, or the owner of a scatter-reduce shard) and
 * `ps:<shard>` (a parameter-server shard): a leader all-reduce draws a star,
 * a scatter-reduce a mesh.
 */
export interface ExchangeLink {
  node: string;
  bytesUp: number;
  bytesDown: number;
}

/**
 * One worker's part of one round of gradient or state exchange through a
 * store, as the worker measured it.
 */
export type ExchangeRoundEvent = EventStamp & {
  type: 'exchange-round';
  /** The cell run the worker's invocation belongs to. */
  runId: string;
  /** The exchange's name (`exchange.open({ run })`), unique within the cell run. */
  exchange: string;
  round: number;
  /** The worker: `worker:<rank>`. */
  workerId: string;
  rank: number;
  workers: number;
  strategy: ExchangeStrategy;
  /** The codec as written: `none`, `fp16`, `topk:0.01`. */
  codec: string;
  /** The store's kind: `embedded`, `redis`, `s3`. */
  store: string;
  /** Bytes the worker wrote to the store in the round (encoded). */
  bytesUp: number;
  /** Bytes the worker read from the store in the round (encoded). */
  bytesDown: number;
  /** What `bytesUp + bytesDown` would have been with no codec: the compression ratio is their quotient. */
  rawBytes: number;
  /** Store requests the worker made in the round (puts, gets, lists, deletes). */
  requests: number;
  /** What those requests cost at the store's prices, USD. */
  storageUsd: number;
  durationMs: number;
  /** The edges of the exchange graph the worker used in the round. */
  links: ExchangeLink[];
};

/** One epoch of a train() call, as the kernel measured it once every worker finished it. */
export type TrainingEpochEvent = EventStamp & {
  type: 'training-epoch';
  /** One train() call. */
  trainId: string;
  /** The checkpoint name (`train({ name })`). */
  name: string;
  /** The cell run (`run-started`) the epoch ran in; its exchange rounds carry the same runId. */
  runId: string;
  /** 1-based. */
  epoch: number;
  /** Epochs the call was asked for. */
  epochs: number;
  loss: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  samplesPerSecond: number;
  /** This epoch's cost, USD (compute + storage), and the call's total so far. */
  costUsd: number;
  totalCostUsd: number;
  /** Bytes the workers moved through the store in the epoch (up + down, encoded). */
  bytesExchanged: number;
  workers: number;
  strategy: ExchangeStrategy;
  codec: string;
  store: string;
  /** The ModelStore version the epoch was checkpointed as, when it was. */
  checkpointVersion?: number;
};

/** Every telemetry event. */
export type TelemetryEvent =
  | RunStartedEvent
  | RunFinishedEvent
  | InvocationQueuedEvent
  | InvocationStartedEvent
  | InvocationFinishedEvent
  | InvocationLateErrorEvent
  | CostTotalsEvent
  | ExchangeRoundEvent
  | TrainingEpochEvent;

/** The event types. */
export type TelemetryEventType = TelemetryEvent['type'];

/** An event as emitted, before the hub stamps `seq` and `time`. */
export type TelemetryEventInput = TelemetryEvent extends infer E
  ? E extends TelemetryEvent
    ? Omit<E, 'seq' | 'time'>
    : never
  : never;

/** A `training-epoch` event as train() reports it (the hub adds `type`, `seq` and `time`). */
export type TrainingEpochInput = Omit<TrainingEpochEvent, 'seq' | 'time' | 'type'>;

/** Frontend -> kernel: send the whole history. */
export type ReplayRequest = { type: 'replay' };
/**
 * Frontend -> kernel: cancel the running run. With `runId`, only if that run
 * is the one running (a request for a run that ended meanwhile cancels
 * nothing).
 */
export type CancelRequest = { type: 'cancel'; runId?: string };
/** What the frontend may send. */
export type TelemetryRequest = ReplayRequest | CancelRequest;

/** Kernel -> frontend: live events, in `seq` order. */
export type EventsMessage = { type: 'events'; version: number; events: TelemetryEvent[] };
/** Kernel -> frontend: the kept history; `truncated` older events were dropped to bound memory. */
export type ReplayMessage = { type: 'replay'; version: number; events: TelemetryEvent[]; truncated: number };
/** What the kernel sends. */
export type TelemetryMessage = EventsMessage | ReplayMessage;
