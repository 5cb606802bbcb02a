/**
 * The telemetry hub over a real comm registry with a recording sender:
 * replay, batching, the history bound, cancel routing, closed and failing
 * comms, listeners; and the protocol's guards.
 */
import { CommRegistry } from '../../kernel-magics/src/kernel/comms';
import { createMemoryLogger } from '../../kernel-magics/src/kernel/log';
import { JsonObject } from '../../kernel-magics/src/kernel/messages';
import { AttemptStatus } from '../../kernel-magics/src/runtime/backend';
import {
  invocationStatus,
  InvocationStatus,
  isTelemetryEvent,
  parseTelemetryMessage,
  parseTelemetryRequest,
  TELEMETRY_PROTOCOL_VERSION,
  TELEMETRY_TARGET,
  TelemetryEvent,
  TelemetryEventInput,
  TelemetryHub,
  TelemetryHubOptions,
} from '../../kernel-magics/src/telemetry';

interface Sent {
  msgType: string;
  content: JsonObject;
}

let registry: CommRegistry;
let sent: Sent[];
let logLines: string[];
let hub: TelemetryHub;
let failFor: Set<string>;

function setUp(options: TelemetryHubOptions = {}): void {
  registry = new CommRegistry();
  sent = [];
  logLines = [];
  failFor = new Set();
  registry.connect((msgType, content) => {
    if (failFor.has(String(content.comm_id))) {
      throw new Error('socket gone');
    }
    sent.push({ msgType, content });
  });
  hub = new TelemetryHub({
    logger: createMemoryLogger(logLines),
    now: () => 1_700_000_000_000,
    validate: true,
    ...options,
  });
  hub.attach(registry);
}

afterEach(() => hub.dispose());

function open(commId: string): void {
  expect(registry.handleOpen(commId, TELEMETRY_TARGET, { data: {}, buffers: [] })).toBe(true);
}

function request(commId: string, data: JsonObject): void {
  expect(registry.handleMessage(commId, { data, buffers: [] })).toBe(true);
}

/** The data of every comm_msg sent on a comm. */
function dataOn(commId: string): JsonObject[] {
  return sent
    .filter((s) => s.msgType === 'comm_msg' && s.content.comm_id === commId)
    .map((s) => s.content.data as JsonObject);
}

function queued(index: number): TelemetryEventInput {
  return { type: 'invocation-queued', id: `i${index}`, runId: 'r1', index };
}

describe('TelemetryHub over comms', () => {
  beforeEach(() => setUp());

  it('sends nothing on open, and answers replay with the history in seq order', () => {
    hub.emit(queued(0));
    open('c1');
    expect(sent).toEqual([]);
    hub.emit(queued(1));
    hub.emit({
      type: 'cost-totals',
      computeUsd: 1,
      initUsd: 0,
      requestUsd: 0,
      storageUsd: 0,
      totalUsd: 1,
      invocations: 1,
    });
    request('c1', { type: 'replay' });
    const [batch, replay] = dataOn('c1');
    // The queued live events go first, then the replay holding everything.
    expect(batch).toMatchObject({ type: 'events', version: TELEMETRY_PROTOCOL_VERSION });
    expect((batch.events as TelemetryEvent[]).map((e) => e.seq)).toEqual([2, 3]);
    expect(replay).toMatchObject({ type: 'replay', truncated: 0, version: TELEMETRY_PROTOCOL_VERSION });
    const events = replay.events as TelemetryEvent[];
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(events.map((e) => e.type)).toEqual(['invocation-queued', 'invocation-queued', 'cost-totals']);
    expect(events[0].time).toBe(1_700_000_000_000);
    expect(events.every(isTelemetryEvent)).toBe(true);
  });

  it('batches many emits into one message per flush', () => {
    open('c1');
    for (let i = 0; i < 100; i += 1) {
      hub.emit(queued(i));
    }
    expect(dataOn('c1')).toHaveLength(0);
    hub.flush();
    hub.flush();
    const messages = dataOn('c1');
    expect(messages).toHaveLength(1);
    expect((messages[0].events as TelemetryEvent[]).map((e) => e.seq)).toEqual(
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
  });

  it('flushes by itself within the interval', async () => {
    open('c1');
    hub.emit(queued(0));
    hub.emit(queued(1));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(dataOn('c1')).toEqual([expect.objectContaining({ type: 'events', events: expect.any(Array) })]);
    expect((dataOn('c1')[0].events as unknown[]).length).toBe(2);
  });

  it('routes cancel requests to the handlers, and ignores unknown requests', () => {
    open('c1');
    const cancels: unknown[] = [];
    const stop = hub.onCancel((r) => cancels.push(r));
    request('c1', { type: 'cancel', runId: 'r7' });
    request('c1', { type: 'cancel' });
    request('c1', { type: 'format-disk' });
    stop();
    request('c1', { type: 'cancel' });
    expect(cancels).toEqual([{ type: 'cancel', runId: 'r7' }, { type: 'cancel' }]);
    expect(logLines.some((l) => l.includes('unknown request'))).toBe(true);
    expect(logLines.some((l) => l.includes('nothing handles it'))).toBe(true);
  });

  it('drops comms the frontend or the kernel closed', () => {
    open('c1');
    open('c2');
    open('c3');
    registry.handleClose('c2', { data: {}, buffers: [] });
    registry
      .list(TELEMETRY_TARGET)
      .find((c) => c.commId === 'c3')
      ?.close();
    hub.emit(queued(0));
    hub.flush();
    expect(dataOn('c1')).toHaveLength(1);
    expect(dataOn('c2')).toHaveLength(0);
    expect(dataOn('c3')).toHaveLength(0);
    expect(hub.openComms).toBe(1);
  });

  it('keeps sending to the other comms when one fails', () => {
    open('c1');
    open('c2');
    failFor.add('c1');
    hub.emit(queued(0));
    hub.flush();
    expect(dataOn('c2')).toHaveLength(1);
    expect(logLines.some((l) => l.startsWith('warn') && l.includes('socket gone'))).toBe(true);
  });

  it('tells subscribers of every event until they unsubscribe', () => {
    const seen: number[] = [];
    const unsubscribe = hub.subscribe((e) => seen.push(e.seq));
    hub.subscribe(() => {
      throw new Error('listener bug');
    });
    hub.emit(queued(0));
    hub.emit(queued(1));
    unsubscribe();
    hub.emit(queued(2));
    expect(seen).toEqual([1, 2]);
    expect(hub.lastSeq).toBe(3);
    expect(logLines.filter((l) => l.includes('listener bug'))).toHaveLength(3);
  });

  it('leaves out undefined fields so an event reads the same after JSON', () => {
    const event = hub.emit({ type: 'invocation-queued', id: 'i', runId: 'r', index: undefined });
    expect(Object.keys(event)).toEqual(['seq', 'time', 'type', 'id', 'runId']);
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
    hub.emit({ type: 'invocation-queued', id: 'i', runId: 'r', index: Number.NaN });
    expect(logLines.some((l) => l.includes('malformed event'))).toBe(true);
  });

  it('sends what is queued on dispose and unregisters the target', () => {
    open('c1');
    hub.emit(queued(0));
    hub.dispose();
    expect(dataOn('c1')).toHaveLength(1);
    expect(registry.handleOpen('c9', TELEMETRY_TARGET, { data: {}, buffers: [] })).toBe(false);
  });
});

describe('the history bound', () => {
  beforeEach(() => setUp({ maxEvents: 5 }));

  it('drops the oldest events and says how many in the replay', () => {
    for (let i = 0; i < 12; i += 1) {
      hub.emit(queued(i));
    }
    expect(hub.history().map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    expect(hub.truncated).toBe(7);
    open('c1');
    request('c1', { type: 'replay' });
    const [replay] = dataOn('c1');
    expect(replay.truncated).toBe(7);
    expect((replay.events as TelemetryEvent[]).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
  });
});

describe('protocol guards', () => {
  const finished: TelemetryEvent = {
    seq: 4,
    time: 1,
    type: 'invocation-finished',
    id: 'i',
    runId: 'r',
    attempt: 1,
    environmentId: 'env-1',
    cold: true,
    memoryMb: 1024,
    durationMs: 3.2,
    billedMs: 4,
    initBilledMs: 120,
    costUsd: 0.000002,
    status: 'retried',
    error: { name: 'crashed', message: 'exit 1' },
    bytesIn: 10,
    bytesOut: 0,
  };

  it('accepts well-formed events and refuses malformed ones', () => {
    expect(isTelemetryEvent(finished)).toBe(true);
    expect(isTelemetryEvent({ ...finished, status: 'exploded' })).toBe(false);
    expect(isTelemetryEvent({ ...finished, billedMs: '4' })).toBe(false);
    expect(isTelemetryEvent({ ...finished, seq: 0 })).toBe(false);
    expect(isTelemetryEvent({ ...finished, type: 'unknown' })).toBe(false);
    const missing: Record<string, unknown> = { ...finished };
    delete missing.bytesIn;
    expect(isTelemetryEvent(missing)).toBe(false);
  });

  it('parses envelopes and requests', () => {
    expect(
      parseTelemetryMessage({ type: 'events', version: 1, events: [finished, { type: 'junk' }] }),
    ).toEqual({
      type: 'events',
      version: 1,
      events: [finished],
    });
    expect(parseTelemetryMessage({ type: 'replay', version: 1, events: [] })).toBeUndefined();
    expect(parseTelemetryRequest({ type: 'cancel', runId: 3 })).toBeUndefined();
    expect(parseTelemetryRequest({ type: 'replay', extra: 1 })).toEqual({ type: 'replay' });
  });

  it('reports a crash followed by a retry as retried, the backend statuses as they are', () => {
    // Compile-time: the event statuses are exactly the backend's plus 'retried'.
    const same: [AttemptStatus] extends [Exclude<InvocationStatus, 'retried'>]
      ? [Exclude<InvocationStatus, 'retried'>] extends [AttemptStatus]
        ? true
        : false
      : false = true;
    expect(same).toBe(true);
    expect(invocationStatus('crashed', true)).toBe('retried');
    expect(invocationStatus('crashed', false)).toBe('crashed');
    expect(invocationStatus('timeout', true)).toBe('timeout');
  });
});
