/**
 * The kernel process at the wire level: malformed input never kills it or
 * leaks output into cells; shutdown replies and ends the process cleanly.
 */
import * as zmq from 'zeromq';

import { JupyterMessage } from '../../kernel-magics/src/kernel/messages';
import { decodeMessage } from '../../kernel-magics/src/kernel/wire';
import { TELEMETRY_TARGET } from '../../kernel-magics/src/telemetry/protocol';
import { RawKernel } from '../helpers/raw-kernel';
import { isAlive, waitFor } from '../helpers/processes';

describe('malformed input', () => {
  let kernel: RawKernel;

  beforeAll(async () => {
    kernel = await RawKernel.start();
  });

  afterAll(async () => {
    await kernel?.dispose();
  });

  it('drops and logs a message with a bad signature, and runs none of it', async () => {
    const id = await kernel.send(
      'shell',
      'execute_request',
      { code: 'console.log("must not run")' },
      'deadbeef',
    );
    await expect(kernel.receive(kernel.shell, 1500)).rejects.toThrow();
    // The main thread reads shell, so the drop is logged once it is done warming up.
    await waitFor(
      () => kernel.stderr.includes('Dropped shell message: Invalid message signature'),
      15000,
      'the dropped message to be logged',
    );
    expect(kernel.iopubFor(id)).toEqual([]);

    const ok = await kernel.send('shell', 'execute_request', { code: 'console.log("after")' });
    const reply = await kernel.receive(kernel.shell, 15000);
    expect(reply.parent_header.msg_id).toBe(ok);
    expect(reply.content.status).toBe('ok');
    const streams = (await kernel.idleFor(ok)).filter((m) => m.header.msg_type === 'stream');
    expect(streams.map((m) => m.content.text).join('')).toBe('after\n');
    const everything = kernel.iopubMessages.map((m) => JSON.stringify(m.content)).join('\n');
    expect(everything).not.toContain('must not run');
  });

  it('drops frames without the <IDS|MSG> delimiter and keeps serving', async () => {
    await kernel.sendRaw([Buffer.from('garbage'), Buffer.from('{}')]);
    const id = await kernel.send('shell', 'kernel_info_request', {});
    const reply = await kernel.receive(kernel.shell, 15000);
    expect(reply.parent_header.msg_id).toBe(id);
    expect(kernel.stderr).toContain('Dropped shell message');
  });

  it('ignores an unknown message type: no reply, no output, only busy/idle', async () => {
    const id = await kernel.send('shell', 'frobnicate_request', { code: 'x' });
    const published = await kernel.idleFor(id);
    expect(published.map((m) => m.header.msg_type)).toEqual(['status', 'status']);
    await expect(kernel.receive(kernel.shell, 1000)).rejects.toThrow();
    expect(kernel.stderr).toContain('Ignoring unknown message type "frobnicate_request"');

    const next = await kernel.send('shell', 'execute_request', { code: '40 + 2' });
    const reply = await kernel.receive(kernel.shell, 15000);
    expect(reply.parent_header.msg_id).toBe(next);
    const outputs = (await kernel.idleFor(next)).map((m) => m.header.msg_type);
    expect(outputs).toEqual(['status', 'execute_input', 'execute_result', 'status']);
  });
});

describe('replayed messages', () => {
  let kernel: RawKernel;

  beforeAll(async () => {
    kernel = await RawKernel.start();
  });

  afterAll(async () => {
    await kernel?.dispose();
  });

  it.each(['shell', 'control'] as const)(
    'refuses a validly signed execute_request sent again on %s, and runs it once',
    async (again) => {
      const code = 'globalThis.__runs = (globalThis.__runs ?? 0) + 1';
      const id = await kernel.send('shell', 'execute_request', { code });
      expect((await kernel.receive(kernel.shell, 30000)).parent_header.msg_id).toBe(id);
      await kernel.idleFor(id);
      await kernel.resend(again);
      await waitFor(
        () => kernel.stderr.includes(`Dropped ${again} message: Duplicate Signature`),
        15000,
        'the replay to be logged',
      );
      await expect(kernel.receive(again === 'shell' ? kernel.shell : kernel.control, 500)).rejects.toThrow();
      const count = await kernel.send('shell', 'execute_request', { code: 'globalThis.__runs' });
      expect((await kernel.receive(kernel.shell, 15000)).parent_header.msg_id).toBe(count);
      const result = (await kernel.idleFor(count)).find((m) => m.header.msg_type === 'execute_result');
      expect(result?.content.data).toEqual({ 'text/plain': again === 'shell' ? '1' : '2' });
      // Busy/idle and the result of the first run only: the replay published nothing.
      expect(kernel.iopubFor(id).filter((m) => m.header.msg_type === 'execute_input')).toHaveLength(1);
    },
  );
});

describe('iopub under load', () => {
  let kernel: RawKernel;
  let slow: zmq.Subscriber | undefined;

  beforeAll(async () => {
    kernel = await RawKernel.start();
  });

  afterAll(async () => {
    slow?.close();
    await kernel?.dispose();
  });

  /** Reads `socket` until the idle status of `msgId`; returns the messages of that request. */
  async function readUntilIdle(
    socket: zmq.Subscriber,
    msgId: string,
    timeoutMs = 30000,
  ): Promise<JupyterMessage[]> {
    socket.receiveTimeout = timeoutMs;
    const mine: JupyterMessage[] = [];
    for (;;) {
      const message = decodeMessage(await socket.receive(), kernel.signer);
      if (message.parent_header.msg_id === msgId) {
        mine.push(message);
        if (message.header.msg_type === 'status' && message.content.execution_state === 'idle') {
          return mine;
        }
      }
    }
  }

  it('loses no result or status of a cell to 2,000 telemetry comms and a subscriber that reads late', async () => {
    const comms = 2000;
    for (let i = 0; i < comms; i++) {
      await kernel.send('shell', 'comm_open', {
        comm_id: `panel-${i}`,
        target_name: TELEMETRY_TARGET,
        data: {},
      });
    }
    const info = await kernel.send('shell', 'comm_info_request', { target_name: TELEMETRY_TARGET });
    const reply = await kernel.receive(kernel.shell, 60000);
    expect(reply.parent_header.msg_id).toBe(info);
    expect(Object.keys(reply.content.comms as object)).toHaveLength(comms);

    // A second subscriber (a frontend) that stops reading once it is connected.
    slow = new zmq.Subscriber();
    slow.connect(kernel.iopubEndpoint);
    slow.subscribe();
    await waitFor(
      async () => {
        const ping = await kernel.send('shell', 'kernel_info_request', {});
        await kernel.receive(kernel.shell, 5000);
        try {
          // Short: a ping published before the subscription took hold never arrives; the next one will.
          await readUntilIdle(slow as zmq.Subscriber, ping, 1000);
          return true;
        } catch {
          return false;
        }
      },
      15000,
      'the second subscriber to be connected',
    );

    const id = await kernel.send('shell', 'execute_request', {
      code: '%%serverless --map Array.from({ length: 200 }, (_, i) => i) --as x\nx + 1',
    });
    const executed = await kernel.receive(kernel.shell, 120000);
    expect(executed.parent_header.msg_id).toBe(id);
    expect(executed.content.status).toBe('ok');
    const published = await readUntilIdle(slow, id);
    const result = published.find((m) => m.header.msg_type === 'execute_result');
    expect(String((result?.content.data as Record<string, unknown>)['text/plain'])).toContain(
      '... 100 more items',
    );
    // The late reader got the run's telemetry too, in batches per comm.
    const batches = published.filter(
      (m) => m.header.msg_type === 'comm_msg' && m.content.comm_id === 'panel-0',
    );
    expect(batches.length).toBeGreaterThan(0);
    await kernel.idleFor(id, 60000);
  }, 240000);
});

describe('busy main thread', () => {
  let kernel: RawKernel;

  beforeAll(async () => {
    kernel = await RawKernel.start();
  });

  afterAll(async () => {
    await kernel?.dispose();
  });

  it('answers control kernel_info during a busy loop, and queued shell requests after its termination', async () => {
    // Once the engine is warm: the main thread reads shell only then.
    const warm = await kernel.send('shell', 'execute_request', { code: '1' });
    expect((await kernel.receive(kernel.shell, 30000)).parent_header.msg_id).toBe(warm);
    const busy = await kernel.send('shell', 'execute_request', { code: 'await 0;\nwhile (true) {}' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The main thread owns shell: these wait in zeromq while the loop runs.
    const info = await kernel.send('shell', 'kernel_info_request', {});
    const next = await kernel.send('shell', 'execute_request', { code: '6 * 7' });
    const controlInfo = await kernel.send('control', 'kernel_info_request', {});
    expect((await kernel.receive(kernel.control, 5000)).parent_header.msg_id).toBe(controlInfo);

    await kernel.send('control', 'interrupt_request', {});
    expect((await kernel.receive(kernel.control, 5000)).header.msg_type).toBe('interrupt_reply');
    const replies = new Map<string, JupyterMessage>();
    for (let i = 0; i < 3; i++) {
      const reply = await kernel.receive(kernel.shell, 10000);
      replies.set(reply.parent_header.msg_id, reply);
    }
    expect(replies.get(busy)?.content).toMatchObject({ status: 'error', ename: 'Interrupted' });
    expect(replies.get(info)?.header.msg_type).toBe('kernel_info_reply');
    expect(replies.get(next)?.content.status).toBe('ok');
    const result = (await kernel.idleFor(next)).find((m) => m.header.msg_type === 'execute_result');
    expect(result?.content.data).toEqual({ 'text/plain': '42' });
  });
});

describe('shutdown', () => {
  it.each([true, false])(
    'drops the output of a map that a shutdown (restart=%s) interrupts, never printing it to its own stdout',
    async (restart) => {
      const kernel = await RawKernel.start();
      try {
        const id = await kernel.send('shell', 'execute_request', {
          code:
            '%%serverless --map Array.from({ length: 40 }, (_, i) => i) --as x --concurrency 2\n' +
            'console.log(`element ${x}`);\nawait new Promise((r) => setTimeout(r, 200));\nx',
        });
        await waitFor(
          () => kernel.iopubFor(id).some((m) => m.header.msg_type === 'update_display_data'),
          30000,
          'the progress bar to be redrawn',
        );
        await kernel.send('control', 'shutdown_request', { restart });
        expect((await kernel.receive(kernel.control, 10000)).header.msg_type).toBe('shutdown_reply');
        expect(await kernel.waitForExit(10000)).toBe(0);
        expect(kernel.stdout).toBe('');
      } finally {
        await kernel.dispose();
      }
    },
    60000,
  );

  it.each([false, true])('answers shutdown_request (restart=%s) and exits with code 0', async (restart) => {
    const kernel = await RawKernel.start();
    try {
      const pid = kernel.child.pid as number;
      const id = await kernel.send('control', 'shutdown_request', { restart });
      const reply = await kernel.receive(kernel.control, 10000);
      expect(reply.parent_header.msg_id).toBe(id);
      expect(reply.header.msg_type).toBe('shutdown_reply');
      expect(reply.content).toEqual({ status: 'ok', restart });
      expect(await kernel.waitForExit(5000)).toBe(0);
      expect(isAlive(pid)).toBe(false);
    } finally {
      await kernel.dispose();
    }
  });
});
