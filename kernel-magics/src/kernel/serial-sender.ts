/**
 * zeromq 6 allows one send in flight per socket; this queues frames and
 * sends them in order, with a bound so a runaway printer cannot exhaust
 * memory while the socket is slow.
 */
import { Logger } from './log';

/** The part of a zeromq socket the sender uses. */
export interface SendableSocket {
  send(frames: Buffer[]): Promise<void>;
}

/** Messages queued beyond this are dropped (and the drop is logged). */
const MAX_QUEUED = 50_000;

/** An ordered, bounded send queue for one socket. */
export class SerialSender {
  private readonly queue: Buffer[][] = [];
  private sending = false;
  private dropped = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: SendableSocket,
    private readonly name: string,
    private readonly log: Logger,
  ) {}

  /** Queues a message; never throws. */
  send(frames: Buffer[]): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.dropped += 1;
      if (this.dropped === 1 || this.dropped % 10_000 === 0) {
        this.log.warn(`${this.name}: send queue full, dropped ${this.dropped} message(s)`);
      }
      return;
    }
    this.queue.push(frames);
    if (!this.sending) {
      void this.pump();
    }
  }

  /** Resolves once everything queued so far was handed to zeromq. */
  drained(): Promise<void> {
    if (!this.sending && this.queue.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    this.sending = true;
    while (this.queue.length > 0) {
      const frames = this.queue.shift() as Buffer[];
      try {
        await this.socket.send(frames);
      } catch (error) {
        this.log.warn(`${this.name}: send failed: ${(error as Error).message}`);
      }
    }
    this.sending = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) {
      resolve();
    }
  }
}
