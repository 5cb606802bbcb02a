/**
 * What Lambda says of an invocation in the log tail it returns with
 * `LogType: 'Tail'` (`LogResult`: base64 of the last 4 KB of the
 * invocation's log): the function's own log lines, and the platform's REPORT
 * record, which is the attempt's billed duration, memory and cold start as
 * Lambda bills them.
 *
 * Both log formats are read: text (`REPORT RequestId: ...\tDuration: ...`)
 * and JSON (`{"type":"platform.report","record":{...}}`). Nothing here
 * throws: a tail that is missing, garbled or cut short gives no report.
 */
import { billReported } from '../../cost/meter';
import { Arch, DEFAULT_PRICES, PriceTable } from '../../cost/prices';
import type { ProviderReport } from '../backend';
import { LAMBDA_LIMITS } from './config';

/** How an invocation ended, as the platform's report says (`success`, `error`, `failure`, `timeout`). */
export type LambdaReportStatus =
  'success' | 'error' | 'failure' | 'timeout' | (string & Record<never, never>);

/** One invocation's REPORT record. Durations in ms, memory in MB. */
export interface LambdaReport {
  requestId: string;
  /** Time in the handler (the invoke phase). */
  durationMs: number;
  /**
   * What Lambda billed: the invoke phase, INIT on cold starts of on-demand
   * functions (since August 2025) and SnapStart's billed restore, summed and
   * rounded up to the ms once.
   */
  billedDurationMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  /** The INIT phase of a cold start. */
  initDurationMs?: number;
  /** SnapStart: restoring the snapshot, loading the runtime and its after-restore hooks. */
  restoreDurationMs?: number;
  /** SnapStart: the billed part of the restore (included in `billedDurationMs`). */
  billedRestoreDurationMs?: number;
  /** Present in the newer runtimes' reports; absent means the platform did not say. */
  status?: LambdaReportStatus;
  /** Why it failed, with `status` `error` or `failure` (e.g. `Runtime.OutOfMemory`). */
  errorType?: string;
}

/** The decoded log tail of one invocation. */
export interface LambdaLogTail {
  /** The platform's REPORT record, when the tail holds a whole, valid one. */
  report?: LambdaReport;
  /**
   * The log's lines without the platform's records (START, END, REPORT,
   * INIT_START, ... and their JSON forms): the function's own output as the
   * platform logged it.
   */
  lines: string[];
}

/**
 * Decodes and reads `LogResult`. A tail of exactly Lambda's 4 KB may start
 * inside a line: its first line is then dropped. Never throws.
 */
export function parseLogTail(logResult: string | undefined): LambdaLogTail {
  if (!logResult) {
    return { lines: [] };
  }
  const bytes = Buffer.from(logResult, 'base64');
  let text = bytes.toString('utf8');
  if (bytes.length === LAMBDA_LIMITS.logTailBytes) {
    const firstBreak = text.indexOf('\n');
    text = firstBreak < 0 ? '' : text.slice(firstBreak + 1);
  }
  const raw = text.split('\n').map((line) => line.replace(/\r$/, ''));
  if (raw.length > 0 && raw[raw.length - 1] === '') {
    raw.pop();
  }
  let report: LambdaReport | undefined;
  const lines: string[] = [];
  let afterReport = false;
  for (const line of raw) {
    // X-Ray's fields of a traced invocation follow its REPORT line on a line of their own.
    if (afterReport && line.startsWith('XRAY TraceId: ')) {
      afterReport = false;
      continue;
    }
    afterReport = false;
    if (line.startsWith('REPORT RequestId: ')) {
      report = parseTextReport(line) ?? report;
      afterReport = true;
    } else if (line.startsWith('{') && isJsonPlatformRecord(line)) {
      report = parseJsonReport(line) ?? report;
    } else if (!PLATFORM_LINE.test(line)) {
      lines.push(line);
    }
  }
  return report ? { report, lines } : { lines };
}

/** The platform's own text records, other than REPORT. */
const PLATFORM_LINE =
  /^(?:(?:START|END) RequestId: |(?:INIT_START|INIT_REPORT|INIT_RUNTIME_DONE|RESTORE_START|RESTORE_REPORT|EXTENSION|TELEMETRY|LOGS)[\t ])/;

/** The fields of a text REPORT line, each `Name: value`, separated by tabs (spaces in some copies). */
const TEXT_FIELD =
  /(?<=^|[\t ])(RequestId|Billed Restore Duration|Restore Duration|Billed Duration|Init Duration|Max Memory Used|Memory Size|Duration|Status|Error Type|XRAY TraceId|SegmentId|Sampled): */g;

/** Reads a text REPORT line; undefined unless it has every required field, well formed. */
export function parseTextReport(line: string): LambdaReport | undefined {
  const fields = new Map<string, string>();
  const matches = [...line.matchAll(TEXT_FIELD)];
  matches.forEach((match, i) => {
    const start = (match.index ?? 0) + match[0].length;
    const end = i + 1 < matches.length ? (matches[i + 1].index ?? line.length) : line.length;
    fields.set(match[1], line.slice(start, end).trim());
  });
  const ms = (name: string): number | undefined => quantity(fields.get(name), 'ms');
  const mb = (name: string): number | undefined => quantity(fields.get(name), 'MB');
  return validReport({
    requestId: fields.get('RequestId') ?? '',
    durationMs: ms('Duration'),
    billedDurationMs: ms('Billed Duration'),
    memorySizeMb: mb('Memory Size'),
    maxMemoryUsedMb: mb('Max Memory Used'),
    initDurationMs: optional(fields, 'Init Duration', ms),
    restoreDurationMs: optional(fields, 'Restore Duration', ms),
    billedRestoreDurationMs: optional(fields, 'Billed Restore Duration', ms),
    status: fields.get('Status') || undefined,
    errorType: fields.get('Error Type') || undefined,
  });
}

/** A present field that does not parse is NaN, so that the report is rejected rather than the field ignored. */
function optional(
  fields: Map<string, string>,
  name: string,
  read: (name: string) => number | undefined,
): number | undefined {
  return fields.has(name) ? (read(name) ?? Number.NaN) : undefined;
}

/** `"395.99 ms"` with unit `ms` to 395.99; undefined for anything else. */
function quantity(value: string | undefined, unit: 'ms' | 'MB'): number | undefined {
  const match = value === undefined ? null : /^(\d+(?:\.\d+)?) ?([A-Za-z]+)$/.exec(value);
  return match && match[2] === unit ? Number(match[1]) : undefined;
}

/** Whether a line is one of the platform's JSON records (`"type": "platform.*"`). */
function isJsonPlatformRecord(line: string): boolean {
  const value = parseJson(line);
  return isObject(value) && typeof value.type === 'string' && value.type.startsWith('platform.');
}

/** Reads a JSON `platform.report` record; undefined for any other record or a malformed one. */
export function parseJsonReport(line: string): LambdaReport | undefined {
  const value = parseJson(line);
  if (!isObject(value) || value.type !== 'platform.report' || !isObject(value.record)) {
    return undefined;
  }
  const record = value.record;
  const metrics = isObject(record.metrics) ? record.metrics : {};
  const number = (name: string): number | undefined => {
    const value = metrics[name];
    return typeof value === 'number' ? value : undefined;
  };
  const optionalNumber = (name: string): number | undefined =>
    name in metrics ? (number(name) ?? Number.NaN) : undefined;
  return validReport({
    requestId: typeof record.requestId === 'string' ? record.requestId : '',
    durationMs: number('durationMs'),
    billedDurationMs: number('billedDurationMs'),
    memorySizeMb: number('memorySizeMB'),
    maxMemoryUsedMb: number('maxMemoryUsedMB'),
    initDurationMs: optionalNumber('initDurationMs'),
    restoreDurationMs: optionalNumber('restoreDurationMs'),
    billedRestoreDurationMs: optionalNumber('billedRestoreDurationMs'),
    status: typeof record.status === 'string' && record.status !== '' ? record.status : undefined,
    errorType: typeof record.errorType === 'string' && record.errorType !== '' ? record.errorType : undefined,
  });
}

type Candidate = Pick<LambdaReport, 'requestId'> & Partial<Omit<LambdaReport, 'requestId'>>;

/**
 * The report when it is whole and plausible: an id, every required figure,
 * durations and memory finite and >= 0, the billed figures and memory whole
 * numbers (as Lambda bills and sizes them).
 */
function validReport(candidate: Candidate): LambdaReport | undefined {
  const { requestId, durationMs, billedDurationMs, memorySizeMb, maxMemoryUsedMb } = candidate;
  if (
    requestId === '' ||
    durationMs === undefined ||
    billedDurationMs === undefined ||
    memorySizeMb === undefined ||
    maxMemoryUsedMb === undefined
  ) {
    return undefined;
  }
  const figures = [
    durationMs,
    billedDurationMs,
    memorySizeMb,
    maxMemoryUsedMb,
    candidate.initDurationMs,
    candidate.restoreDurationMs,
    candidate.billedRestoreDurationMs,
  ];
  const whole = [billedDurationMs, memorySizeMb, candidate.billedRestoreDurationMs];
  if (
    figures.some((figure) => figure !== undefined && !(Number.isFinite(figure) && figure >= 0)) ||
    whole.some((figure) => figure !== undefined && !Number.isInteger(figure))
  ) {
    return undefined;
  }
  const report: LambdaReport = { requestId, durationMs, billedDurationMs, memorySizeMb, maxMemoryUsedMb };
  for (const key of [
    'initDurationMs',
    'restoreDurationMs',
    'billedRestoreDurationMs',
    'status',
    'errorType',
  ] as const) {
    if (candidate[key] !== undefined) {
      Object.assign(report, { [key]: candidate[key] });
    }
  }
  return report;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The attempt's provider-reported figures (see AttemptRecord.reported).
 * `billedMs` is Billed Duration alone: Lambda's Billed Duration already
 * includes SnapStart's Billed Restore Duration (Billed Duration =
 * ceil(Duration + Billed Restore Duration) in every SnapStart REPORT line),
 * so adding it again would bill the restore twice. `initMs` is the cold
 * start's billed part of that total: INIT, or the billed restore.
 */
export function reportToProvider(report: LambdaReport): ProviderReport & { billedMs: number } {
  const provider: ProviderReport & { billedMs: number } = {
    billedMs: report.billedDurationMs,
    maxMemoryUsedMb: report.maxMemoryUsedMb,
  };
  const initMs = report.initDurationMs ?? report.billedRestoreDurationMs;
  if (initMs !== undefined) {
    provider.initMs = initMs;
  }
  return provider;
}

/**
 * What the reported invocation cost, USD: Billed Duration x Memory Size in
 * GB x the price per GB-second of `arch`, plus one request; the meter's bill
 * of the same report (cost/meter.ts's billReported), so it is the amount
 * the ledger adds up, exact to the pico-dollar.
 *
 * @throws CostModelError when the reported memory size is not one Lambda allows.
 */
export function reportCostUsd(report: LambdaReport, arch: Arch, prices: PriceTable = DEFAULT_PRICES): number {
  return billReported(reportToProvider(report), report.memorySizeMb, prices, arch).totalUsd;
}
