/**
 * The KernelFollower over a fake notebook tracker: the current notebook's
 * kernel through notebook switches and kernel changes, and a TelemetryModel
 * driven by it.
 */
import { KernelFollower } from '../../extension/src/model/notebook-tracking';
import { TelemetryModel } from '../../extension/src/model/telemetry-model';
import { TELEMETRY_PROTOCOL_VERSION } from '../../extension/src/telemetry';
import { EventScript, FakeKernel, FakeSessionContext, FakeTracker } from './extension-fixtures';

let model: TelemetryModel | undefined;

afterEach(() => {
  model?.dispose();
  model = undefined;
});

function replayOf(events: object[]): object {
  return { type: 'replay', version: TELEMETRY_PROTOCOL_VERSION, events, truncated: 0 };
}

describe('KernelFollower', () => {
  it('reports the kernel of the current notebook as notebooks and kernels change', () => {
    const tracker = new FakeTracker();
    const k1 = new FakeKernel('k1');
    const k2 = new FakeKernel('k2');
    const nb1 = { sessionContext: new FakeSessionContext() };
    const nb2 = { sessionContext: new FakeSessionContext() };
    nb1.sessionContext.setKernel(k1);
    tracker.currentWidget = nb1;
    const seen: (string | null)[] = [];
    const follower = new KernelFollower(tracker, (kernel) => seen.push(kernel ? kernel.id : null));
    expect(seen).toEqual(['k1']);
    expect(follower.kernel).toBe(k1.connection);

    tracker.setCurrent(nb2); // no kernel yet
    nb2.sessionContext.setKernel(k2);
    nb1.sessionContext.setKernel(null); // not current: not followed
    tracker.setCurrent(nb1);
    nb1.sessionContext.setKernel(k2); // same kernel as before: nothing
    nb1.sessionContext.setKernel(k1);
    tracker.setCurrent(null);
    expect(seen).toEqual(['k1', null, 'k2', null, 'k2', 'k1', null]);

    follower.dispose();
    expect(follower.isDisposed).toBe(true);
    tracker.setCurrent(nb1);
    expect(seen).toHaveLength(7);
  });

  it('drives a TelemetryModel through notebook switches', () => {
    const telemetry = new TelemetryModel({ throttleMs: 0 });
    model = telemetry;
    const tracker = new FakeTracker();
    const k1 = new FakeKernel('k1');
    const k2 = new FakeKernel('k2');
    const nb1 = { sessionContext: new FakeSessionContext() };
    const nb2 = { sessionContext: new FakeSessionContext() };
    nb1.sessionContext.setKernel(k1);
    nb2.sessionContext.setKernel(k2);
    const follower = new KernelFollower(tracker, (kernel) => telemetry.connect(kernel));
    tracker.setCurrent(nb1);
    k1.comm.receive(replayOf(new EventScript().runStarted('one').take()));
    tracker.setCurrent(nb2);
    k2.comm.receive(replayOf(new EventScript().runStarted('two').take()));
    expect([...telemetry.state.runs.keys()]).toEqual(['two']);
    tracker.setCurrent(nb1);
    expect(k1.comms).toHaveLength(2);
    k1.comm.receive(replayOf(new EventScript().runStarted('one').take()));
    expect([...telemetry.state.runs.keys()]).toEqual(['one']);
    follower.dispose();
  });
});
