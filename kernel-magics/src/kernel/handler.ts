/**
 * The protocol handler: takes decoded messages from any channel, keeps the
 * spec's ordering rules (busy/idle around every request, execute requests
 * in order, queued executes aborted after an error when the client asked),
 * and sends replies through a KernelIO. No sockets here: the transport is
 * separate so this is tested in-process.
 */
import { errorContent } from '../output/format';
import { CommRegistry } from './comms';
import { CodeEngine } from './engine';
import { ExecuteHandler } from './execute';
import { HistoryQuery, HistoryStore } from './history';
import { completeReply, inspectReply, isCompleteReply } from './introspection';
import { IopubOutput } from './iopub-output';
import { kernelInfoReply } from './kernel-info';
import { Logger } from './log';
import {
  booleanField,
  Channel,
  JsonObject,
  JupyterMessage,
  MessageHeader,
  numberField,
  objectField,
  stringField,
} from './messages';
import { StdinBroker } from './stdin';
import { OutgoingMessage, SendLane } from './wire';

/** How the handler sends messages; the transport implements it. */
export interface KernelIO {
  send(channel: Channel, message: OutgoingMessage): void;
  /** Bulk iopub messages still waiting to go out (0 when the transport has no such queue). */
  bulkBacklog?(): number;
}

/** Everything a KernelHandler works with. */
export interface KernelHandlerOptions {
  engine: CodeEngine;
  io: KernelIO;
  comms: CommRegistry;
  log: Logger;
  /** Called after shutdown_reply was sent. */
  onShutdown(restart: boolean): void;
}

/** Requests answered at once, even while a cell runs (they never touch user state). */
const IMMEDIATE = new Set([
  'kernel_info_request',
  'comm_open',
  'comm_msg',
  'comm_close',
  'comm_info_request',
]);

type RequestHandler = (message: JupyterMessage) => Promise<JsonObject | undefined> | JsonObject | undefined;

/** Dispatches Jupyter messages to their handlers. */
export class KernelHandler {
  /** The iopub output sink cells write to. */
  readonly output: IopubOutput;
  /** stdin prompts of running cells. */
  readonly stdin: StdinBroker;
  private readonly history = new HistoryStore();
  private readonly execute: ExecuteHandler;
  private readonly handlers: Record<string, RequestHandler>;
  private shellQueue: Promise<void> = Promise.resolve();
  /** Incremented by every execute error with stop_on_error (see `enqueue`). */
  private errorEpoch = 0;
  private shuttingDown = false;
  /** The last execute request: comm messages sent by kernel code are parented to it. */
  private lastParent: MessageHeader | Record<string, never> = {};
  /** The header of the execute request being run, if any. */
  private executing?: MessageHeader;

  constructor(private readonly options: KernelHandlerOptions) {
    const { engine, io, comms } = options;
    this.output = new IopubOutput((msgType, content, parent) => this.publish(msgType, content, parent));
    this.stdin = new StdinBroker((message) => io.send('stdin', message));
    this.execute = new ExecuteHandler({
      engine,
      output: this.output,
      history: this.history,
      stdin: this.stdin,
      publish: (msgType, content, parent) => this.publish(msgType, content, parent),
    });
    comms.connect(
      (msgType, content, buffers, lane) => {
        this.publish(msgType, content, this.lastParent, buffers, lane);
      },
      () => io.bulkBacklog?.() ?? 0,
    );
    this.handlers = {
      kernel_info_request: () => kernelInfoReply(),
      complete_request: (m) => completeReply(engine, m.content),
      inspect_request: (m) => inspectReply(engine, m.content),
      is_complete_request: (m) => isCompleteReply(engine, m.content),
      history_request: (m) => this.historyReply(m.content),
      comm_info_request: (m) => this.commInfoReply(m.content),
      comm_open: (m) => this.commOpen(m),
      comm_msg: (m) => this.commMessage(m),
      comm_close: (m) => this.commClose(m),
      interrupt_request: () => this.interrupt(),
      shutdown_request: (m) => this.shutdown(m),
    };
  }

  /**
   * Handles one message. The promise settles when the message was processed
   * (execute requests wait for the cells queued before them).
   */
  handle(channel: Channel, message: JupyterMessage): Promise<void> {
    if (channel === 'stdin') {
      this.stdin.handleReply(message);
      return Promise.resolve();
    }
    const type = message.header.msg_type;
    if (channel === 'control' || IMMEDIATE.has(type)) {
      return this.process(channel, message);
    }
    const epoch = this.errorEpoch;
    const task = this.shellQueue.then(() => this.process(channel, message, epoch));
    this.shellQueue = task.catch(() => undefined);
    return task;
  }

  /** Stops the running cell (pending awaits and input prompts). */
  interrupt(): JsonObject {
    this.stdin.cancel();
    this.options.engine.interrupt();
    return { status: 'ok' };
  }

  private async process(channel: Channel, message: JupyterMessage, epoch?: number): Promise<void> {
    const type = message.header.msg_type;
    this.publish('status', { execution_state: 'busy' }, message.header);
    try {
      if (type === 'execute_request') {
        await this.runExecute(message, epoch ?? this.errorEpoch);
      } else {
        const handler = this.handlers[type] as RequestHandler | undefined;
        if (!handler) {
          this.options.log.warn(`Ignoring unknown message type "${type}" on ${channel}`);
        } else {
          const reply = await this.safely(type, () => handler(message));
          if (reply) {
            this.reply(channel, message, reply);
          }
        }
      }
    } finally {
      this.output.flush();
      this.publish('status', { execution_state: 'idle' }, message.header);
      if (this.executing && type !== 'execute_request') {
        // A request answered beside a running cell (kernel_info, comms) must
        // not leave frontends showing an idle kernel: they take the kernel's
        // state from the last status message, whatever its parent.
        this.publish('status', { execution_state: 'busy' }, this.executing);
      }
    }
  }

  private async runExecute(message: JupyterMessage, epoch: number): Promise<void> {
    this.lastParent = message.header;
    this.executing = message.header;
    try {
      await this.runExecuteNow(message, epoch);
    } finally {
      this.executing = undefined;
    }
  }

  private async runExecuteNow(message: JupyterMessage, epoch: number): Promise<void> {
    if (epoch < this.errorEpoch || this.shuttingDown) {
      // An earlier cell failed with stop_on_error after this one was queued.
      this.reply('shell', message, this.execute.abortedReply());
      return;
    }
    const reply = await this.safely('execute_request', async () => {
      const result = await this.execute.run(message);
      if (result.abortsQueue) {
        this.errorEpoch += 1;
      }
      return result.reply;
    });
    // A failure of the handler itself still answers with the current count.
    this.reply('shell', message, {
      execution_count: this.execute.count,
      ...(reply ?? this.execute.abortedReply()),
    });
  }

  /** Runs a handler; a bug in it becomes an error reply, never a crash. */
  private async safely(type: string, run: () => Promise<JsonObject | undefined> | JsonObject | undefined) {
    try {
      return await run();
    } catch (error) {
      this.options.log.error(`Handler for ${type} failed: ${String((error as Error).stack ?? error)}`);
      return { status: 'error', ...errorContent(error) };
    }
  }

  private historyReply(content: JsonObject): JsonObject {
    const access = stringField(content, 'hist_access_type', 'tail');
    if (access !== 'tail' && access !== 'range' && access !== 'search') {
      return { status: 'ok', history: [] };
    }
    const query: HistoryQuery = {
      hist_access_type: access,
      output: booleanField(content, 'output', false),
      session: numberField(content, 'session'),
      start: numberField(content, 'start'),
      stop: numberField(content, 'stop'),
      n: numberField(content, 'n'),
      pattern: stringField(content, 'pattern', '*'),
      unique: booleanField(content, 'unique', false),
    };
    return { status: 'ok', history: this.history.query(query) };
  }

  private commInfoReply(content: JsonObject): JsonObject {
    const target = typeof content.target_name === 'string' ? content.target_name : undefined;
    const comms: JsonObject = {};
    for (const comm of this.options.comms.list(target)) {
      comms[comm.commId] = { target_name: comm.targetName };
    }
    return { status: 'ok', comms };
  }

  private commOpen(message: JupyterMessage): undefined {
    const commId = stringField(message.content, 'comm_id');
    const target = stringField(message.content, 'target_name');
    const opened = this.options.comms.handleOpen(commId, target, {
      data: objectField(message.content, 'data'),
      buffers: message.buffers,
    });
    if (!opened) {
      // The spec: a comm_open for an unknown target is answered by comm_close.
      this.options.log.warn(`comm_open for unknown target "${target}"`);
      this.publish('comm_close', { comm_id: commId, data: {} }, message.header);
    }
    return undefined;
  }

  private commMessage(message: JupyterMessage): undefined {
    const commId = stringField(message.content, 'comm_id');
    const known = this.options.comms.handleMessage(commId, {
      data: objectField(message.content, 'data'),
      buffers: message.buffers,
    });
    if (!known) {
      this.options.log.warn(`comm_msg for unknown comm "${commId}"`);
    }
    return undefined;
  }

  private commClose(message: JupyterMessage): undefined {
    this.options.comms.handleClose(stringField(message.content, 'comm_id'), {
      data: objectField(message.content, 'data'),
      buffers: message.buffers,
    });
    return undefined;
  }

  private shutdown(message: JupyterMessage): JsonObject {
    const restart = booleanField(message.content, 'restart', false);
    this.shuttingDown = true;
    this.interrupt();
    const content = { status: 'ok', restart };
    // Spec 5.4: the reply is also broadcast on iopub.
    this.publish('shutdown_reply', content, message.header);
    setImmediate(() => this.options.onShutdown(restart));
    return content;
  }

  private reply(channel: Channel, request: JupyterMessage, content: JsonObject): void {
    const msgType = request.header.msg_type.replace(/_request$/, '_reply');
    this.options.io.send(channel, {
      msgType,
      content,
      parent: request.header,
      identities: request.identities,
    });
  }

  private publish(
    msgType: string,
    content: JsonObject,
    parent: MessageHeader | Record<string, never>,
    buffers?: Buffer[],
    lane?: SendLane,
  ): void {
    this.options.io.send('iopub', { msgType, content, parent, buffers, lane });
  }
}
