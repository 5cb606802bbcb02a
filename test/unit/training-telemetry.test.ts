/**
 * `training-epoch` telemetry (protocol v4) on the kernel's side: the guard
 * of the event, the hub's lane of its own (a panel opened late replays every
 * epoch however many other events came since), and the accounting's
 * `trainingEpoch`, which emits it through the hub to an open comm, leaves
 * out metrics JSON cannot carry and bills nothing a second time.
 */
import { CommRegistry } from '../../kernel-magics/src/kernel/comms';
import { createMemoryLogger } from '../../kernel-magics/src/kernel/log';
import { JsonObject } from '../../kernel-magics/src/kernel/messages';
import { KernelAccounting } from '../../kernel-magics/src/run/accounting';
import {
  isTelemetryEvent,
  parseTelemetryMessage,
  TELEMETRY_PROTOCOL_VERSION,
  TELEMETRY_TARGET,
  TelemetryEvent,
  TelemetryEventInput,
  TelemetryHub,
  TrainingEpochEvent,
  TrainingEpochInput,
} from '../../kernel-magics/src/telemetry';

/** Epoch `epoch` of train() call `trainId`, as train() would report it. */
function epochInput(
  trainId: string,
  epoch: number,
  fields: Partial<TrainingEpochInput> = {},
): TrainingEpochInput {
  return {
    trainId,
    name: 'mnist-mlp',
    runId: `${trainId}-run`,
    epoch,
    epochs: 3,
    loss: 1 / epoch,
    accuracy: 0.8 + epoch / 100,
    valLoss: 1.1 / epoch,
    valAccuracy: 0.79 + epoch / 100,
    seconds: 2.5,
    samplesPerSecond: 3200,
    costUsd: 0.0001,
    totalCostUsd: 0.0001 * epoch,
    bytesExchanged: 4_000_000,
    workers: 4,
    strategy: 'allreduce',
    codec: 'none',
    store: 'embedded',
    checkpointVersion: epoch,
    ...fields,
  };
}

function queued(index: number): TelemetryEventInput {
  return { type: 'invocation-queued', id: `i${index}`, runId: 'r', index };
}

describe('the training-epoch guard', () => {
  const event: TrainingEpochEvent = { seq: 9, time: 1, type: 'training-epoch', ...epochInput('t1', 2) };

  it('accepts a well-formed epoch, with or without its optional metrics and checkpoint', () => {
    expect(TELEMETRY_PROTOCOL_VERSION).toBeGreaterThanOrEqual(4); // the version that brought training-epoch
    expect(isTelemetryEvent(event)).toBe(true);
    const bare: Record<string, unknown> = { ...event };
    for (const name of ['accuracy', 'valLoss', 'valAccuracy', 'checkpointVersion']) {
      delete bare[name];
    }
    expect(isTelemetryEvent(bare)).toBe(true);
  });

  it('refuses a malformed one', () => {
    expect(isTelemetryEvent({ ...event, loss: null })).toBe(false);
    expect(isTelemetryEvent({ ...event, loss: '0.3' })).toBe(false);
    expect(isTelemetryEvent({ ...event, valLoss: null })).toBe(false);
    expect(isTelemetryEvent({ ...event, epoch: 1.5 })).toBe(false);
    expect(isTelemetryEvent({ ...event, strategy: 'gossip' })).toBe(false);
    expect(isTelemetryEvent({ ...event, bytesExchanged: -1 })).toBe(false);
    expect(isTelemetryEvent({ ...event, checkpointVersion: 'v2' })).toBe(false);
    const missing: Record<string, unknown> = { ...event };
    delete missing.totalCostUsd;
    expect(isTelemetryEvent(missing)).toBe(false);
  });
});

describe('training epochs in the hub', () => {
  it('keeps them in a lane of their own: other events never push them out of the replay', () => {
    const hub = new TelemetryHub({ maxEvents: 4, maxExchangeEvents: 4, maxTrainingEvents: 5 });
    for (let epoch = 1; epoch <= 3; epoch += 1) {
      hub.emit({ type: 'training-epoch', ...epochInput('t1', epoch) });
      for (let i = 0; i < 10; i += 1) {
        hub.emit(queued(epoch * 10 + i));
      }
    }
    const history = hub.history();
    expect(history.filter((e) => e.type === 'training-epoch').map((e) => e.seq)).toEqual([1, 12, 23]);
    expect(history.filter((e) => e.type !== 'training-epoch')).toHaveLength(4);
    const seqs = history.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(hub.truncated).toBe(26);

    // The lane is bounded too: its oldest epochs go first.
    for (let epoch = 4; epoch <= 7; epoch += 1) {
      hub.emit({ type: 'training-epoch', ...epochInput('t1', epoch) });
    }
    const epochs = hub
      .history()
      .filter((e): e is TrainingEpochEvent => e.type === 'training-epoch')
      .map((e) => e.epoch);
    expect(epochs).toEqual([3, 4, 5, 6, 7]);
    expect(hub.truncated).toBe(28);
    hub.dispose();
  });

  it('refuses a lane size that is not a whole number >= 1', () => {
    expect(() => new TelemetryHub({ maxTrainingEvents: 0 })).toThrow(
      /maxTrainingEvents must be a whole number >= 1/,
    );
  });
});

describe('KernelAccounting.trainingEpoch', () => {
  /** A hub on a comm registry whose sender records what goes out, one comm open on the target. */
  function setUp() {
    const registry = new CommRegistry();
    const sent: JsonObject[] = [];
    registry.connect((msgType, content) => {
      if (msgType === 'comm_msg') {
        sent.push(content.data as JsonObject);
      }
    });
    const log: string[] = [];
    const hub = new TelemetryHub({ logger: createMemoryLogger(log), validate: true, now: () => 42 });
    hub.attach(registry);
    expect(registry.handleOpen('c1', TELEMETRY_TARGET, { data: {}, buffers: [] })).toBe(true);
    const accounts = new KernelAccounting(hub);
    const events = (): TelemetryEvent[] =>
      sent.flatMap((data) => parseTelemetryMessage(JSON.parse(JSON.stringify(data)))?.events ?? []);
    return { registry, hub, accounts, events, log };
  }

  it('sends the epoch to the panel as a training-epoch event, stamped by the hub', () => {
    const { hub, accounts, events, log } = setUp();
    accounts.trainingEpoch(epochInput('t1', 1));
    accounts.trainingEpoch(epochInput('t1', 2, { checkpointVersion: undefined }));
    hub.flush();
    const received = events();
    expect(received).toEqual([
      { seq: 1, time: 42, type: 'training-epoch', ...epochInput('t1', 1) },
      expect.objectContaining({ seq: 2, type: 'training-epoch', epoch: 2, totalCostUsd: 0.0002 }),
    ]);
    // Absent, not undefined or null: the event reads the same after JSON.
    expect('checkpointVersion' in received[1]).toBe(false);
    expect(log).toEqual([]);
    hub.dispose();
  });

  it('leaves out a metric that is not a finite number, so the epoch still reaches the panel', () => {
    const { hub, accounts, events, log } = setUp();
    accounts.trainingEpoch(epochInput('t1', 1, { valLoss: NaN, accuracy: Infinity }));
    hub.flush();
    const [received] = events();
    expect(received).toMatchObject({ type: 'training-epoch', epoch: 1, loss: 1, valAccuracy: 0.8 });
    expect('valLoss' in received).toBe(false);
    expect('accuracy' in received).toBe(false);
    expect(log).toEqual([]);
    hub.dispose();
  });

  it('bills nothing: the epoch cost its runs billed already', () => {
    const { hub, accounts } = setUp();
    accounts.trainingEpoch(epochInput('t1', 1, { costUsd: 0.5, totalCostUsd: 0.5 }));
    expect(accounts.ledger.total()).toMatchObject({ totalUsd: 0, invocations: 0 });
    hub.dispose();
  });
});
