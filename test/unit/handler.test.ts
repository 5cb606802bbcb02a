/**
 * The protocol handler with the real tslab engine and no sockets: message
 * order, execute semantics (silent, store_history, user_expressions,
 * stop_on_error), introspection, comms, interrupts.
 */
import { comms } from '../../kernel-magics/src/comms';
import { KernelHandler } from '../../kernel-magics/src/kernel/handler';
import { captureStdio } from '../../kernel-magics/src/kernel/iopub-output';
import { createMemoryLogger } from '../../kernel-magics/src/kernel/log';
import { Channel, JsonObject, JupyterMessage } from '../../kernel-magics/src/kernel/messages';
import { HeaderFactory, OutgoingMessage } from '../../kernel-magics/src/kernel/wire';
import { setOutputSink } from '../../kernel-magics/src/output/sink';
import { TslabEngine } from '../../kernel-magics/src/tslab';

interface Sent {
  channel: Channel;
  message: OutgoingMessage;
}

const headers = new HeaderFactory();
let engine: TslabEngine;
let handler: KernelHandler;
let sent: Sent[];
const logLines: string[] = [];
let restoreStdio: () => void;

function request(msgType: string, content: JsonObject): JupyterMessage {
  return {
    identities: [],
    header: headers.create(msgType),
    parent_header: {},
    metadata: {},
    content,
    buffers: [],
  };
}

/** Messages sent for one request (by parent msg_id). */
function sentFor(message: JupyterMessage): Sent[] {
  return sent.filter(
    (s) => (s.message.parent as { msg_id?: string } | undefined)?.msg_id === message.header.msg_id,
  );
}

function replyTo(message: JupyterMessage): JsonObject {
  const reply = sentFor(message).find((s) => s.channel === 'shell' || s.channel === 'control');
  if (!reply) {
    throw new Error(`no reply to ${message.header.msg_type}`);
  }
  return reply.message.content;
}

async function run(code: string, extra: JsonObject = {}): Promise<JupyterMessage> {
  const message = request('execute_request', { code, ...extra });
  await handler.handle('shell', message);
  return message;
}

beforeAll(() => {
  engine = new TslabEngine(process.cwd());
  sent = [];
  handler = new KernelHandler({
    engine,
    comms,
    log: createMemoryLogger(logLines),
    io: { send: (channel, message) => sent.push({ channel, message }) },
    onShutdown: () => undefined,
  });
  setOutputSink(handler.output);
  restoreStdio = captureStdio(handler.output);
});

afterAll(() => {
  restoreStdio();
  setOutputSink(undefined);
  handler.output.dispose();
  engine.dispose();
});

describe('execute_request', () => {
  it('publishes busy, execute_input, streams, execute_result, idle; replies ok', async () => {
    const message = await run('console.log("out");\n6 * 7');
    const iopub = sentFor(message).filter((s) => s.channel === 'iopub');
    expect(iopub.map((s) => s.message.msgType)).toEqual([
      'status',
      'execute_input',
      'stream',
      'execute_result',
      'status',
    ]);
    expect(iopub[2].message.content).toEqual({ name: 'stdout', text: 'out\n' });
    const result = iopub[3].message.content;
    expect(result.data).toEqual({ 'text/plain': '42' });
    expect(replyTo(message)).toMatchObject({ status: 'ok', execution_count: result.execution_count });
  });

  it('publishes nothing but status for silent requests and does not count them', async () => {
    const before = (replyTo(await run('1')) as { execution_count: number }).execution_count;
    const silent = await run('console.log("hidden"); 5', { silent: true });
    expect(sentFor(silent).map((s) => s.message.msgType)).toEqual(['status', 'execute_reply', 'status']);
    expect(replyTo(silent).execution_count).toBe(before);
    const noHistory = await run('2', { store_history: false });
    expect(replyTo(noHistory).execution_count).toBe(before);
  });

  it('evaluates user_expressions after the cell', async () => {
    const message = await run('const ue = 10;', { user_expressions: { double: 'ue * 2', bad: 'nope(' } });
    const expressions = replyTo(message).user_expressions as Record<string, JsonObject>;
    expect(expressions.double).toEqual({ status: 'ok', data: { 'text/plain': '20' }, metadata: {} });
    expect(expressions.bad.status).toBe('error');
  });

  it('replies error with ename/evalue/traceback and publishes one error message', async () => {
    const message = await run('throw new SyntaxError("nope")');
    expect(replyTo(message)).toMatchObject({ status: 'error', ename: 'SyntaxError', evalue: 'nope' });
    const errors = sentFor(message).filter((s) => s.message.msgType === 'error');
    expect(errors).toHaveLength(1);
    expect((errors[0].message.content.traceback as string[])[0]).toBe('SyntaxError: nope');
  });

  it('aborts executes queued behind an error only with stop_on_error', async () => {
    const failing = request('execute_request', {
      code: 'await new Promise((r) => setTimeout(r, 50)); throw new Error("x")',
    });
    const queued = request('execute_request', { code: '"queued"' });
    await Promise.all([handler.handle('shell', failing), handler.handle('shell', queued)]);
    expect(replyTo(queued).status).toBe('aborted');
    // The next request, sent after the error, runs: no time window.
    expect(replyTo(await run('"after"')).status).toBe('ok');

    const tolerant = request('execute_request', {
      code: 'await new Promise((r) => setTimeout(r, 50)); throw new Error("y")',
      stop_on_error: false,
    });
    const next = request('execute_request', { code: '"runs"' });
    await Promise.all([handler.handle('shell', tolerant), handler.handle('shell', next)]);
    expect(replyTo(next).status).toBe('ok');
  });

  it('interrupts a pending await and keeps state', async () => {
    await run('let survivor = "alive";');
    const pending = request('execute_request', { code: 'await new Promise(() => {})' });
    const done = handler.handle('shell', pending);
    await new Promise((resolve) => setTimeout(resolve, 100));
    handler.interrupt();
    await done;
    expect(replyTo(pending)).toMatchObject({ status: 'error', ename: 'Interrupted' });
    const check = await run('survivor');
    expect(sentFor(check).find((s) => s.message.msgType === 'execute_result')?.message.content.data).toEqual({
      'text/plain': "'alive'",
    });
  });

  it('leaves the kernel busy after a kernel_info answered beside a running cell', async () => {
    const pending = request('execute_request', {
      code: 'await new Promise((resolve) => setTimeout(resolve, 300))',
    });
    const done = handler.handle('shell', pending);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const info = request('kernel_info_request', {});
    await handler.handle('shell', info);
    expect(replyTo(info).status).toBe('ok');
    // Frontends show the state of the last status message, whatever its parent.
    const statuses = () => sent.filter((s) => s.message.msgType === 'status');
    const last = statuses().at(-1)?.message;
    expect(last?.content.execution_state).toBe('busy');
    expect((last?.parent as { msg_id?: string }).msg_id).toBe(pending.header.msg_id);
    await done;
    expect(statuses().at(-1)?.message.content.execution_state).toBe('idle');
    // Every request still gets its own busy ... idle pair.
    expect(
      sentFor(info)
        .filter((s) => s.message.msgType === 'status')
        .map((s) => s.message.content.execution_state),
    ).toEqual(['busy', 'idle']);
  });

  it('replaces an updatable display in place', async () => {
    const message = await run(
      'import { display } from "serverless-kernel";\nconst d = display.updatable();\nd.text("1");\nd.text("2");',
    );
    expect(replyTo(message).status).toBe('ok');
    const types = sentFor(message).map((s) => s.message.msgType);
    expect(types.filter((t) => t.endsWith('display_data'))).toEqual(['display_data', 'update_display_data']);
  });
});

describe('introspection', () => {
  it('answers is_complete with complete, incomplete (with indent) and invalid', async () => {
    const verdict = async (code: string): Promise<JsonObject> => {
      const message = request('is_complete_request', { code });
      await handler.handle('shell', message);
      return replyTo(message);
    };
    expect(await verdict('1 + 1')).toEqual({ status: 'complete' });
    expect(await verdict('if (x) {')).toEqual({ status: 'incomplete', indent: '  ' });
    expect(await verdict('const t = `line one')).toEqual({ status: 'incomplete', indent: '' });
    expect(await verdict('1 +* 2')).toEqual({ status: 'invalid' });
    expect(await verdict('}')).toEqual({ status: 'invalid' });
  });

  it('completes and inspects with code-point cursor positions', async () => {
    const complete = request('complete_request', { code: '"😀"; Math.fl', cursor_pos: 12 });
    await handler.handle('shell', complete);
    expect(replyTo(complete)).toMatchObject({
      status: 'ok',
      matches: ['floor'],
      cursor_start: 10,
      cursor_end: 12,
    });
    const inspect = request('inspect_request', { code: 'Math.floor', cursor_pos: 8, detail_level: 0 });
    await handler.handle('shell', inspect);
    const reply = replyTo(inspect) as { found: boolean; data: Record<string, string> };
    expect(reply.found).toBe(true);
    expect(reply.data['text/plain']).toContain('floor(x: number): number');
  });
});

describe('comms and unknown messages', () => {
  it('answers comm_open for an unknown target with comm_close', async () => {
    const open = request('comm_open', { comm_id: 'c-1', target_name: 'missing', data: {} });
    await handler.handle('shell', open);
    const closes = sentFor(open).filter((s) => s.message.msgType === 'comm_close');
    expect(closes.map((s) => s.message.content)).toEqual([{ comm_id: 'c-1', data: {} }]);
  });

  it('logs unknown message types and sends only status', async () => {
    const unknown = request('mystery_request', {});
    await handler.handle('shell', unknown);
    expect(sentFor(unknown).map((s) => s.message.msgType)).toEqual(['status', 'status']);
    expect(logLines.some((line) => line.includes('Ignoring unknown message type "mystery_request"'))).toBe(
      true,
    );
  });
});
