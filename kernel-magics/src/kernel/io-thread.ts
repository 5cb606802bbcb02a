/**
 * The I/O thread: owns the control, heartbeat and stdin sockets in a worker
 * thread, so that heartbeats and control requests (kernel_info, interrupts)
 * are answered while the main thread runs a busy cell or warms up the
 * compiler. It verifies and decodes incoming messages (bad signatures are
 * logged and dropped), encodes and signs outgoing ones. Shell and iopub are
 * the main thread's (main-sockets.ts): a cell's request, output and reply
 * then cross no thread.
 *
 * `interrupt_request` is served here: SIGINT to our own process stops
 * synchronous top-level code (tslab runs it with breakOnSigint) and wakes
 * the main thread's handler that rejects pending awaits. If the main thread
 * stays unresponsive (a busy loop after an await), the inspector terminates
 * the running JavaScript, and the main thread is told so: V8 drops its
 * pending promise jobs on termination, and it recovers what lived in them.
 */
import { Session } from 'node:inspector';
import { MessagePort, parentPort, workerData } from 'node:worker_threads';

import * as zmq from 'zeromq';

import { CellPhase, SharedCellState } from './cell-state';
import { ConnectionInfo, endpoint } from './connection';
import { createStderrLogger, Logger } from './log';
import { kernelInfoReply } from './kernel-info';
import { fromThreadMessage, JsonObject, JupyterMessage, toThreadMessage } from './messages';
import { SerialSender } from './serial-sender';
import { SignatureHistory } from './signature-history';
import {
  decodeMessage,
  encodeMessage,
  HeaderFactory,
  MessageSigner,
  OutgoingMessage,
  WireError,
} from './wire';

/** How long closing waits for queued replies to go out, and then for peers (ms). */
const CLOSE_LINGER_MS = 500;

/** Data the main thread passes to the I/O thread. */
export interface IoThreadData {
  connection: ConnectionInfo;
  /** The kernel's session id (the main thread's headers carry it too). */
  session: string;
  /** The main thread's SharedCellState buffer. */
  cellState: SharedArrayBuffer;
  /** How long the main thread may stay unresponsive after SIGINT. */
  terminateAfterMs: number;
}

/** The channels whose sockets the I/O thread owns. */
export type ThreadChannel = 'control' | 'stdin';

/** Messages between the main thread and the I/O thread. */
export type IoThreadMessage =
  | { type: 'ready' }
  | { type: 'received'; channel: ThreadChannel; message: JupyterMessage }
  | { type: 'send'; messages: { channel: ThreadChannel; message: OutgoingMessage }[] }
  /** iopub messages for the main thread to publish (its socket). */
  | { type: 'publish'; messages: OutgoingMessage[] }
  | { type: 'ping'; id: number }
  | { type: 'pong'; id: number }
  | { type: 'close' }
  /** V8 dropped the main thread's pending microtasks: state kept in them must be recovered. */
  | { type: 'terminated' };

/** How long after an interrupt the thread keeps watching for a cell to terminate. */
const TERMINATE_WATCH_MS = 30_000;

class IoThread {
  private readonly log: Logger = createStderrLogger();
  private readonly signer: MessageSigner;
  private readonly headers: HeaderFactory;
  private readonly cellState: SharedCellState;
  private readonly routers: Record<'control' | 'stdin', zmq.Router> = {
    control: new zmq.Router(),
    stdin: new zmq.Router(),
  };
  private readonly heartbeat = new zmq.Reply();
  /** Signatures seen on control and stdin: a replayed message is dropped. */
  private readonly seen = new SignatureHistory();
  private readonly senders: Record<ThreadChannel, SerialSender>;
  private pingId = 0;
  private answeredPing = 0;

  constructor(
    private readonly port: MessagePort,
    private readonly data: IoThreadData,
  ) {
    this.signer = new MessageSigner(data.connection.key, data.connection.signature_scheme);
    this.headers = new HeaderFactory(data.session);
    this.cellState = new SharedCellState(data.cellState);
    this.senders = {
      control: new SerialSender(this.routers.control, 'control', this.log),
      stdin: new SerialSender(this.routers.stdin, 'stdin', this.log),
    };
  }

  async run(): Promise<void> {
    const { connection } = this.data;
    await this.routers.control.bind(endpoint(connection, connection.control_port));
    await this.routers.stdin.bind(endpoint(connection, connection.stdin_port));
    await this.heartbeat.bind(endpoint(connection, connection.hb_port));
    this.port.on('message', (message: IoThreadMessage) => this.fromMain(message));
    this.post({ type: 'ready' });
    // Every loop ends when its socket is closed.
    await Promise.allSettled([this.echoHeartbeats(), this.receive('control'), this.receive('stdin')]);
  }

  private post(message: IoThreadMessage): void {
    this.port.postMessage(message);
  }

  private fromMain(message: IoThreadMessage): void {
    if (message.type === 'send') {
      for (const { channel, message: sent } of message.messages) {
        this.sendOn(channel, fromThreadMessage(sent));
      }
    } else if (message.type === 'pong') {
      this.answeredPing = Math.max(this.answeredPing, message.id);
    } else if (message.type === 'close') {
      void this.close();
    }
  }

  private async close(): Promise<void> {
    await Promise.all(Object.values(this.senders).map((sender) => sender.drained(CLOSE_LINGER_MS)));
    for (const socket of [...Object.values(this.routers), this.heartbeat]) {
      socket.linger = CLOSE_LINGER_MS;
      socket.close();
    }
    this.port.close();
  }

  private async echoHeartbeats(): Promise<void> {
    for await (const frames of this.heartbeat) {
      await this.heartbeat.send(frames);
    }
  }

  private async receive(channel: 'control' | 'stdin'): Promise<void> {
    for await (const frames of this.routers[channel]) {
      let message: JupyterMessage;
      try {
        message = decodeMessage(frames, this.signer, this.seen);
      } catch (error) {
        if (error instanceof WireError) {
          this.log.warn(`Dropped ${channel} message: ${error.message}`);
          continue;
        }
        throw error;
      }
      const type = message.header.msg_type;
      if (channel === 'control' && type === 'interrupt_request') {
        this.interruptMainThread();
        this.reply(channel, message, { status: 'ok' });
      } else if (channel === 'control' && type === 'kernel_info_request') {
        // Answered here so clients see the kernel at once, even while the
        // main thread warms the compiler or runs a busy cell (which then
        // publishes the status messages when it can).
        this.reply(channel, message, kernelInfoReply());
        const status = (state: string): OutgoingMessage => ({
          msgType: 'status',
          content: { execution_state: state },
          parent: message.header,
        });
        this.post({ type: 'publish', messages: [status('busy'), status('idle')] });
      } else {
        this.post({ type: 'received', channel, message: toThreadMessage(message) });
      }
    }
  }

  private sendOn(channel: ThreadChannel, outgoing: OutgoingMessage): void {
    this.senders[channel].send(encodeMessage(outgoing, this.headers.create(outgoing.msgType), this.signer));
  }

  private reply(channel: ThreadChannel, request: JupyterMessage, content: JsonObject): void {
    const msgType = request.header.msg_type.replace(/_request$/, '_reply');
    this.sendOn(channel, { msgType, content, parent: request.header, identities: request.identities });
  }

  private interruptMainThread(): void {
    // Read by the main thread between compiling and running the cell, so an
    // interrupt that arrives during compilation still stops the cell.
    if (!this.cellState.requestInterrupt()) {
      return; // No cell queued or running: nothing to interrupt.
    }
    process.kill(process.pid, 'SIGINT');
    const id = ++this.pingId;
    this.post({ type: 'ping', id });
    const deadline = Date.now() + TERMINATE_WATCH_MS;
    const check = (): void => {
      const phase = this.cellState.phase;
      if (this.answeredPing >= id || phase === CellPhase.idle || Date.now() > deadline) {
        return;
      }
      if (phase === CellPhase.compiling) {
        // The compiler is kernel code: wait for it to finish, never terminate it.
        setTimeout(check, 100).unref();
        return;
      }
      this.terminateCell();
    };
    setTimeout(check, this.data.terminateAfterMs).unref();
  }

  private terminateCell(): void {
    this.log.warn('The cell did not stop on SIGINT: terminating its JavaScript');
    // Connected only now: an attached inspector session slows every cell.
    const inspector = new Session();
    inspector.connectToMainThread();
    inspector.post('Runtime.terminateExecution', (error) => {
      if (error) {
        this.log.error(`Runtime.terminateExecution failed: ${error.message}`);
      } else {
        this.post({ type: 'terminated' });
      }
      inspector.disconnect();
    });
  }
}

if (parentPort) {
  const port = parentPort;
  new IoThread(port, workerData as IoThreadData).run().catch((error: unknown) => {
    createStderrLogger().error(`I/O thread failed: ${String((error as Error).stack ?? error)}`);
    process.exit(1);
  });
}
