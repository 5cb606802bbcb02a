/**
 * The main thread's side of the transport: starts the I/O thread that owns
 * the zeromq sockets (see io-thread.ts), hands it outgoing messages and
 * delivers decoded incoming ones.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { SharedCellState } from './cell-state';
import { ConnectionInfo } from './connection';
import { KernelIO } from './handler';
import { IoThreadData, IoThreadMessage } from './io-thread';
import { Channel, fromThreadMessage, JupyterMessage, toThreadMessage } from './messages';
import { OutgoingMessage } from './wire';

/** Receives decoded messages. */
export type MessageListener = (channel: Channel, message: JupyterMessage) => void;

/** How long the main thread may ignore an interrupt before the cell is terminated. */
const TERMINATE_AFTER_MS = 300;
/** How long close() waits for the I/O thread to flush and exit. */
const CLOSE_TIMEOUT_MS = 3000;

/** The kernel's sockets, seen from the main thread. */
export class ZmqTransport implements KernelIO {
  /** The cell's phase and interrupt flag, shared with the I/O thread. */
  readonly cellState = new SharedCellState();
  private thread: Worker | undefined;
  private closing = false;
  private outbox: { channel: Channel; message: OutgoingMessage }[] = [];
  private flushScheduled = false;

  constructor(private readonly connection: ConnectionInfo) {}

  /**
   * Binds all sockets and starts delivering messages to `listener`;
   * `onThreadExit` runs if the I/O thread dies while the kernel is running.
   */
  async open(listener: MessageListener, onThreadExit: (code: number) => void): Promise<void> {
    const data: IoThreadData = {
      connection: this.connection,
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
    await new Promise<void>((resolve, reject) => {
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
          // The flush microtask may have been dropped with the cell's.
          this.flushOutbox();
        } else if (message.type === 'ping') {
          thread.postMessage({ type: 'pong', id: message.id } satisfies IoThreadMessage);
        } else if (message.type === 'received') {
          listener(message.channel, fromThreadMessage(message.message));
        }
      });
    });
  }

  send(channel: Channel, message: OutgoingMessage): void {
    if (this.closing) {
      return;
    }
    // Messages sent in one turn of the event loop cross to the I/O thread in
    // one postMessage: each crossing costs 0.03-0.8 ms here (measured).
    this.outbox.push({ channel, message: toThreadMessage(message) });
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flushOutbox());
    }
  }

  private flushOutbox(): void {
    this.flushScheduled = false;
    const messages = this.outbox;
    this.outbox = [];
    if (messages.length > 0 && !this.closing) {
      this.thread?.postMessage({ type: 'send', messages } satisfies IoThreadMessage);
    }
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
    await Promise.race([exited, timeout]);
    await thread.terminate();
  }
}
