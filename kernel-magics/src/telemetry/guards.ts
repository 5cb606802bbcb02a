/**
 * Pure runtime checks of telemetry messages, for both ends of the comm (no
 * Node imports: the extension uses them in the browser).
 */
import type {
  InvocationStatus,
  RunStatus,
  TelemetryEvent,
  TelemetryEventType,
  TelemetryMessage,
  TelemetryRequest,
} from './events';

type Kind = 'string' | 'number' | 'count' | 'boolean' | 'error' | 'invocation-status' | 'run-status';
/** A field's kind; a trailing `?` makes it optional. */
type Field = Kind | `${Kind}?`;

// Records (not lists) so that the compiler checks they name every status and no other.
const INVOCATION_STATUS: Record<InvocationStatus, true> = {
  ok: true,
  error: true,
  timeout: true,
  'out-of-memory': true,
  crashed: true,
  cancelled: true,
  retried: true,
};
const RUN_STATUS: Record<RunStatus, true> = {
  ok: true,
  failed: true,
  cancelled: true,
  'budget-stopped': true,
};

const ATTEMPT: Record<string, Field> = {
  id: 'string',
  runId: 'string',
  index: 'count?',
  attempt: 'count',
  environmentId: 'string',
  cold: 'boolean',
  memoryMb: 'number',
};

const SCHEMAS: Record<TelemetryEventType, Record<string, Field>> = {
  'run-started': {
    runId: 'string',
    label: 'string',
    executionCount: 'count?',
    invocations: 'count',
    memoryMb: 'number',
    timeoutS: 'number',
    concurrency: 'count',
    backend: 'string',
    estimateUsd: 'number?',
    budgetUsd: 'number?',
  },
  'run-finished': {
    runId: 'string',
    status: 'run-status',
    done: 'count',
    failed: 'count',
    cancelled: 'count',
    durationMs: 'number',
    costUsd: 'number',
  },
  'invocation-queued': { id: 'string', runId: 'string', index: 'count?' },
  'invocation-started': { ...ATTEMPT, initMs: 'number' },
  'invocation-finished': {
    ...ATTEMPT,
    durationMs: 'number',
    billedMs: 'number',
    initBilledMs: 'number',
    costUsd: 'number',
    status: 'invocation-status',
    error: 'error?',
    bytesIn: 'count',
    bytesOut: 'count',
  },
  'cost-totals': {
    computeUsd: 'number',
    initUsd: 'number',
    requestUsd: 'number',
    storageUsd: 'number',
    totalUsd: 'number',
    invocations: 'count',
  },
  'exchange-round': {
    runId: 'string',
    round: 'count',
    workerId: 'string?',
    store: 'string',
    bytesUp: 'count',
    bytesDown: 'count',
    durationMs: 'number',
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function matches(kind: Kind, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'count':
      return isCount(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'error':
      return isRecord(value) && typeof value.name === 'string' && typeof value.message === 'string';
    case 'invocation-status':
      return typeof value === 'string' && Object.hasOwn(INVOCATION_STATUS, value);
    case 'run-status':
      return typeof value === 'string' && Object.hasOwn(RUN_STATUS, value);
  }
}

/** Whether `value` is a well-formed telemetry event (as received over the comm). */
export function isTelemetryEvent(value: unknown): value is TelemetryEvent {
  if (!isRecord(value) || typeof value.type !== 'string' || !Object.hasOwn(SCHEMAS, value.type)) {
    return false;
  }
  if (!isCount(value.seq) || (value.seq as number) < 1 || !matches('number', value.time)) {
    return false;
  }
  const schema = SCHEMAS[value.type as TelemetryEventType];
  return Object.entries(schema).every(([name, field]) => {
    const optional = field.endsWith('?');
    const kind = (optional ? field.slice(0, -1) : field) as Kind;
    const present = Object.hasOwn(value, name) && value[name] !== undefined;
    return present ? matches(kind, value[name]) : optional;
  });
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
  if (data.type === 'replay' && isCount(data.truncated)) {
    return { type: 'replay', version: data.version, events, truncated: data.truncated as number };
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
