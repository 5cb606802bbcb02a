/**
 * What an attempt's answer gives the kernel: the attempt's record (the
 * REPORT line's figures winning over the runner's own), and the runner's
 * output handed to the invocation's observer in the order it was made.
 */
import type { AttemptRecord, InvocationObserver } from '../backend';
import type { BuiltEvent } from './event';
import type { RunnerOutput } from './protocol';
import { reportToProvider } from './report';
import type { AttemptAnswer } from './response';

/** The record of an attempt that got an answer. */
export function recordOf(
  base: Omit<AttemptRecord, 'willRetry' | 'outcome'>,
  answer: AttemptAnswer,
  built: BuiltEvent | undefined,
): Omit<AttemptRecord, 'willRetry'> {
  const report = answer.report;
  const figures = answer.figures;
  return {
    ...base,
    environmentId: figures?.environmentId ?? 'lambda',
    cold: report?.initDurationMs !== undefined || (figures?.cold ?? false),
    initMs: report?.initDurationMs ?? figures?.initMs ?? 0,
    durationMs: report?.durationMs ?? figures?.durationMs ?? Date.now() - base.startedAt,
    cpuMs: figures?.cpuMs,
    maxMemoryUsedMb: report?.maxMemoryUsedMb ?? figures?.maxMemoryUsedMb,
    bytesIn: built?.bytes ?? 0,
    bytesOut: answer.bytesOut,
    outcome: answer.outcome,
    reported: report ? reportToProvider(report) : undefined,
  };
}

/** Hands the runner's output to the observer, in order. */
export function replay(output: RunnerOutput[], dropped: number, observer: InvocationObserver): void {
  for (const item of output) {
    switch (item.kind) {
      case 'stream':
        notify(observer, (o) => o.onStream?.(item.name, item.text));
        break;
      case 'display':
        notify(observer, (o) => o.onDisplay?.(item.data, item.metadata, item.displayId, item.update));
        break;
      case 'clear':
        notify(observer, (o) => o.onClear?.(item.wait));
        break;
      case 'event':
        notify(observer, (o) => o.onEvent?.(item.event));
        break;
    }
  }
  if (dropped > 0) {
    notify(observer, (o) =>
      o.onStream?.('stderr', `\n[the runner dropped ${dropped} bytes of output over its limit]\n`),
    );
  }
}

/** Calls an observer; an observer that throws does not stop the invocation. */
export function notify(observer: InvocationObserver, call: (observer: InvocationObserver) => void): void {
  try {
    call(observer);
  } catch {
    // The kernel's own observers do not throw; one that does must not lose the invocation's result.
  }
}
