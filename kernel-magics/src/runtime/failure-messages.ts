/**
 * How every backend words the platform's own failures of an attempt
 * (timeouts, out-of-memory), so that a cell reads the same whether it ran on
 * the embedded runtime or on Lambda, and tests can match one wording.
 */

import { ONE_VCPU_MB } from '../cost/cpu-share';

/** Heap exhaustion as V8 reports it on stderr (or in a Lambda log) before aborting. */
export const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed/i;

/** The message of an attempt stopped at its `--timeout` (Lambda's own wording). */
export function timeoutMessage(timeoutS: number): string {
  return `Task timed out after ${timeoutS.toFixed(2)} seconds.`;
}

/**
 * Why a body timed out sooner here than its --timeout on the host's clock:
 * the embedded runtime counts Lambda's CPU share (cost/cpu-share.ts).
 */
export function cpuShareTimeoutNote(ran: { wallMs: number; cpuMs: number; memoryMb: number }): string {
  const seconds = (ms: number): string => (ms / 1000).toFixed(2);
  const share = Math.round((ran.memoryMb / ONE_VCPU_MB) * 100);
  return (
    `It ran ${seconds(ran.wallMs)} s here, ${seconds(ran.cpuMs)} s of it on the CPU, and a ${ran.memoryMb} MB ` +
    `Lambda function has ${share}% of a vCPU, so that CPU time counts ${(ONE_VCPU_MB / ran.memoryMb).toFixed(1)}x. ` +
    `Raise --memory (${ONE_VCPU_MB} MB is a full vCPU) or --timeout; --cpu host times on this machine's clock.`
  );
}

/**
 * What an out-of-memory message knows of the death: the peak memory the
 * environment reached, that V8's heap hit its limit, or only that the
 * platform stopped it for memory.
 */
export type OutOfMemoryEvidence = { usedMb: number } | 'heap-limit' | 'platform';

/** The message of an attempt that ran out of its `--memory`. */
export function outOfMemoryMessage(memoryMb: number, evidence: OutOfMemoryEvidence): string {
  let how: string;
  if (evidence === 'heap-limit') {
    how = `the V8 heap reached its limit at --memory ${memoryMb} MB`;
  } else if (evidence === 'platform') {
    how = `the platform stopped it at --memory ${memoryMb} MB`;
  } else {
    const used = Math.round(evidence.usedMb);
    how = `it used ${used} MB, ${used >= memoryMb ? 'over' : 'at'} --memory ${memoryMb} MB`;
  }
  return `Runtime exited: out of memory (${how}). Raise --memory or use less data per invocation.`;
}
