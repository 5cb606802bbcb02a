/**
 * zeromq 6 allows one send in flight per socket; this queues frames and
 * sends them in order, with a bound so a runaway printer cannot exhaust
 * memory while the socket is slow.
 *
 * A send is handed to zeromq at once when it can be: zeromq completes most
 * sends synchronously, and a later send only fails with EBUSY while an
 * earlier one is really pending. Only then does the sender wait, for that
 * send's own promise (zeromq settles it, whatever happens to promise jobs).
 * The wait's continuation is a promise job, which V8 drops when it
 * terminates a cell on the main thread, so `recover()` resumes the wait
 * (harmless when nothing was lost).
 *
 * Two lanes: what the kernel itself says (replies, statuses, output) and
 * `bulk` traffic (telemetry comm messages). Bulk waits while anything of
 * the kernel's is queued, and has its own bound, so a flood of it never
 * delays or displaces a reply or a status.
 */
import { Logger } from './log';
import { Frame, SendLane } from './wire';

/** The part of a zeromq socket the sender uses. */
export interface SendableSocket {
  send(frames: Frame[]): Promise<void>;
}

/** Messages queued beyond this are dropped (and the drop is logged), per lane. */
const MAX_QUEUED: Record<SendLane, number> = { kernel: 50_000, bulk: 10_000 };

/** True for zeromq's "a send is already in progress" error. */
function isBusy(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EBUSY';
}

/** An ordered, bounded send queue for one socket. */
export class SerialSender {
  private readonly queues: Record<SendLane, Frame[][]> = { kernel: [], bulk: [] };
  /** zeromq's promise for the last send it was handed (it may still be pending). */
  private lastSend: Promise<void> = Promise.resolve();
  /** Set while waiting for a pending send before sending the queue. */
  private waiting = false;
  /** Identifies the current wait: a stale or duplicate resumption does nothing. */
  private waitId = 0;
  private readonly dropped: Record<SendLane, number> = { kernel: 0, bulk: 0 };
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: SendableSocket,
    private readonly name: string,
    private readonly log: Logger,
  ) {}

  /** Queues a message (sent at once when the socket allows); never throws. */
  send(frames: Frame[], lane: SendLane = 'kernel'): void {
    const queue = this.queues[lane];
    if (queue.length >= MAX_QUEUED[lane]) {
      const dropped = ++this.dropped[lane];
      if (dropped === 1 || dropped % 10_000 === 0) {
        this.log.warn(`${this.name}: ${lane} send queue full, dropped ${dropped} message(s)`);
      }
      return;
    }
    queue.push(frames);
    if (!this.waiting) {
      this.pump();
    }
  }

  /** Messages of a lane waiting for the socket (a sender of bulk traffic holds back while any do). */
  queued(lane: SendLane): number {
    return this.queues[lane].length;
  }

  /**
   * Resolves once everything queued so far was handed to zeromq, or after
   * `withinMs` at the latest: a subscriber that stops reading holds an iopub
   * queue (it never drops) for as long as it likes, and closing must not wait
   * on it.
   */
  drained(withinMs: number): Promise<void> {
    if (!this.waiting && this.queues.kernel.length === 0 && this.queues.bulk.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.idleWaiters = this.idleWaiters.filter((waiter) => waiter !== done);
        resolve();
      };
      const timer = setTimeout(done, withinMs);
      this.idleWaiters.push(done);
    });
  }

  /**
   * Resumes sending after V8 terminated JavaScript on this thread: the job
   * that would have ended a wait may have been dropped with the others.
   */
  recover(): void {
    if (this.waiting) {
      this.waitFor(this.lastSend);
    }
  }

  private pump(): void {
    for (;;) {
      const queue = this.queues.kernel.length > 0 ? this.queues.kernel : this.queues.bulk;
      if (queue.length === 0) {
        break;
      }
      let sent: Promise<void>;
      try {
        sent = this.socket.send(queue[0]);
      } catch (error) {
        if (isBusy(error)) {
          this.waitFor(this.lastSend);
          return;
        }
        this.log.warn(`${this.name}: send failed: ${(error as Error).message}`);
        queue.shift();
        continue;
      }
      queue.shift();
      // Kept as zeromq's own promise: one derived from it would settle only
      // through a promise job, which a termination can drop.
      this.lastSend = sent;
      sent.catch((error: unknown) => {
        this.log.warn(`${this.name}: send failed: ${(error as Error).message}`);
      });
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) {
      resolve();
    }
  }

  private waitFor(pending: Promise<void>): void {
    this.waiting = true;
    const id = ++this.waitId;
    const resume = (): void => {
      if (this.waitId === id && this.waiting) {
        this.waiting = false;
        this.pump();
      }
    };
    // A failed send was logged where it was handed over: go on either way.
    pending.then(resume, resume);
  }
}
