/**
 * The extension's TelemetryModel over a fake kernel connection (just the
 * surface the model uses: createComm, status and connection-status signals,
 * disposed): comm and replay, live events, kernel switch, restart,
 * reconnect, cancel, export, the throttled signal, dispose; and a training
 * shown the same live and replayed from the kernel hub's history.
 */
import { TelemetryModel } from '../../extension/src/model/telemetry-model';
import { TelemetryState } from '../../extension/src/model/state';
import { TELEMETRY_PROTOCOL_VERSION, TELEMETRY_TARGET, TelemetryEvent } from '../../extension/src/telemetry';
import { createMemoryLogger } from '../../kernel-magics/src/kernel/log';
import { TelemetryEventInput, TelemetryHub } from '../../kernel-magics/src/telemetry';
import { EventScript, exchangeRun, FakeKernel, mapRun } from './extension-fixtures';

function replay(events: TelemetryEvent[], truncated = 0): object {
  return { type: 'replay', version: TELEMETRY_PROTOCOL_VERSION, events, truncated };
}

function batch(events: TelemetryEvent[]): object {
  return { type: 'events', version: TELEMETRY_PROTOCOL_VERSION, events };
}

let model: TelemetryModel;
let emitted: TelemetryState[];

function makeModel(options: TelemetryModel.IOptions = { throttleMs: 0 }): TelemetryModel {
  model = new TelemetryModel(options);
  emitted = [];
  model.changed.connect((_sender, state) => emitted.push(state));
  return model;
}

afterEach(() => {
  model?.dispose();
  jest.useRealTimers();
});

describe('TelemetryModel', () => {
  it('starts with no kernel and an empty state', () => {
    makeModel();
    expect(model.kernel).toBeNull();
    expect(model.connection).toBe('none');
    expect(model.state.lastSeq).toBe(0);
    expect(model.throttleMs).toBe(0);
    expect(new TelemetryModel().throttleMs).toBe(TelemetryModel.DEFAULT_THROTTLE_MS);
    expect(() => new TelemetryModel({ throttleMs: -1 })).toThrow(RangeError);
    expect(model.cancel()).toBe(false);
    expect(model.requestReplay()).toBe(false);
  });

  it('opens the telemetry comm, asks for the replay, replaces its state with it, then folds live events', () => {
    makeModel();
    const kernel = new FakeKernel('k1');
    model.connect(kernel.connection);
    expect(model.kernel).toBe(kernel.connection);
    expect(kernel.comms).toHaveLength(1);
    expect(kernel.comm.targetName).toBe(TELEMETRY_TARGET);
    expect(kernel.comm.opened).toEqual([{}]);
    expect(kernel.comm.sent).toEqual([{ type: 'replay' }]);
    expect(model.connection).toBe('opening');

    const s = new EventScript();
    s.runStarted('r1', { invocations: 2 }).queued('a', 'r1').queued('b', 'r1');
    const early = s.take();
    // Live events may come before the replay (the comm gets them from its opening) ...
    kernel.comm.receive(batch(early.slice(0, 2)));
    expect(model.state.lastSeq).toBe(2);
    // ... the replay holds them all and replaces the state.
    s.started('a', 'r1');
    const history = [...early, ...s.take()];
    kernel.comm.receive(replay(history, 5));
    expect(model.connection).toBe('open');
    expect(model.state.lastSeq).toBe(4);
    expect(model.state.truncated).toBe(5);
    expect(model.state.invocations.get('a')!.state).toBe('running');

    // Live events: those at or below the replay's last seq are skipped.
    s.finished('a', 'r1');
    kernel.comm.receive(batch([history[3], ...s.take()]));
    expect(model.state.lastSeq).toBe(5);
    expect(model.state.invocations.get('a')!.state).toBe('ok');
    expect(emitted[emitted.length - 1]).toBe(model.state);

    // Malformed messages and events are ignored.
    const before = model.state;
    kernel.comm.receive({ type: 'nonsense' });
    kernel.comm.receive(batch([{ type: 'invocation-queued', seq: 99 } as unknown as TelemetryEvent]));
    kernel.comm.receive(batch(s.take()));
    expect(model.state).toBe(before);
  });

  it('follows a kernel switch: the old comm is closed and its messages ignored, the new kernel replays', () => {
    makeModel();
    const k1 = new FakeKernel('k1');
    const k2 = new FakeKernel('k2');
    model.connect(k1.connection);
    const old = k1.comm;
    old.receive(replay(mapRun(new EventScript(), 'r', 3, 1).take()));
    expect(model.state.runs.size).toBe(1);

    model.connect(k2.connection);
    expect(old.closed).toBe(1);
    expect(model.kernel).toBe(k2.connection);
    expect(model.state.lastSeq).toBe(0);
    expect(model.connection).toBe('opening');
    expect(k2.comm.sent).toEqual([{ type: 'replay' }]);
    old.receive(replay(mapRun(new EventScript(), 'stale', 2, 1).take()));
    expect(model.state.runs.size).toBe(0);
    // The old kernel's signals no longer reach the model.
    k1.setStatus('restarting');
    expect(model.connection).toBe('opening');

    k2.comm.receive(replay(mapRun(new EventScript(), 'r2', 2, 1).take()));
    expect([...model.state.runs.keys()]).toEqual(['r2']);

    // Connecting the same kernel again does nothing; null disconnects.
    model.connect(k2.connection);
    expect(k2.comms).toHaveLength(1);
    model.connect(null);
    expect(model.kernel).toBeNull();
    expect(model.connection).toBe('none');
    expect(model.state.lastSeq).toBe(0);
    expect(k2.comm.closed).toBe(1);
  });

  it('clears its state when the kernel restarts and reopens the comm once it is idle again', () => {
    makeModel();
    const kernel = new FakeKernel('k');
    model.connect(kernel.connection);
    kernel.comm.receive(replay(mapRun(new EventScript(), 'r', 3, 1).take()));
    expect(model.state.lastSeq).toBeGreaterThan(0);

    kernel.setStatus('restarting');
    expect(model.connection).toBe('restarting');
    expect(model.state.lastSeq).toBe(0);
    expect(model.cancel()).toBe(false);
    kernel.setStatus('starting');
    expect(kernel.comms).toHaveLength(1);
    kernel.setStatus('idle');
    expect(kernel.comms).toHaveLength(2);
    expect(kernel.comm.sent).toEqual([{ type: 'replay' }]);
    expect(model.connection).toBe('opening');
    // The new kernel process counts from seq 1 again.
    kernel.comm.receive(replay(new EventScript().runStarted('fresh').take()));
    expect([...model.state.runs.keys()]).toEqual(['fresh']);

    // An auto-restart after a crash too.
    kernel.setStatus('autorestarting');
    expect(model.state.runs.size).toBe(0);
    kernel.setStatus('busy');
    expect(kernel.comms).toHaveLength(3);
  });

  it('asks for a replay when the connection comes back, and reopens a comm that was lost', () => {
    makeModel();
    const kernel = new FakeKernel('k');
    kernel.connectionStatus = 'connecting';
    model.connect(kernel.connection);
    // A first connection is not a reconnection: the replay asked at opening is enough.
    kernel.setConnection('connected');
    expect(kernel.comm.sent).toEqual([{ type: 'replay' }]);
    const s = mapRun(new EventScript(), 'r', 2, 1);
    kernel.comm.receive(replay(s.take()));

    kernel.setConnection('connecting');
    kernel.setConnection('connected');
    expect(kernel.comms).toHaveLength(1);
    expect(kernel.comm.sent).toEqual([{ type: 'replay' }, { type: 'replay' }]);
    s.runStarted('r2');
    kernel.comm.receive(replay(s.all));
    expect(model.state.runs.has('r2')).toBe(true);

    kernel.comm.dispose();
    kernel.setConnection('disconnected');
    kernel.setConnection('connected');
    expect(kernel.comms).toHaveLength(2);
    expect(kernel.comm.sent).toEqual([{ type: 'replay' }]);
  });

  it('stops when the kernel closes the comm, dies or is disposed, keeping what it showed', () => {
    makeModel();
    const kernel = new FakeKernel('k');
    model.connect(kernel.connection);
    kernel.comm.closeFromKernel(); // e.g. a kernel without the target
    expect(model.connection).toBe('closed');
    expect(model.cancel()).toBe(false);

    const k2 = new FakeKernel('k2');
    model.connect(k2.connection);
    k2.comm.receive(replay(mapRun(new EventScript(), 'r', 2, 1).take()));
    k2.setStatus('dead');
    expect(model.connection).toBe('closed');
    expect(model.state.runs.size).toBe(1);
    k2.dispose();
    expect(model.kernel).toBeNull();
    expect(model.connection).toBe('none');
    expect(model.state.runs.size).toBe(1);

    // A kernel already gone: nothing opens.
    const gone = new FakeKernel('gone');
    gone.isDisposed = true;
    model.connect(gone.connection);
    expect(gone.comms).toHaveLength(0);
    expect(model.kernel).toBeNull();
  });

  it('sends cancel requests over the comm', () => {
    makeModel();
    const kernel = new FakeKernel('k');
    model.connect(kernel.connection);
    expect(model.cancel('r7')).toBe(true);
    expect(model.cancel()).toBe(true);
    expect(model.requestReplay()).toBe(true);
    expect(kernel.comm.sent).toEqual([
      { type: 'replay' },
      { type: 'cancel', runId: 'r7' },
      { type: 'cancel' },
      { type: 'replay' },
    ]);
  });

  it('exports the events since the last replay as JSON, bounded like the kernel history', () => {
    makeModel({ throttleMs: 0, maxEvents: 10 });
    const kernel = new FakeKernel('k1');
    model.connect(kernel.connection);
    const s = new EventScript();
    mapRun(s, 'r', 2, 1);
    kernel.comm.receive(replay(s.take(), 4));
    let exported = JSON.parse(model.exportJson());
    expect(exported).toMatchObject({
      format: 'jupyter-serverless-telemetry',
      version: TELEMETRY_PROTOCOL_VERSION,
      kernel: { id: 'k1', name: 'serverless-ts' },
      truncated: 4,
    });
    expect(exported.events).toEqual(s.all);
    expect(Number.isNaN(Date.parse(exported.exportedAt))).toBe(false);

    mapRun(s, 'r2', 1, 1);
    kernel.comm.receive(batch(s.take()));
    exported = JSON.parse(model.exportJson());
    expect(exported.events).toHaveLength(10);
    expect(exported.events[9]).toEqual(s.all[s.all.length - 1]);
    expect(exported.truncated).toBe(4 + s.all.length - 10);
  });

  it('throttles changed: the first change at once, the last at the end of the burst', () => {
    jest.useFakeTimers();
    makeModel({ throttleMs: 100 });
    const kernel = new FakeKernel('k');
    model.connect(kernel.connection);
    expect(emitted).toHaveLength(1);
    const s = new EventScript();
    for (let i = 0; i < 20; i++) {
      s.runStarted(`r${i}`);
      kernel.comm.receive(batch(s.take()));
      if (i % 5 === 4) {
        // Events wait to be folded until the state is read, and are there when it is.
        expect(model.state.runs.size).toBe(i + 1);
      }
      jest.advanceTimersByTime(10);
    }
    // 200 ms of events every 10 ms after the connect's signal: one signal at the end of each 100 ms window.
    jest.advanceTimersByTime(100);
    expect(emitted).toHaveLength(3);
    expect(emitted[emitted.length - 1].runs.size).toBe(20);
    expect(jest.getTimerCount()).toBe(0);

    // Quiet again: the next change is signalled at once.
    const count = emitted.length;
    kernel.comm.receive(batch(s.runStarted('late').take()));
    expect(emitted).toHaveLength(count + 1);

    // The budget warning is part of what views read.
    model.budgetWarningUsd = 2;
    jest.advanceTimersByTime(100);
    expect(model.budgetWarningUsd).toBe(2);
    expect(emitted).toHaveLength(count + 2);
    model.budgetWarningUsd = 0;
    expect(model.budgetWarningUsd).toBeNull();
  });

  it('shows a training the same way whether it was open all along or opened late (a replay of the hub history)', () => {
    // The kernel's hub stamps the events of a map run and a 16-worker training.
    const hub = new TelemetryHub({ logger: createMemoryLogger([]), validate: true });
    const sent: TelemetryEvent[] = [];
    hub.subscribe((event) => sent.push(JSON.parse(JSON.stringify(event)) as TelemetryEvent));
    const s = mapRun(new EventScript(), 'prep', 50, 4);
    s.runStarted('train', { executionCount: 9 });
    exchangeRun(s, 'train', {
      workers: 16,
      rounds: 300,
      strategy: 'scatter-reduce',
      ratio: 2,
      requestUsd: 4e-7,
    });
    for (const event of s.take()) {
      // As emitted: the hub stamps seq and time.
      const input: Partial<TelemetryEvent> = { ...event };
      delete input.seq;
      delete input.time;
      hub.emit(input as TelemetryEventInput);
    }
    hub.dispose();

    // Open all along: live batches as the hub flushes them.
    const live = makeModel();
    const k1 = new FakeKernel('k1');
    live.connect(k1.connection);
    k1.comm.receive(replay([]));
    for (let i = 0; i < sent.length; i += 97) {
      k1.comm.receive(batch(sent.slice(i, i + 97)));
    }
    const liveState = live.state;
    // Opened late: the kernel's history in one replay.
    const late = new TelemetryModel({ throttleMs: 0 });
    const k2 = new FakeKernel('k2');
    late.connect(k2.connection);
    k2.comm.receive(JSON.parse(JSON.stringify(replay(hub.history(), hub.truncated))));
    const lateState = late.state;
    late.dispose();

    expect(lateState.lastSeq).toBe(liveState.lastSeq);
    const plain = (state: TelemetryState) =>
      JSON.stringify([...state.exchanges.values()], (_key, value: unknown) =>
        value instanceof Map ? [...value.entries()] : value,
      );
    expect(liveState.exchanges.size).toBe(1);
    expect(plain(lateState)).toBe(plain(liveState));
    expect([...liveState.exchanges.values()][0].totals.parts).toBe(4800);
    expect(lateState.runs.get('prep')).toEqual(liveState.runs.get('prep'));
  });

  it('leaves no timer, comm or connection behind when disposed', () => {
    jest.useFakeTimers();
    makeModel({ throttleMs: 100 });
    const kernel = new FakeKernel('k');
    model.connect(kernel.connection);
    kernel.comm.receive(batch(new EventScript().runStarted('r').take()));
    expect(jest.getTimerCount()).toBe(1);
    let disposed = 0;
    model.disposed.connect(() => (disposed += 1));
    const comm = kernel.comm;
    model.dispose();
    model.dispose();
    expect(disposed).toBe(1);
    expect(model.isDisposed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    expect(comm.closed).toBe(1);
    expect(model.kernel).toBeNull();
    const count = emitted.length;
    kernel.setStatus('restarting');
    kernel.setStatus('idle');
    expect(kernel.comms).toHaveLength(1);
    model.connect(new FakeKernel('k2').connection);
    expect(model.kernel).toBeNull();
    expect(emitted).toHaveLength(count);
  });
});
