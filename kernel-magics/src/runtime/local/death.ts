/**
 * Why an environment died under an invocation: what the kernel killed it
 * for, what the program said before it ended its own process (see
 * end-report.ts), or what its stderr shows.
 */
import type { AttemptOutcome, InvocationRequest } from '../backend';
import { cpuShareTimeoutNote, OUT_OF_MEMORY, outOfMemoryMessage, timeoutMessage } from '../failure-messages';
import type { InvocationClock } from './cpu-share-clock';
import type { EndReport } from '../program/process-guard';
import { crashSummary } from './end-report';
import type { Job } from './job';
import type { WorkerProcess } from './worker-process';

/**
 * The outcome of the invocation `seq` that ran when the program ended the
 * process and said how: its own error when its own code did (not retried),
 * a crash naming the culprit when code an earlier invocation (`past`, by
 * sequence number) left behind did (retried: it is no fault of this one).
 */
export function reportedOutcome(
  report: EndReport,
  seq: number,
  past: ReadonlyMap<number, Job>,
): AttemptOutcome {
  if (report.invocation === seq) {
    return { status: 'error', error: report.error };
  }
  const culprit = report.invocation === undefined ? undefined : past.get(report.invocation);
  const which = culprit
    ? `code that an earlier invocation (${culprit.request.id.slice(0, 8)}` +
      `${culprit.request.index === undefined ? '' : `, element ${culprit.request.index}`}) left running after it returned`
    : 'code outside any invocation';
  return {
    status: 'crashed',
    message:
      `The environment was ended by ${which}: ${report.error.name}: ${report.error.message}. ` +
      'This invocation did not fail by itself.',
  };
}

/**
 * Why the worker died under an invocation when the program did not say
 * (`clock`: its --timeout's, which says on whose clock it timed out).
 */
export function deathOutcome(
  worker: WorkerProcess,
  request: Pick<InvocationRequest, 'timeoutS' | 'memoryMb'>,
  memoryMb: number,
  peakRssMb: number,
  clock?: InvocationClock,
): AttemptOutcome {
  switch (worker.killedFor) {
    case 'timeout': {
      const cpuMs = clock?.modelled ? clock.cpuMs : undefined;
      // Said when the CPU share brought the timeout on, not when the wall time alone reached it.
      const note =
        clock && cpuMs !== undefined && clock.wallMs < request.timeoutS * 1000 * 0.9
          ? ` ${cpuShareTimeoutNote({ wallMs: clock.wallMs, cpuMs, memoryMb: request.memoryMb })}`
          : '';
      return { status: 'timeout', message: timeoutMessage(request.timeoutS) + note };
    }
    case 'memory':
      return { status: 'out-of-memory', message: outOfMemoryMessage(memoryMb, { usedMb: peakRssMb }) };
    case 'cancel':
    case 'dispose':
      return { status: 'cancelled', message: 'Cancelled: the invocation was stopped before it finished.' };
    case 'replaced':
      return {
        status: 'crashed',
        message: `Replaced by the kernel: ${worker.killNote ?? 'it held others up'}.`,
      };
    case 'channel':
      return {
        status: 'crashed',
        message:
          'The environment lost its channel to the kernel (or wrote to it what the kernel does not read) ' +
          'before the invocation finished.',
      };
    default:
      break;
  }
  if (worker.stderrMatches(OUT_OF_MEMORY)) {
    return { status: 'out-of-memory', message: outOfMemoryMessage(memoryMb, 'heap-limit') };
  }
  const tail = crashSummary(worker.stderrText());
  return {
    status: 'crashed',
    message: `Runtime exited with ${worker.exitDescription} before the invocation finished${tail ? `: ${tail}` : ''}`,
  };
}
