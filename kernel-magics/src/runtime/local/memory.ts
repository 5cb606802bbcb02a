/**
 * Reading an environment's memory from the kernel side: resident memory from
 * /proc (how --memory is enforced, as Lambda does), and how V8 reports heap
 * exhaustion (when a heap flag is the limit).
 */
import { existsSync, readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';

/** Heap exhaustion as V8 reports it on stderr before aborting. */
export const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed/i;

/** Whether resident memory can be read from /proc (Linux). */
export const CAN_READ_RSS = existsSync('/proc/self/status');

/**
 * V8's default heap limit, MB, as this process sees it (what a worker gets
 * without a heap flag; a kernel started with its own heap flag sees that one).
 */
export const DEFAULT_HEAP_LIMIT_MB = Math.floor(getHeapStatistics().heap_size_limit / 1048576);

/** Resident memory of a process in MB, or undefined when it cannot be read (it exited). */
export function residentMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
