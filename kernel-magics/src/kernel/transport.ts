/**
 * The zeromq transport: binds shell, iopub and stdin on the main thread,
 * starts the control thread (control + heartbeat), decodes and verifies
 * incoming messages and encodes outgoing ones. Messages with a bad signature
 * or a broken frame layout are logged and dropped.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import * as zmq from 'zeromq';

import { ConnectionInfo, endpoint } from './connection';
import { ControlThreadData, ControlThreadMessage } from './control-thread';
import { KernelIO } from './handler';
import { Logger } from './log';
import { Channel, JupyterMessage } from './messages';
import { SerialSender } from './serial-sender';
import { decodeMessage, encodeMessage, HeaderFactory, MessageSigner, OutgoingMessage, WireError } from './wire';

/** Receives decoded messages. */
export type MessageListener = (channel: Channel, message: JupyterMessage) => void;

/** How long the main thread may ignore an interrupt before the cell is terminated. */
const TERMINATE_AFTER_MS = 300;

/** The kernel's sockets. */
export class ZmqTransport implements KernelIO {
  /** 1 while a cell runs (read by the control thread). */
  private readonly executing = new Int32Array(new SharedArrayBuffer(4));
  private readonly headers = new HeaderFactory();
  private readonly signer: MessageSigner;
  private readonly shell = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private readonly stdin = new zmq.Router();
  private readonly senders: Record<'shell' | 'iopub' | 'stdin', SerialSender>;
  private controlThread: Worker | undefined;
  private closed = false;

  constructor(
    private readonly connection: ConnectionInfo,
    private readonly log: Logger,
  ) {
    this.signer = new MessageSigner(connection.key, connection.signature_scheme);
    this.senders = {
      shell: new SerialSender(this.shell, 'shell', log),
      iopub: new SerialSender(this.iopub, 'iopub', log),
      stdin: new SerialSender(this.stdin, 'stdin', log),
    };
  }

  /**
   * Binds all sockets and starts delivering messages to `listener`;
   * `onInterrupt` runs on the main thread after the control thread sent SIGINT;
   * `onControlThreadExit` when the control thread dies.
   */
  async open(listener: MessageListener, onControlThreadExit: (code: number) => void): Promise<void> {
    const { connection } = this;
    await this.shell.bind(endpoint(connection, connection.shell_port));
    await this.iopub.bind(endpoint(connection, connection.iopub_port));
    await this.stdin.bind(endpoint(connection, connection.stdin_port));
    await this.startControlThread(listener, onControlThreadExit);
    void this.receive('shell', this.shell, listener);
    void this.receive('stdin', this.stdin, listener);
  }

  /** Marks whether a cell is running (the control thread's terminate guard). */
  setExecuting(executing: boolean): void {
    Atomics.store(this.executing, 0, executing ? 1 : 0);
  }

  send(channel: Channel, message: OutgoingMessage): void {
    if (this.closed) {
      return;
    }
    const frames = encodeMessage(message, this.headers.create(message.msgType), this.signer);
    if (channel === 'control') {
      this.controlThread?.postMessage({ type: 'send', frames } satisfies ControlThreadMessage);
    } else {
      this.senders[channel].send(frames);
    }
  }

  /** Flushes queued messages, then closes every socket and the control thread. */
  async close(): Promise<void> {
    if (this.closed) {
      return;
    }
    await Promise.all(Object.values(this.senders).map((sender) => sender.drained()));
    this.closed = true;
    const thread = this.controlThread;
    if (thread) {
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      thread.postMessage({ type: 'close' } satisfies ControlThreadMessage);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    }
    for (const socket of [this.shell, this.iopub, this.stdin]) {
      socket.linger = 500;
      socket.close();
    }
  }

  private async startControlThread(
    listener: MessageListener,
    onExit: (code: number) => void,
  ): Promise<void> {
    const data: ControlThreadData = {
      connection: this.connection,
      executing: this.executing.buffer as SharedArrayBuffer,
      terminateAfterMs: TERMINATE_AFTER_MS,
    };
    const thread = new Worker(path.join(__dirname, 'control-thread.js'), { workerData: data });
    this.controlThread = thread;
    thread.on('exit', (code) => {
      if (!this.closed) {
        onExit(code);
      }
    });
    await new Promise<void>((resolve, reject) => {
      thread.once('error', reject);
      thread.on('message', (message: ControlThreadMessage) => {
        if (message.type === 'ready') {
          thread.off('error', reject);
          resolve();
        } else if (message.type === 'ping') {
          thread.postMessage({ type: 'pong', id: message.id } satisfies ControlThreadMessage);
        } else if (message.type === 'control') {
          this.deliver('control', message.frames.map((f) => Buffer.from(f)), listener);
        }
      });
    });
  }

  private async receive(channel: Channel, socket: zmq.Router, listener: MessageListener): Promise<void> {
    try {
      for await (const frames of socket) {
        this.deliver(channel, frames, listener);
      }
    } catch (error) {
      if (!this.closed) {
        this.log.error(`${channel} socket failed: ${(error as Error).message}`);
      }
    }
  }

  private deliver(channel: Channel, frames: Buffer[], listener: MessageListener): void {
    let message: JupyterMessage;
    try {
      message = decodeMessage(frames, this.signer);
    } catch (error) {
      if (error instanceof WireError) {
        this.log.warn(`Dropped ${channel} message: ${error.message}`);
        return;
      }
      throw error;
    }
    listener(channel, message);
  }
}
