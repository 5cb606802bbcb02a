/**
 * A process's CPU time as Linux counts it in /proc, for the CPU-share model
 * (cost/cpu-share.ts): how long it ran on a CPU, and how long it was ready
 * to run but waited for one because other processes had them (the run
 * queue). A Lambda function has its share of a vCPU to itself, so time
 * spent in this machine's run queue is no part of how long it would take there.
 */
import { readFileSync } from 'node:fs';

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

/**
 * The ms this process's main thread has waited in the run queue since it
 * started, or undefined where /proc has no schedstat (not Linux, or a kernel
 * without it).
 */
export function ownQueuedMs(): number | undefined {
  try {
    return parseSchedstat(readFileSync('/proc/self/schedstat', 'latin1'))?.queuedMs;
  } catch {
    return undefined;
  }
}
