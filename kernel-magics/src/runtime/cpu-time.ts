/**
 * A process's CPU time as Linux counts it in /proc, for the CPU-share model
 * (cost/cpu-share.ts), read by the kernel from a running environment (the
 * timeout watch, local/cpu-share-clock.ts) and by a process of its own: how
 * long it ran on a CPU, and how long it was ready to run but waited for one
 * because other processes had them (the run queue). A Lambda function has its share of a vCPU to itself, so time
 * spent in this machine's run queue is no part of how long it would take there.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';

/** CPU time of a process (its main thread, when read from schedstat), ms. */
export interface CpuTimes {
  /** ms on a CPU. */
  cpuMs: number;
  /** ms ready to run but waiting for a CPU; 0 when not known. */
  queuedMs: number;
}

/**
 * /proc counts stat's CPU time in USER_HZ ticks, which Linux fixes at 100 per
 * second for every architecture's user-space ABI (sysconf(_SC_CLK_TCK)).
 */
const MS_PER_TICK = 10;

/**
 * /proc/PID/schedstat of a thread: ns on a CPU, ns waiting in a run queue,
 * time slices. For a PID it is the main thread's, where a program's
 * JavaScript runs.
 */
export function parseSchedstat(text: string): CpuTimes | undefined {
  const [onCpu, waiting] = text.trim().split(/\s+/).map(Number);
  return Number.isFinite(onCpu) && Number.isFinite(waiting)
    ? { cpuMs: onCpu / 1e6, queuedMs: waiting / 1e6 }
    : undefined;
}

/**
 * The user and system time of /proc/PID/stat (every thread), ticks. The
 * command name (field 2) is in parentheses and may hold spaces and
 * parentheses itself: fields are counted from the last `)`, after which
 * utime and stime are the 12th and 13th (fields 14 and 15 of the line).
 */
export function statCpuTicks(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

/** CPU times from /proc/PID/stat (no run-queue time there), ms. */
export function parseStat(stat: string): CpuTimes | undefined {
  const ticks = statCpuTicks(stat);
  return ticks === undefined ? undefined : { cpuMs: ticks * MS_PER_TICK, queuedMs: 0 };
}

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

/** This process's own times (its main thread's, where schedstat is read), through a file kept open. */
let own: CpuTimeReader | undefined;

/**
 * The ms this process's main thread has waited in the run queue since it
 * started, or undefined where /proc has no CPU times (not Linux).
 */
export function ownQueuedMs(): number | undefined {
  own ??= new CpuTimeReader(() => process.pid);
  return own.read()?.queuedMs;
}
