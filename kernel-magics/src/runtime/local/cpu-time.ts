/**
 * Reading an environment's CPU time from the kernel side while its program
 * runs: what the CPU-share timeout (cpu-share-clock.ts) watches. The worker
 * measures its own CPU time around each run (program/runner.ts), but a
 * program that never returns must be timed from outside.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';

import { CpuTimes, parseSchedstat, parseStat } from '../cpu-time';

/** Where /proc gives a process's CPU time: schedstat (ns, with run-queue time) where there is one. */
const SOURCE = existsSync('/proc/self/schedstat')
  ? { file: 'schedstat', parse: parseSchedstat }
  : existsSync('/proc/self/stat')
    ? { file: 'stat', parse: parseStat }
    : undefined;

/** Whether a process's CPU time can be read from /proc (Linux). */
export const CAN_READ_CPU = SOURCE !== undefined;

/**
 * A process's CPU time, read from /proc through a file kept open. The PID
 * is asked for at the first read: a sandboxed worker's is known only once it runs.
 */
export class CpuTimeReader {
  private fd: number | undefined;
  private opened = false;
  private readonly buffer = Buffer.alloc(1024);

  constructor(private readonly pid: () => number | undefined) {}

  /** CPU and run-queue time since the process started, or undefined when it cannot be read. */
  read(): CpuTimes | undefined {
    if (!this.opened) {
      this.open();
    }
    if (this.fd === undefined || SOURCE === undefined) {
      return undefined;
    }
    try {
      const bytes = readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
      return SOURCE.parse(this.buffer.toString('latin1', 0, bytes));
    } catch {
      return undefined;
    }
  }

  private open(): void {
    const pid = this.pid();
    if (SOURCE === undefined || pid === undefined) {
      return;
    }
    this.opened = true;
    try {
      this.fd = openSync(`/proc/${pid}/${SOURCE.file}`, 'r');
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
