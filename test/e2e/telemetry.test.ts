/**
 * The telemetry comm as the side panel uses it, through a real jupyter_server
 * and @jupyterlab/services: live events of a `%%serverless --map` run, the
 * replay of the whole history to a comm opened late, the cost totals matching
 * `%serverless cost`, and a cancel request stopping a running map (one naming
 * another run leaving it running).
 */
import { KernelMessage } from '@jupyterlab/services';
import type { IComm } from '@jupyterlab/services/lib/kernel/kernel';

import { TELEMETRY_TARGET, TelemetryEvent } from '../../kernel-magics/src/telemetry';
import { execute, resultText, useServerKernel, withTimeout } from '../helpers/kernel-session';

const fixture = useServerKernel();

interface Envelope {
  type: 'events' | 'replay';
  events: TelemetryEvent[];
}

/** Opens a telemetry comm and collects every event it receives. */
function openTelemetry(): { comm: IComm; events: TelemetryEvent[]; replays: Envelope[] } {
  const comm = fixture.kernel.createComm(TELEMETRY_TARGET);
  const events: TelemetryEvent[] = [];
  const replays: Envelope[] = [];
  comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
    const envelope = msg.content.data as unknown as Envelope;
    if (envelope.type === 'replay') {
      replays.push(envelope);
    } else {
      events.push(...envelope.events);
    }
  };
  comm.open({});
  return { comm, events, replays };
}

async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('telemetry comm', () => {
  it('streams the events of a map run, then replays the whole history to a late comm', async () => {
    const live = openTelemetry();
    await execute(fixture.kernel, 'const xs = Array.from({ length: 20 }, (_, i) => i);');
    const run = await execute(fixture.kernel, '%%serverless --map xs --as x --concurrency 4\nx + 1', {
      timeoutMs: 60_000,
    });
    expect(run.reply.content.status).toBe('ok');
    await until(() => live.events.some((e) => e.type === 'run-finished'), 'run-finished');
    // The run is tagged with its cell's execution count, as the notebook shows it ([n]).
    const runStarted = live.events.find((e) => e.type === 'run-started');
    const count = (run.reply.content as { execution_count?: number }).execution_count;
    expect(count).toBeGreaterThan(0);
    expect(runStarted?.type === 'run-started' && runStarted.executionCount).toBe(count);

    const finished = live.events.filter((e) => e.type === 'invocation-finished');
    expect(finished).toHaveLength(20);
    expect(new Set(finished.map((e) => (e.type === 'invocation-finished' ? e.index : -1)))).toEqual(
      new Set(Array.from({ length: 20 }, (_, i) => i)),
    );
    for (const event of finished) {
      if (event.type === 'invocation-finished') {
        expect(event.status).toBe('ok');
        expect(event.billedMs).toBeGreaterThanOrEqual(1);
        expect(event.bill.totalUsd).toBeGreaterThan(0);
        expect(event.memoryMb).toBe(1024);
        expect(event.bytesIn).toBeGreaterThan(0);
      }
    }
    const started = live.events.filter((e) => e.type === 'invocation-started');
    expect(started.some((e) => e.type === 'invocation-started' && e.cold)).toBe(true);
    const seqs = live.events.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);

    // A panel opened late asks for the history and gets all of it, in order.
    const late = openTelemetry();
    late.comm.send({ type: 'replay' });
    await until(() => late.replays.length > 0, 'replay');
    const replayed = late.replays[0].events;
    expect(replayed.map((e) => e.seq)).toEqual(expect.arrayContaining(seqs));
    expect(replayed.filter((e) => e.type === 'invocation-finished')).toHaveLength(20);

    // The cost totals the panel shows are the ones %serverless cost prints.
    const totals = [...live.events].reverse().find((e) => e.type === 'cost-totals');
    expect(totals).toBeDefined();
    const cost = await execute(fixture.kernel, '%serverless cost');
    const display = cost.iopub.find((m) => m.header.msg_type === 'display_data') as
      KernelMessage.IDisplayDataMsg | undefined;
    const text = String(display?.content.data['text/plain'] ?? '');
    if (totals?.type === 'cost-totals') {
      expect(text).toContain(totals.totalUsd.toPrecision(3).replace(/0+$/, '').replace(/\.$/, ''));
    }
    live.comm.close();
    late.comm.close();
  }, 90_000);

  it('a cancel request stops a running map within a second; one for another run does not', async () => {
    const live = openTelemetry();
    const future = fixture.kernel.requestExecute({
      code: '%%serverless --map xs --as x --concurrency 2\nawait new Promise((r) => setTimeout(r, 3000));\nx',
    });
    await until(() => live.events.some((e) => e.type === 'invocation-started'), 'an invocation to start');
    const started = live.events.find((e) => e.type === 'run-started');
    const runId = started?.type === 'run-started' ? started.runId : '';
    // A panel that still shows an earlier run asks to cancel that one: this run goes on.
    live.comm.send({ type: 'cancel', runId: 'an-earlier-run' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(live.events.some((e) => e.type === 'run-finished')).toBe(false);
    const sentAt = Date.now();
    live.comm.send({ type: 'cancel', runId });
    const reply = (await withTimeout(
      future.done,
      10_000,
      'the cancelled cell',
    )) as KernelMessage.IExecuteReplyMsg;
    expect(Date.now() - sentAt).toBeLessThan(1500);
    expect(reply.content.status).toBe('error');
    await until(() => live.events.some((e) => e.type === 'run-finished'), 'run-finished');
    const finishedRun = live.events.find((e) => e.type === 'run-finished');
    expect(finishedRun?.type === 'run-finished' && finishedRun.status).toBe('cancelled');
    expect(resultText(await execute(fixture.kernel, '1 + 1'))).toBe('2');
    live.comm.close();
  }, 60_000);
});
