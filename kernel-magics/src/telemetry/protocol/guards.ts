/**
 * Runtime checks of telemetry messages, for both ends of the comm. Each
 * event's checks are a {@link Shape} of its type in `./events`, so the
 * compiler refuses a check that disagrees with the declaration.
 */
import {
  arrayOf,
  boolean,
  Check,
  count,
  finite,
  hasFields,
  isRecord,
  object,
  oneOf,
  optional,
  Shape,
  string,
} from './check';
import type {
  AttemptCost,
  AttemptFields,
  CostSplit,
  ExchangeLink,
  ExchangeStrategy,
  InvocationStatus,
  RunStatus,
  TelemetryEvent,
  TelemetryMessage,
  TelemetryRequest,
} from './events';

const invocationStatus = oneOf<InvocationStatus>({
  ok: true,
  error: true,
  timeout: true,
  'out-of-memory': true,
  crashed: true,
  cancelled: true,
  retried: true,
});

const exchangeStrategy = oneOf<ExchangeStrategy>({
  allreduce: true,
  'scatter-reduce': true,
  'parameter-server': true,
});

const runStatus = oneOf<RunStatus>({ ok: true, failed: true, cancelled: true, 'budget-stopped': true });

const ATTEMPT: Shape<AttemptFields> = {
  id: string,
  runId: string,
  index: optional(count),
  attempt: count,
  environmentId: string,
  cold: boolean,
  memoryMb: finite,
};

const ATTEMPT_COST: Shape<AttemptCost> = {
  computeUsd: finite,
  initUsd: finite,
  requestUsd: finite,
  totalUsd: finite,
};

const COST_SPLIT: Shape<CostSplit> = { ...ATTEMPT_COST, storageUsd: finite };

/** The fields of each event type besides `type`, `seq` and `time`. */
type EventFields = {
  [E in TelemetryEvent as E['type']]: Shape<Omit<E, 'type' | 'seq' | 'time'>>;
};

const EVENTS: EventFields = {
  'run-started': {
    runId: string,
    label: string,
    executionCount: optional(count),
    invocations: count,
    memoryMb: finite,
    timeoutS: finite,
    concurrency: count,
    backend: string,
    estimateUsd: optional(finite),
    budgetUsd: optional(finite),
    cpu: optional(oneOf<'lambda' | 'host'>({ lambda: true, host: true })),
  },
  'run-finished': {
    runId: string,
    status: runStatus,
    done: count,
    failed: count,
    cancelled: count,
    durationMs: finite,
    bill: object(COST_SPLIT),
  },
  'invocation-queued': { id: string, runId: string, index: optional(count) },
  'invocation-started': { ...ATTEMPT, initMs: finite },
  'invocation-finished': {
    ...ATTEMPT,
    durationMs: finite,
    cpuMs: optional(finite),
    lambdaMs: optional(finite),
    billedMs: finite,
    initBilledMs: finite,
    bill: object(ATTEMPT_COST),
    status: invocationStatus,
    error: optional(object({ name: string, message: string })),
    bytesIn: count,
    bytesOut: count,
  },
  'invocation-late-error': {
    id: string,
    runId: string,
    index: optional(count),
    attempt: count,
    environmentId: string,
    error: object({ name: string, message: string }),
  },
  'cost-totals': { ...COST_SPLIT, invocations: count },
  'exchange-round': {
    runId: string,
    exchange: string,
    round: count,
    workerId: string,
    rank: count,
    workers: count,
    strategy: exchangeStrategy,
    codec: string,
    store: string,
    bytesUp: count,
    bytesDown: count,
    rawBytes: count,
    requests: count,
    storageUsd: finite,
    durationMs: finite,
    links: arrayOf(object<ExchangeLink>({ node: string, bytesUp: count, bytesDown: count })),
  },
  'training-epoch': {
    trainId: string,
    name: string,
    runId: string,
    epoch: count,
    epochs: count,
    loss: finite,
    accuracy: optional(finite),
    valLoss: optional(finite),
    valAccuracy: optional(finite),
    seconds: finite,
    samplesPerSecond: finite,
    costUsd: finite,
    totalCostUsd: finite,
    bytesExchanged: count,
    workers: count,
    strategy: exchangeStrategy,
    codec: string,
    store: string,
    checkpointVersion: optional(count),
  },
};

// The tables as lists, once: a replay checks every event of the history.
const EVENT_FIELDS = new Map<string, [string, Check<unknown>][]>(
  Object.entries(EVENTS).map(([type, shape]) => [type, Object.entries(shape as object)]),
);

/** Whether `value` is a well-formed telemetry event (as received over the comm). */
export function isTelemetryEvent(value: unknown): value is TelemetryEvent {
  if (!isRecord(value) || typeof value.type !== 'string') {
    return false;
  }
  const fields = EVENT_FIELDS.get(value.type);
  return (
    fields !== undefined &&
    count(value.seq) &&
    value.seq >= 1 &&
    finite(value.time) &&
    hasFields(value, fields)
  );
}

/**
 * A kernel -> frontend message, checked; undefined when it is not one.
 * Malformed events inside a well-formed envelope are left out.
 */
export function parseTelemetryMessage(data: unknown): TelemetryMessage | undefined {
  if (!isRecord(data) || !Array.isArray(data.events) || typeof data.version !== 'number') {
    return undefined;
  }
  const events = data.events.filter(isTelemetryEvent);
  if (data.type === 'events') {
    return { type: 'events', version: data.version, events };
  }
  if (data.type === 'replay' && count(data.truncated)) {
    return { type: 'replay', version: data.version, events, truncated: data.truncated };
  }
  return undefined;
}

/** A frontend -> kernel request, checked; undefined when it is not one. */
export function parseTelemetryRequest(data: unknown): TelemetryRequest | undefined {
  if (!isRecord(data)) {
    return undefined;
  }
  if (data.type === 'replay') {
    return { type: 'replay' };
  }
  if (data.type === 'cancel') {
    if (data.runId === undefined) {
      return { type: 'cancel' };
    }
    return typeof data.runId === 'string' ? { type: 'cancel', runId: data.runId } : undefined;
  }
  return undefined;
}
