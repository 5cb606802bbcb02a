/**
 * How a worker that is about to end says why, and how the kernel reads it
 * afterwards. The report is one marked line written synchronously to the
 * worker's stderr just before it exits: stderr is read to the end before the
 * exit is reported (worker-process.ts), whereas a frame written on the data
 * channel may still sit in the worker's buffers when the process ends. A
 * death with no report is explained by the error Node printed, if any.
 */
import { writeSync } from 'node:fs';

import type { RemoteError } from '../backend';
import type { EndReport } from '../program/process-guard';

/**
 * How much of an environment's stderr the kernel keeps to explain a crash
 * (here, not in config.ts: the worker loads this file, and config.ts is the
 * kernel side's).
 */
export const STDERR_TAIL_BYTES = 8 * 1024;

/** Starts the report's line (a character no program prints by accident, and a name). */
const MARKER = '\u001eserverless-environment-end ';

/**
 * Longest stack a report carries: the whole report stays well inside the
 * stderr tail the kernel keeps, so the line is never cut.
 */
const MAX_STACK_CHARS = Math.floor(STDERR_TAIL_BYTES / 3);
/** Longest message (and inspected value) a report carries. */
const MAX_MESSAGE_CHARS = Math.floor(STDERR_TAIL_BYTES / 8);

/** Lines of a crash's stderr shown in its message at most. */
const CRASH_LINES = 6;

const cut = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}...` : text);

/** Writes `report` to stderr (fd 2, synchronously: the process ends right after). */
export function writeEndReport(report: EndReport): void {
  const { name, message, stack, inspected } = report.error;
  const error: RemoteError = {
    name: cut(name, MAX_MESSAGE_CHARS),
    message: cut(message, MAX_MESSAGE_CHARS),
    stack: cut(stack, MAX_STACK_CHARS),
    ...(inspected === undefined ? {} : { inspected: cut(inspected, MAX_MESSAGE_CHARS) }),
  };
  writeSync(2, `\n${MARKER}${JSON.stringify({ ...report, error })}\n`);
}

function isEndReport(value: unknown): value is EndReport {
  const report = value as Partial<EndReport> | null;
  const error = report?.error as Partial<RemoteError> | undefined;
  return (
    typeof report === 'object' &&
    report !== null &&
    (report.kind === 'uncaught' || report.kind === 'exit' || report.kind === 'signal') &&
    (report.invocation === undefined || typeof report.invocation === 'number') &&
    typeof report.running === 'boolean' &&
    typeof error?.name === 'string' &&
    typeof error.message === 'string' &&
    typeof error.stack === 'string'
  );
}

/** The last report in a worker's stderr, if it wrote one. */
export function readEndReport(stderr: string): EndReport | undefined {
  const at = stderr.lastIndexOf(MARKER);
  if (at < 0) {
    return undefined;
  }
  const line = stderr.slice(at + MARKER.length).split('\n', 1)[0];
  try {
    const parsed = JSON.parse(line) as unknown;
    return isEndReport(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What a worker's stderr says about a crash: from the last error Node
 * printed (`Error: ...` and its first frames) when there is one, else the
 * last lines; without Node's version line, which says nothing.
 */
export function crashSummary(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '' && !line.startsWith(MARKER) && !/^Node\.js v\d/.test(line));
  let from = -1;
  for (let i = lines.length - 1; i >= 0 && from < 0; i -= 1) {
    if (/^(\w*Error|Uncaught|\[\w+\])\b.*:/.test(lines[i].trim())) {
      from = i;
    }
  }
  const shown = from >= 0 ? lines.slice(from, from + CRASH_LINES) : lines.slice(-CRASH_LINES);
  return shown.map((line) => line.trim()).join(' | ');
}
