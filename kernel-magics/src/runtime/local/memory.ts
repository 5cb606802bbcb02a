/**
 * Reading an environment's memory from the kernel side: resident memory from
 * /proc (how --memory is enforced, as Lambda does). How V8 reports heap
 * exhaustion (when a heap flag is the limit) is in ../failure-messages.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';

import { MEMORY_POLL_MS, MEMORY_RELAXED_FRACTION, MEMORY_RELAXED_POLLS } from './config';

/** Whether resident memory can be read from /proc (Linux). */
export const CAN_READ_RSS = existsSync('/proc/self/statm');

/**
 * V8's default heap limit, MB, as this process sees it (what a worker gets
 * without a heap flag; a kernel started with its own heap flag sees that one).
 */
export const DEFAULT_HEAP_LIMIT_MB = Math.floor(getHeapStatistics().heap_size_limit / 1048576);

/** The second field of /proc/PID/statm: resident pages. */
function residentPages(statm: string): number {
  const start = statm.indexOf(' ') + 1;
  return Number(statm.slice(start, statm.indexOf(' ', start)));
}

/** Bytes per page as /proc counts them, found by comparing this process's count with its RSS. */
const PAGE_BYTES = CAN_READ_RSS
  ? 2 **
    Math.round(
      Math.log2(process.memoryUsage.rss() / residentPages(readFileSync('/proc/self/statm', 'latin1'))),
    )
  : 4096;

/**
 * A process's resident memory, read from /proc/PID/statm through a file kept
 * open (reading it again is an order of magnitude cheaper than opening
 * /proc/PID/status each time). The PID is asked for at the first read: a
 * sandboxed worker's is known only once it runs.
 */
export class RssReader {
  private fd: number | undefined;
  private opened = false;
  private readonly buffer = Buffer.alloc(128);

  constructor(private readonly pid: () => number | undefined) {}

  private open(): void {
    const pid = this.pid();
    if (!CAN_READ_RSS || pid === undefined) {
      return;
    }
    this.opened = true;
    try {
      this.fd = openSync(`/proc/${pid}/statm`, 'r');
    } catch {
      // Already gone: reads answer undefined.
    }
  }

  /** Resident memory in MB, or undefined when it cannot be read (the process exited). */
  readMb(): number | undefined {
    if (!this.opened) {
      this.open();
    }
    if (this.fd === undefined) {
      return undefined;
    }
    try {
      const bytes = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      return (residentPages(this.buffer.toString('latin1', 0, bytes)) * PAGE_BYTES) / 1048576;
    } catch {
      return undefined;
    }
  }

  /** Closes the file. */
  close(): void {
    this.opened = true;
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** What the memory watch checks: an environment while it runs an invocation. */
export interface Watched {
  /** Whether it runs an invocation now (only those are checked). */
  readonly watched: boolean;
  /** Reads its resident memory, records the peak and kills it when over --memory; returns the share of --memory used. */
  checkMemory(): number | undefined;
}

/**
 * One timer for every environment: while any runs an invocation, each is
 * checked every MEMORY_POLL_MS, or every MEMORY_RELAXED_POLLS polls while it
 * uses less than MEMORY_RELAXED_FRACTION of its --memory. `onPoll` runs on
 * the same timer (the backend's other checks of running environments).
 */
export class MemoryWatch {
  private timer: NodeJS.Timeout | undefined;
  private readonly skips = new WeakMap<Watched, number>();

  constructor(
    private readonly environments: () => Iterable<Watched>,
    private readonly onPoll: () => void = () => undefined,
  ) {}

  /** Starts polling, if it is not already (an environment started an invocation). */
  wake(): void {
    if (!this.timer) {
      this.timer = setInterval(() => this.poll(), MEMORY_POLL_MS);
      this.timer.unref();
    }
  }

  /** Stops polling. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): void {
    let any = false;
    for (const env of this.environments()) {
      if (!env.watched) {
        continue;
      }
      any = true;
      const skip = this.skips.get(env) ?? 0;
      if (skip > 0) {
        this.skips.set(env, skip - 1);
        continue;
      }
      const share = env.checkMemory();
      this.skips.set(
        env,
        share !== undefined && share < MEMORY_RELAXED_FRACTION ? MEMORY_RELAXED_POLLS - 1 : 0,
      );
    }
    if (any) {
      this.onPoll();
    } else {
      this.stop();
    }
  }
}
