/**
 * The kernel behind a real jupyter_server, driven from Node by
 * @jupyterlab/services as JupyterLab drives it: comms both ways and
 * comm_info, interrupts of busy and pending cells, stdin prompts, restart.
 */
import { KernelMessage } from '@jupyterlab/services';

import { execute, resultText, useServerKernel, withTimeout } from '../helpers/kernel-session';

const fixture = useServerKernel();

describe('comms', () => {
  it('opens a comm to a kernel-registered target, exchanges messages both ways, lists it', async () => {
    const setup = await execute(
      fixture.kernel,
      [
        "import { comms } from 'serverless-kernel';",
        "comms.registerTarget('test.echo', (comm, open) => {",
        '  comm.send({ opened: open.data });',
        '  comm.onMessage((m) => comm.send({ echo: m.data, buffers: m.buffers.length }));',
        '});',
      ].join('\n'),
    );
    expect(setup.reply.content.status).toBe('ok');

    const comm = fixture.kernel.createComm('test.echo');
    const received: unknown[] = [];
    const nextMessage = (): Promise<unknown> =>
      withTimeout(
        new Promise((resolve) => {
          comm.onMsg = (msg) => {
            received.push(msg.content.data);
            resolve(msg.content.data);
          };
        }),
        10000,
        'a comm message from the kernel',
      );
    const opened = nextMessage();
    comm.open({ greeting: 'hello' });
    expect(await opened).toEqual({ opened: { greeting: 'hello' } });

    const echoed = nextMessage();
    comm.send({ n: 42 }, undefined, [new Uint8Array([1, 2, 3]).buffer]);
    expect(await echoed).toEqual({ echo: { n: 42 }, buffers: 1 });

    const info = await fixture.kernel.requestCommInfo({ target_name: 'test.echo' });
    const content = info.content as KernelMessage.ICommInfoReplyMsg['content'] & { status: 'ok' };
    expect(content.status).toBe('ok');
    expect(content.comms[comm.commId]).toEqual({ target_name: 'test.echo' });

    comm.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await fixture.kernel.requestCommInfo({ target_name: 'test.echo' });
    expect(Object.keys((after.content as { comms: object }).comms)).not.toContain(comm.commId);
  });

  it('lets kernel code open a comm to a frontend target', async () => {
    const opened = new Promise<{ data: unknown; fromKernel: unknown }>((resolve) => {
      fixture.kernel.registerCommTarget('test.frontend', (comm, msg) => {
        comm.onMsg = (m) => resolve({ data: msg.content.data, fromKernel: m.content.data });
      });
    });
    const run = await execute(
      fixture.kernel,
      "const c = comms.open('test.frontend', { hi: 1 });\nc.send({ value: 7 });\nc.targetName",
    );
    expect(run.reply.content.status).toBe('ok');
    expect(resultText(run)).toBe("'test.frontend'");
    expect(await withTimeout(opened, 10000, 'kernel-opened comm')).toEqual({
      data: { hi: 1 },
      fromKernel: { value: 7 },
    });
  });

  it('closes a comm opened for an unknown target', async () => {
    const comm = fixture.kernel.createComm('test.nobody-home');
    const closed = new Promise<void>((resolve) => {
      comm.onClose = () => resolve();
    });
    comm.open({});
    await withTimeout(closed, 10000, 'comm_close for an unknown target');
  });
});

describe('interrupt', () => {
  const interruptDuring = async (
    code: string,
  ): Promise<{ ms: number; ename: string | undefined; status: string }> => {
    const future = fixture.kernel.requestExecute({ code });
    // Let the cell start (and a busy loop spin) before interrupting.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const started = Date.now();
    await fixture.kernel.interrupt();
    const reply = (await withTimeout(
      future.done,
      5000,
      `interrupted ${code}`,
    )) as KernelMessage.IExecuteReplyMsg;
    const content = reply.content as { status: string; ename?: string };
    return { ms: Date.now() - started, ename: content.ename, status: content.status };
  };

  it('stops a synchronous busy loop within 1 s and keeps variables', async () => {
    expect((await execute(fixture.kernel, 'let keptAcrossInterrupt = 42;')).reply.content.status).toBe('ok');
    const outcome = await interruptDuring('while (true) {}');
    expect(outcome.status).toBe('error');
    expect(outcome.ename).toBe('Interrupted');
    expect(outcome.ms).toBeLessThan(1000);
    expect(resultText(await execute(fixture.kernel, 'keptAcrossInterrupt'))).toBe('42');
  });

  it('stops a never-settling await within 1 s', async () => {
    const outcome = await interruptDuring('await new Promise(() => {})');
    expect(outcome).toMatchObject({ status: 'error', ename: 'Interrupted' });
    expect(outcome.ms).toBeLessThan(1000);
    expect(resultText(await execute(fixture.kernel, 'keptAcrossInterrupt + 1'))).toBe('43');
  });

  it('ignores an interrupt while idle: the next cell runs normally', async () => {
    await fixture.kernel.interrupt();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(resultText(await execute(fixture.kernel, '20 + 22'))).toBe('42');
  });

  it('keeps delivering output after terminating a loop that followed a display', async () => {
    const outcome = await interruptDuring(
      "import { display } from 'serverless-kernel';\nawait 0;\ndisplay.text('before the loop');\nwhile (true) {}",
    );
    expect(outcome).toMatchObject({ status: 'error', ename: 'Interrupted' });
    // The interrupted cell's declarations (its import) never took effect.
    const after = await execute(
      fixture.kernel,
      "import { display } from 'serverless-kernel';\ndisplay.text('after the loop');\nconsole.log('printed');",
    );
    expect(after.reply.content.status).toBe('ok');
    const kinds = after.iopub.map((m) => m.header.msg_type);
    expect(kinds).toContain('display_data');
    expect(kinds).toContain('stream');
  });

  it('stops a busy loop that runs after an await, and the kernel keeps working', async () => {
    const outcome = await interruptDuring('await 0;\nwhile (true) {}');
    expect(outcome).toMatchObject({ status: 'error', ename: 'Interrupted' });
    expect(outcome.ms).toBeLessThan(1000);
    const after = await execute(fixture.kernel, 'keptAcrossInterrupt * 2');
    expect(after.reply.content).toMatchObject({ status: 'ok' });
    expect(resultText(after)).toBe('84');
  });
});

describe('stdin', () => {
  it('asks the frontend for input and returns the answer to the cell', async () => {
    const prompts: string[] = [];
    const run = await execute(
      fixture.kernel,
      "import { input } from 'serverless-kernel';\nconst answer = await input('Name? ');\n`hi ${answer}`",
      {
        allowStdin: true,
        onStdin: (msg) => {
          if (msg.header.msg_type === 'input_request') {
            prompts.push((msg.content as { prompt: string }).prompt);
            fixture.kernel.sendInputReply(
              { status: 'ok', value: 'Ada' },
              msg.header as KernelMessage.IHeader<'input_request'>,
            );
          }
        },
      },
    );
    expect(prompts).toEqual(['Name? ']);
    expect(resultText(run)).toBe("'hi Ada'");
  });

  it('fails clearly when the frontend does not allow stdin', async () => {
    const run = await execute(fixture.kernel, "await input('x')", { allowStdin: false });
    expect(run.reply.content.status).toBe('error');
    expect((run.reply.content as { ename: string }).ename).toBe('StdinNotAllowedError');
  });
});

describe('restart', () => {
  it('restarts into a fresh kernel without the old variables', async () => {
    await execute(fixture.kernel, 'const beforeRestart = 1;');
    await withTimeout(fixture.kernel.restart(), 30000, 'kernel restart');
    await withTimeout(fixture.kernel.info, 30000, 'kernel_info after restart');
    const run = await execute(fixture.kernel, 'beforeRestart');
    expect(run.reply.content).toMatchObject({ status: 'error', ename: 'CompileError' });
    expect((run.reply.content as { evalue: string }).evalue).toContain("Cannot find name 'beforeRestart'");
    expect(resultText(await execute(fixture.kernel, '2 ** 10'))).toBe('1024');
  });
});
