/**
 * The telemetry hub over a real comm registry with a recording sender:
 * replay, batching, the history bound (exchange rounds in a lane of their
 * own, 16 workers × 1,000 rounds kept with the run's events), cancel routing (a request naming a run
 * only while it runs), closed and failing comms, listeners; the protocol's
 * guards, held to its types by the compiler; and its money helpers.
 */
import { CommRegistry } from '../../kernel-magics/src/kernel/comms';
import { createMemoryLogger } from '../../kernel-magics/src/kernel/log';
import { JsonObject } from '../../kernel-magics/src/kernel/messages';
import { AttemptStatus } from '../../kernel-magics/src/runtime/backend';
import {
  boolean,
  count,
  finite,
  optional,
  Shape,
  string,
} from '../../kernel-magics/src/telemetry/protocol/check';
import {
  addUsd,
  invocationStatus,
  InvocationStatus,
  isTelemetryEvent,
  parseTelemetryMessage,
  parseTelemetryRequest,
  picoToUsd,
  TELEMETRY_PROTOCOL_VERSION,
  TELEMETRY_TARGET,
  TelemetryEvent,
  TelemetryEventInput,
  TelemetryHub,
  TelemetryHubOptions,
  usdToPico,
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
/** Bulk messages the fake transport reports as still waiting. */
let backlog: number;
/** The lane of every message sent. */
let lanes: (string | undefined)[];

function setUp(options: TelemetryHubOptions = {}): void {
  registry = new CommRegistry();
  sent = [];
  logLines = [];
  failFor = new Set();
  backlog = 0;
  lanes = [];
  registry.connect(
    (msgType, content, _buffers, lane) => {
      if (failFor.has(String(content.comm_id))) {
        throw new Error('socket gone');
      }
      sent.push({ msgType, content });
      lanes.push(lane);
    },
    () => backlog,
  );
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

function runStarted(runId: string): TelemetryEventInput {
  return {
    type: 'run-started',
    runId,
    label: `%%serverless ${runId}`,
    invocations: 1,
    memoryMb: 1024,
    timeoutS: 60,
    concurrency: 1,
    backend: 'local',
  };
}

const ZERO_SPLIT = { computeUsd: 0, initUsd: 0, requestUsd: 0, storageUsd: 0, totalUsd: 0 };

function runFinished(runId: string): TelemetryEventInput {
  const ending = { status: 'ok', done: 1, failed: 0, cancelled: 0, durationMs: 5 } as const;
  return { type: 'run-finished', runId, ...ending, bill: ZERO_SPLIT };
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

  it('sends its comms as bulk traffic, and holds batches back while earlier ones still wait', async () => {
    setUp({ flushIntervalMs: 10 });
    open('c1');
    open('c2');
    backlog = 5;
    hub.emit(queued(0));
    await new Promise((resolve) => setTimeout(resolve, 60));
    hub.emit(queued(1));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(dataOn('c1')).toHaveLength(0);
    backlog = 0;
    await new Promise((resolve) => setTimeout(resolve, 60));
    // One batch per comm with everything held back, not one per interval.
    for (const comm of ['c1', 'c2']) {
      const messages = dataOn(comm);
      expect(messages).toHaveLength(1);
      expect((messages[0].events as TelemetryEvent[]).map((e) => e.seq)).toEqual([1, 2]);
    }
    expect(new Set(lanes)).toEqual(new Set(['bulk']));
  });

  it('answers a replay at once, whatever waits', () => {
    open('c1');
    backlog = 5;
    hub.emit(queued(0));
    request('c1', { type: 'replay' });
    expect(dataOn('c1').map((d) => d.type)).toEqual(['events', 'replay']);
  });

  it('routes cancel requests to the handlers, and ignores unknown requests', () => {
    open('c1');
    const cancels: unknown[] = [];
    const stop = hub.onCancel((r) => cancels.push(r));
    hub.emit(runStarted('r7'));
    request('c1', { type: 'cancel', runId: 'r7' });
    request('c1', { type: 'cancel' });
    request('c1', { type: 'format-disk' });
    stop();
    request('c1', { type: 'cancel' });
    expect(cancels).toEqual([{ type: 'cancel', runId: 'r7' }, { type: 'cancel' }]);
    expect(logLines.some((l) => l.includes('unknown request'))).toBe(true);
    expect(logLines.some((l) => l.includes('nothing handles it'))).toBe(true);
  });

  it('cancels a run named in the request only while that run is the one running', () => {
    open('c1');
    const cancels: unknown[] = [];
    hub.onCancel((r) => cancels.push(r));
    // Before any run, and for a run that never started: nothing to cancel.
    request('c1', { type: 'cancel', runId: 'r1' });
    hub.emit(runStarted('r1'));
    hub.emit(runFinished('r1'));
    hub.emit(runStarted('r2'));
    // The panel asked to cancel r1, which ended meanwhile: r2 runs on.
    request('c1', { type: 'cancel', runId: 'r1' });
    expect(cancels).toEqual([]);
    expect(logLines.filter((l) => l.includes('run r1, which is not running'))).toHaveLength(2);
    request('c1', { type: 'cancel', runId: 'r2' });
    expect(cancels).toEqual([{ type: 'cancel', runId: 'r2' }]);
    hub.emit(runFinished('r2'));
    request('c1', { type: 'cancel', runId: 'r2' });
    // Without a run id: whatever runs (the handler decides; here nothing does).
    request('c1', { type: 'cancel' });
    expect(cancels).toEqual([{ type: 'cancel', runId: 'r2' }, { type: 'cancel' }]);
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

/** Worker `rank`'s part of round `round` of a 16-worker scatter-reduce (16 links). */
function exchangeRound(round: number, rank: number, workers = 16): TelemetryEventInput {
  const links = Array.from({ length: workers }, (_, owner) => ({
    node: `worker:${owner}`,
    bytesUp: 256,
    bytesDown: 256,
  }));
  return {
    type: 'exchange-round',
    runId: 'train',
    exchange: 'grads',
    round,
    workerId: `worker:${rank}`,
    rank,
    workers,
    strategy: 'scatter-reduce',
    codec: 'fp16',
    store: 'redis',
    bytesUp: 256 * workers,
    bytesDown: 256 * workers,
    rawBytes: 1024 * workers,
    requests: 2 * workers,
    storageUsd: 0,
    durationMs: 12.5,
    links,
  };
}

function queuedIn(runId: string, index: number): TelemetryEventInput {
  return { type: 'invocation-queued', id: `${runId}-${index}`, runId, index };
}

describe('exchange rounds in the history', () => {
  it('keeps 16 workers × 1,000 rounds and every other event of the run, and sends them all', () => {
    setUp();
    open('c1');
    const inputs: TelemetryEventInput[] = [runStarted('train')];
    for (let rank = 0; rank < 16; rank += 1) {
      inputs.push(queuedIn('train', rank));
    }
    for (let round = 1; round <= 1000; round += 1) {
      for (let rank = 0; rank < 16; rank += 1) {
        inputs.push(exchangeRound(round, rank));
      }
    }
    inputs.push(runFinished('train'));
    const t0 = performance.now();
    for (const input of inputs) {
      hub.emit(input);
    }
    const emitMs = performance.now() - t0;
    hub.flush();
    expect(hub.truncated).toBe(0);
    const history = hub.history();
    expect(history).toHaveLength(1 + 16 + 16_000 + 1);
    expect(history.map((e) => e.seq)).toEqual(Array.from({ length: 16_018 }, (_, i) => i + 1));
    // The live batch: every event, in order, each well-formed (the hub validates in these tests).
    const batches = dataOn('c1');
    const sent = batches.flatMap((m) => m.events as TelemetryEvent[]);
    expect(sent).toHaveLength(16_018);
    expect(sent.every(isTelemetryEvent)).toBe(true);
    expect(logLines).toEqual([]);
    // Emitting them costs the kernel little (validation of every event included, as in these tests).
    expect(emitMs).toBeLessThan(1000);
    // The replay has them too.
    request('c1', { type: 'replay' });
    const replay = dataOn('c1').at(-1)!;
    expect(replay.type).toBe('replay');
    expect((replay.events as TelemetryEvent[]).filter((e) => e.type === 'exchange-round')).toHaveLength(
      16_000,
    );
  });

  it('keeps exchange rounds in a lane of their own: a long training never pushes out the runs', () => {
    setUp({ maxEvents: 8, maxExchangeEvents: 32 });
    hub.emit(runStarted('train'));
    for (let i = 0; i < 4; i += 1) {
      hub.emit(queuedIn('train', i));
    }
    for (let round = 1; round <= 25; round += 1) {
      for (let rank = 0; rank < 4; rank += 1) {
        hub.emit(exchangeRound(round, rank, 4));
      }
    }
    hub.emit(runFinished('train'));
    const history = hub.history();
    // The run's six events all stay; of the 100 rounds' parts, the newest 32 (rounds 18-25).
    expect(history.filter((e) => e.type !== 'exchange-round').map((e) => e.type)).toEqual([
      'run-started',
      'invocation-queued',
      'invocation-queued',
      'invocation-queued',
      'invocation-queued',
      'run-finished',
    ]);
    const rounds = history.filter((e) => e.type === 'exchange-round');
    expect(rounds).toHaveLength(32);
    expect(rounds[0]).toMatchObject({ round: 18, rank: 0 });
    expect(hub.truncated).toBe(68);
    // In seq order, as a panel folds them.
    const seqs = history.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs[0]).toBe(1);
    expect(seqs.at(-1)).toBe(106);
    open('c1');
    request('c1', { type: 'replay' });
    const [replay] = dataOn('c1');
    expect(replay.truncated).toBe(68);
    expect((replay.events as TelemetryEvent[]).map((e) => e.seq)).toEqual(seqs);

    // The other lane is bounded as before: more events push out its oldest only.
    for (let i = 4; i < 10; i += 1) {
      hub.emit(queuedIn('train', i));
    }
    expect(hub.history().filter((e) => e.type !== 'exchange-round')).toHaveLength(8);
    expect(hub.history().filter((e) => e.type === 'exchange-round')).toHaveLength(32);
    expect(hub.truncated).toBe(68 + 4);
  });

  it('refuses lane sizes that are not whole numbers >= 1', () => {
    expect(() => new TelemetryHub({ maxExchangeEvents: 0 })).toThrow(
      /maxExchangeEvents must be a whole number >= 1/,
    );
    expect(() => new TelemetryHub({ maxEvents: 1.5 })).toThrow(/maxEvents must be a whole number >= 1/);
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
    bill: { computeUsd: 0.00000006667, initUsd: 0.000002, requestUsd: 0.0000002, totalUsd: 0.00000226667 },
    status: 'retried',
    error: { name: 'crashed', message: 'exit 1' },
    bytesIn: 10,
    bytesOut: 0,
  };

  it('accepts well-formed events and refuses malformed ones', () => {
    expect(isTelemetryEvent(finished)).toBe(true);
    expect(isTelemetryEvent({ ...finished, status: 'exploded' })).toBe(false);
    expect(isTelemetryEvent({ ...finished, billedMs: '4' })).toBe(false);
    // Both clocks of an attempt (protocol 5), when measured.
    expect(isTelemetryEvent({ ...finished, cpuMs: 3, lambdaMs: 44.2 })).toBe(true);
    expect(isTelemetryEvent({ ...finished, lambdaMs: '44' })).toBe(false);
    expect(isTelemetryEvent({ ...finished, cpuMs: -Infinity })).toBe(false);
    expect(isTelemetryEvent({ seq: 5, time: 2, ...runStarted('r'), cpu: 'lambda' })).toBe(true);
    expect(isTelemetryEvent({ seq: 5, time: 2, ...runStarted('r'), cpu: 'gpu' })).toBe(false);
    expect(isTelemetryEvent({ ...finished, seq: 0 })).toBe(false);
    expect(isTelemetryEvent({ ...finished, type: 'unknown' })).toBe(false);
    const missing: Record<string, unknown> = { ...finished };
    delete missing.bytesIn;
    expect(isTelemetryEvent(missing)).toBe(false);
    // The bill's parts are checked too.
    expect(isTelemetryEvent({ ...finished, bill: { computeUsd: 1, initUsd: 0, requestUsd: 0 } })).toBe(false);
    expect(isTelemetryEvent({ ...finished, bill: { ...finished.bill, initUsd: Infinity } })).toBe(false);
    expect(isTelemetryEvent({ ...finished, costUsd: 0.000002, bill: undefined })).toBe(false);
    expect(isTelemetryEvent({ seq: 5, time: 2, ...runStarted('r') })).toBe(true);
    const run = { seq: 6, time: 2, ...runFinished('r') };
    expect(isTelemetryEvent(run)).toBe(true);
    expect(isTelemetryEvent({ ...run, bill: { ...ZERO_SPLIT, storageUsd: '0' } })).toBe(false);
    // Fields a newer kernel adds are allowed; optional ones may be absent, not malformed.
    expect(isTelemetryEvent({ ...finished, region: 'eu-west-1' })).toBe(true);
    expect(isTelemetryEvent({ ...finished, index: 3 })).toBe(true);
    expect(isTelemetryEvent({ ...finished, index: -1 })).toBe(false);
    expect(isTelemetryEvent({ ...finished, error: { name: 'crashed' } })).toBe(false);
    const late = {
      seq: 7,
      time: 3,
      type: 'invocation-late-error',
      id: 'i',
      runId: 'r',
      attempt: 1,
      environmentId: 'local-1',
      error: { name: 'Error', message: 'A-late' },
    };
    expect(isTelemetryEvent(late)).toBe(true);
    expect(isTelemetryEvent({ ...late, index: 2 })).toBe(true);
    expect(isTelemetryEvent({ ...late, error: { name: 'Error' } })).toBe(false);
    expect(isTelemetryEvent({ ...late, environmentId: undefined })).toBe(false);
  });

  it('holds every check to the type it claims (compile-time)', () => {
    type Fields = { a: number; b?: string; c: boolean };
    const shape: Shape<Fields> = { a: count, b: optional(string), c: boolean };
    // Each of these fails to compile: an optional check of a required field, a
    // required check of an optional one, a check of another type, a missing field.
    // @ts-expect-error -- `a` is required
    const optionalForRequired: Shape<Fields> = { ...shape, a: optional(finite) };
    // @ts-expect-error -- `b` is optional
    const requiredForOptional: Shape<Fields> = { ...shape, b: string };
    // @ts-expect-error -- `c` is a boolean
    const wrongType: Shape<Fields> = { ...shape, c: string };
    // @ts-expect-error -- `c` is missing
    const missingField: Shape<Fields> = { a: count, b: optional(string) };
    expect([optionalForRequired, requiredForOptional, wrongType, missingField]).toHaveLength(4);
  });

  it('parses envelopes and requests', () => {
    expect(
      parseTelemetryMessage({ type: 'events', version: 2, events: [finished, { type: 'junk' }] }),
    ).toEqual({
      type: 'events',
      version: 2,
      events: [finished],
    });
    expect(parseTelemetryMessage({ type: 'replay', version: 2, events: [] })).toBeUndefined();
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

describe('money', () => {
  it('adds amounts in whole pico-dollars, as the ledger does, where floats drift', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(addUsd(0.1, 0.2)).toBe(0.3);
    let exact = 0;
    let float = 0;
    for (let i = 0; i < 10_000; i++) {
      exact = addUsd(exact, 0.0000018667);
      float += 0.0000018667;
    }
    expect(exact).toBe(picoToUsd(10_000 * 1_866_700));
    expect(float).not.toBe(exact);
  });

  it('gets back the same whole pico-dollars from USD, up to 2^50 of them', () => {
    // Amounts spread over every magnitude up to the bound, and the bound itself.
    for (let i = 0; i <= 2000; i++) {
      const pico = Math.floor(2 ** ((50 * i) / 2000)) + (i % 7);
      expect(usdToPico(picoToUsd(pico))).toBe(pico);
    }
    expect(usdToPico(picoToUsd(2 ** 50 - 1))).toBe(2 ** 50 - 1);
  });
});
