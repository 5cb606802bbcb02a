/**
 * The shell and iopub sockets, on the main thread: a request is read, and
 * its output and reply sent, without waking the I/O thread, which saves a
 * cell two thread hand-offs and keeps that thread off the CPU while the
 * reply travels (bench/RESULTS.md, bench/kernel).
 *
 * V8 drops the main thread's pending promise jobs when the I/O thread
 * terminates a busy cell, and with them could drop the receive loop or a
 * sender's wait. Both are built to survive that: every receive starts from
 * a macrotask (setImmediate survives termination) whose first job is the
 * receive's own, and `recover()` restarts whatever was lost (a receive
 * still pending in zeromq answers EBUSY, so nothing runs twice).
 *
 * iopub never drops silently: a PUB socket drops whatever meets a full
 * subscriber queue (its high-water mark), replies' statuses and results
 * included, so it is set `noDrop` and a full queue makes the send wait;
 * what waits is then queued by the sender, the kernel's own messages ahead
 * of bulk telemetry (serial-sender.ts). A subscriber that stops reading
 * holds iopub back until it reads or disconnects, as nothing it was owed
 * can be skipped without breaking its view of the cell.
 */
import * as zmq from 'zeromq';

import { Logger } from './log';
import { SerialSender } from './serial-sender';
import { Frame, SendLane } from './wire';

/** The channels whose sockets the main thread owns. */
export type MainChannel = 'shell' | 'iopub';

/**
 * iopub messages zeromq holds per subscriber before sends wait: room for a
 * burst (a telemetry flush to every open comm) without waiting.
 */
const IOPUB_HIGH_WATER_MARK = 10_000;

/** The main thread's shell ROUTER and iopub PUB sockets. */
export class MainSockets {
  private readonly shell = new zmq.Router();
  private readonly iopub = new zmq.Publisher({ noDrop: true, sendHighWaterMark: IOPUB_HIGH_WATER_MARK });
  private readonly senders: Record<MainChannel, SerialSender>;
  private closed = false;

  /** @param onShellFrames - called with each received shell message's frames. */
  constructor(
    private readonly onShellFrames: (frames: Buffer[]) => void,
    private readonly log: Logger,
  ) {
    this.senders = {
      shell: new SerialSender(this.shell, 'shell', log),
      iopub: new SerialSender(this.iopub, 'iopub', log),
    };
  }

  /** Binds both sockets and starts receiving on shell. */
  async bind(shellAddress: string, iopubAddress: string): Promise<void> {
    await Promise.all([this.shell.bind(shellAddress), this.iopub.bind(iopubAddress)]);
    this.receiveNext();
  }

  /** Sends a message's frames on a channel (in order within its lane, never throws). */
  send(channel: MainChannel, frames: Frame[], lane: SendLane = 'kernel'): void {
    if (!this.closed) {
      this.senders[channel].send(frames, lane);
    }
  }

  /** Bulk iopub messages waiting for the socket. */
  bulkBacklog(): number {
    return this.senders.iopub.queued('bulk');
  }

  /** Restarts receiving and sending after V8 terminated JavaScript on this thread. */
  recover(): void {
    this.senders.shell.recover();
    this.senders.iopub.recover();
    this.receiveNext();
  }

  /** Sends what is queued (waiting up to `lingerMs` for it and for peers), then closes. */
  async close(lingerMs: number): Promise<void> {
    if (this.closed) {
      return;
    }
    this.closed = true;
    await Promise.all([this.senders.shell.drained(lingerMs), this.senders.iopub.drained(lingerMs)]);
    for (const socket of [this.shell, this.iopub]) {
      socket.linger = lingerMs;
      socket.close();
    }
  }

  private receiveNext(): void {
    if (this.closed) {
      return;
    }
    let received: Promise<Buffer[]>;
    try {
      received = this.shell.receive();
    } catch (error) {
      // EBUSY: a receive is pending, so the loop is alive (after recover()).
      if ((error as { code?: unknown }).code !== 'EBUSY') {
        this.log.error(`shell: receive failed: ${(error as Error).message}`);
      }
      return;
    }
    received.then(
      (frames) => {
        // Scheduled first: the loop goes on even if handling is terminated.
        setImmediate(() => this.receiveNext());
        this.onShellFrames(frames);
      },
      (error: unknown) => {
        if (!this.closed) {
          this.log.warn(`shell: receive failed: ${(error as Error).message}`);
          setImmediate(() => this.receiveNext());
        }
      },
    );
  }
}
