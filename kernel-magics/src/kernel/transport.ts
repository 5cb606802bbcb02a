/**
 * The main thread's side of the transport. The shell and iopub sockets live
 * here (main-sockets.ts), so a cell's request, output and reply never cross
 * threads; the I/O thread (io-thread.ts) owns control, heartbeat and stdin,
 * which must keep working while the main thread is busy. This side hands the
 * I/O thread its outgoing messages and delivers decoded incoming ones.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { SharedCellState } from './cell-state';
import { ConnectionInfo, endpoint } from './connection';
import { KernelIO } from './handler';
import { IoThreadData, IoThreadMessage, ThreadChannel } from './io-thread';
import { Logger } from './log';
import { MainSockets } from './main-sockets';
import { Channel, fromThreadMessage, JupyterMessage, toThreadMessage } from './messages';
import { SignatureHistory } from './signature-history';
import {
  decodeMessage,
  duplicateSignature,
  encodeMessage,
  HeaderFactory,
  MessageSigner,
  OutgoingMessage,
  WireError,
} from './wire';

/** Receives decoded messages. */
export type MessageListener = (channel: Channel, message: JupyterMessage) => void;

/** How long the main thread may ignore an interrupt before the cell is terminated. */
const TERMINATE_AFTER_MS = 300;
/** How long close() waits for the sockets to flush and the I/O thread to exit. */
const CLOSE_TIMEOUT_MS = 3000;
/** How long a closing socket keeps trying to deliver queued messages. */
const LINGER_MS = 500;

/** The kernel's sockets, seen from the main thread. */
export class ZmqTransport implements KernelIO {
  /** The cell's phase and interrupt flag, shared with the I/O thread. */
  readonly cellState = new SharedCellState();
  private readonly signer: MessageSigner;
  private readonly headers = new HeaderFactory();
  /**
   * Signatures of shell messages and of those the I/O thread hands over, so
   * a message replayed on another channel is refused too (the I/O thread
   * keeps its own for what it answers itself).
   */
  private readonly seen = new SignatureHistory();
  private thread: Worker | undefined;
  private sockets: MainSockets | undefined;
  private closing = false;
  private outbox: { channel: ThreadChannel; message: OutgoingMessage }[] = [];
  private flushScheduled = false;

  constructor(
    private readonly connection: ConnectionInfo,
    private readonly log: Logger,
  ) {
    this.signer = new MessageSigner(connection.key, connection.signature_scheme);
  }

  /**
   * Binds all sockets and starts delivering messages to `listener`;
   * `onThreadExit` runs if the I/O thread dies while the kernel is running.
   */
  async open(listener: MessageListener, onThreadExit: (code: number) => void): Promise<void> {
    const { connection } = this;
    const sockets = new MainSockets((frames) => this.receivedOnShell(frames, listener), this.log);
    this.sockets = sockets;
    const started = this.startThread(listener, onThreadExit);
    const bound = sockets
      .bind(endpoint(connection, connection.shell_port), endpoint(connection, connection.iopub_port))
      .then(() => {
        // Before anything else can be, so it is the first iopub message.
        this.send('iopub', { msgType: 'status', content: { execution_state: 'starting' } });
      });
    try {
      await Promise.all([bound, started]);
    } catch (error) {
      this.closing = true;
      await Promise.allSettled([sockets.close(0), this.thread?.terminate()]);
      throw error;
    }
  }

  send(channel: Channel, message: OutgoingMessage): void {
    if (this.closing) {
      return;
    }
    if (channel === 'shell' || channel === 'iopub') {
      const frames = encodeMessage(message, this.headers.create(message.msgType), this.signer);
      this.sockets?.send(channel, frames, message.lane);
      return;
    }
    // Messages sent in one turn of the event loop cross to the I/O thread in
    // one postMessage, after the turn.
    this.outbox.push({ channel, message: toThreadMessage(message) });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushOutbox());
    }
  }

  bulkBacklog(): number {
    return this.sockets?.bulkBacklog() ?? 0;
  }

  /** Flushes queued messages, closes every socket and ends the I/O thread. */
  async close(): Promise<void> {
    const thread = this.thread;
    if (this.closing || !thread) {
      return;
    }
    this.flushOutbox();
    this.closing = true;
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    thread.postMessage({ type: 'close' } satisfies IoThreadMessage);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS).unref());
    await Promise.race([Promise.all([exited, this.sockets?.close(LINGER_MS)]), timeout]);
    await thread.terminate();
  }

  private receivedOnShell(frames: Buffer[], listener: MessageListener): void {
    let message: JupyterMessage;
    try {
      message = decodeMessage(frames, this.signer, this.seen);
    } catch (error) {
      if (error instanceof WireError) {
        this.log.warn(`Dropped shell message: ${error.message}`);
        return;
      }
      throw error;
    }
    if (message.header.msg_type === 'execute_request') {
      this.cellState.executeQueued();
    }
    listener('shell', message);
  }

  private startThread(listener: MessageListener, onThreadExit: (code: number) => void): Promise<void> {
    const data: IoThreadData = {
      connection: this.connection,
      session: this.headers.session,
      cellState: this.cellState.buffer,
      terminateAfterMs: TERMINATE_AFTER_MS,
    };
    const thread = new Worker(path.join(__dirname, 'io-thread.js'), { workerData: data });
    this.thread = thread;
    thread.on('exit', (code) => {
      if (!this.closing) {
        onThreadExit(code);
      }
    });
    return new Promise<void>((resolve, reject) => {
      // Binding can fail (a port in use): the thread then reports an error or exits.
      const failed = (reason: unknown): void =>
        reject(
          reason instanceof Error ? reason : new Error(`The I/O thread exited with code ${String(reason)}`),
        );
      thread.once('error', failed);
      thread.once('exit', failed);
      thread.on('message', (message: IoThreadMessage) => {
        if (message.type === 'ready') {
          thread.off('error', failed);
          thread.off('exit', failed);
          resolve();
        } else if (message.type === 'terminated') {
          // V8 dropped this thread's pending promise jobs with the cell's.
          this.flushOutbox();
          this.sockets?.recover();
        } else if (message.type === 'ping') {
          thread.postMessage({ type: 'pong', id: message.id } satisfies IoThreadMessage);
        } else if (message.type === 'received') {
          const signature = message.message.signature ?? '';
          if (this.seen.admit(signature)) {
            listener(message.channel, fromThreadMessage(message.message));
          } else {
            this.log.warn(`Dropped ${message.channel} message: ${duplicateSignature(signature)}`);
          }
        } else if (message.type === 'publish') {
          for (const published of message.messages) {
            this.send('iopub', published);
          }
        }
      });
    });
  }

  private flushOutbox(): void {
    this.flushScheduled = false;
    const messages = this.outbox;
    this.outbox = [];
    if (messages.length > 0 && !this.closing) {
      this.thread?.postMessage({ type: 'send', messages } satisfies IoThreadMessage);
    }
  }
}
