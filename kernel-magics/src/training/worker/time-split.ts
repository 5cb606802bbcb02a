/**
 * Measuring how a worker spends its time (a {@link TimeSplit}): this
 * process's CPU time, and its wall time less what it waited in this
 * machine's run queue for a CPU other processes had (a Lambda function has
 * its CPU share to itself, so that wait is no part of its time there).
 */
import { ownQueuedMs } from '../../runtime/cpu-time';
import type { TimeSplit } from '../spec';

/** Starts measuring now; the function returned gives the split since then (call it as often as needed). */
export function startTimeSplit(): () => TimeSplit {
  const wallAt = performance.now();
  const cpuAt = process.cpuUsage();
  const queuedAt = ownQueuedMs();
  return () => {
    const cpu = process.cpuUsage(cpuAt);
    const wallMs = performance.now() - wallAt;
    const queuedNow = queuedAt === undefined ? undefined : ownQueuedMs();
    // Where /proc gives no run-queue time (not Linux), all the wall time counts as active.
    const queuedMs = queuedAt === undefined || queuedNow === undefined ? 0 : queuedNow - queuedAt;
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      activeMs: Math.max(0, wallMs - Math.max(0, queuedMs)),
    };
  };
}

/** The split of one of `count` alike pieces of work that took `total` together. */
export function perPiece(total: TimeSplit, count: number): TimeSplit {
  return { cpuMs: total.cpuMs / count, activeMs: total.activeMs / count };
}
