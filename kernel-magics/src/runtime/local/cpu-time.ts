/**
 * Reading an environment's CPU time from the kernel side, while its program
 * runs: what the CPU-share timeout (cpu-share-clock.ts) watches. The worker
 * measures its own CPU time more finely around each run (program/runner.ts),
 * but a program that never returns must be timed from outside.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';

/** Whether a process's CPU time can be read from /proc (Linux). */
export const CAN_READ_CPU = existsSync('/proc/self/stat');

/**
 * /proc counts CPU time in USER_HZ ticks, which Linux fixes at 100 per
 * second for every architecture's user-space ABI (sysconf(_SC_CLK_TCK)).
 */
const MS_PER_TICK = 10;

/**
 * The user and system time of /proc/PID/stat, ticks. The command name (field
 * 2) is in parentheses and may hold spaces and parentheses itself: fields
 * are counted from the last `)`, after which utime and stime are the 12th
 * and 13th (fields 14 and 15 of the line).
 */
export function statCpuTicks(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

/**
 * A process's CPU time (user + system, every thread), read from
 * /proc/PID/stat through a file kept open. The PID is asked for at the first
 * read: a sandboxed worker's is known only once it runs.
 */
export class CpuTimeReader {
  private fd: number | undefined;
  private opened = false;
  private readonly buffer = Buffer.alloc(1024);

  constructor(private readonly pid: () => number | undefined) {}

  /** CPU time used since the process started, ms (10 ms steps), or undefined when it cannot be read. */
  readMs(): number | undefined {
    if (!this.opened) {
      this.open();
    }
    if (this.fd === undefined) {
      return undefined;
    }
    try {
      const bytes = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      const ticks = statCpuTicks(this.buffer.toString('latin1', 0, bytes));
      return ticks === undefined ? undefined : ticks * MS_PER_TICK;
    } catch {
      return undefined;
    }
  }

  private open(): void {
    const pid = this.pid();
    if (!CAN_READ_CPU || pid === undefined) {
      return;
    }
    this.opened = true;
    try {
      this.fd = openSync(`/proc/${pid}/stat`, 'r');
    } catch {
      // Already gone: reads answer undefined.
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
