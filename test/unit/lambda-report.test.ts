/**
 * Lambda's log tail (`LogType: 'Tail'`): the REPORT record in its text and
 * JSON forms, the function's own lines without the platform's, and what a
 * reported invocation costs. Every REPORT below is a real one, quoted from
 * where it is documented or was logged.
 */
import { billAttempt, DEFAULT_PRICES, PICO_PER_USD } from '../../kernel-magics/src/cost';
import type { AttemptRecord } from '../../kernel-magics/src/runtime/backend';
import { LAMBDA_LIMITS } from '../../kernel-magics/src/runtime/lambda/config';
import {
  LambdaReport,
  parseLogTail,
  reportCostUsd,
  reportToProvider,
} from '../../kernel-magics/src/runtime/lambda/report';

/** `LogResult` of a log made of `lines`. */
function tail(...lines: string[]): string {
  return Buffer.from(lines.join('\n') + '\n').toString('base64');
}

// ENVIRONMENT.md's example, as quoted in open-telemetry/opentelemetry-lambda pull 2011
// (Oct 2025): INIT billed (662 = ceil(395.99 + 265.72)). Text REPORT fields are
// tab-separated (AWS Lambda Developer Guide, "Node.js Lambda function logging", REPORT line fields).
const WITH_INIT =
  'REPORT RequestId: bf5f58db-ef7d-4cb2-b3c6-266eba1bbedb\tDuration: 395.99 ms\tBilled Duration: 662 ms\t' +
  'Memory Size: 512 MB\tMax Memory Used: 301 MB\tInit Duration: 265.72 ms';

// A warm invocation as CloudWatch Logs Insights returned it, trailing tab included
// (DataBiosphere/azul issue 5720).
const WARM =
  'REPORT RequestId: 6f0cec52-7923-4676-9256-071a6481c1e9\tDuration: 9988.34 ms\tBilled Duration: 9989 ms\t' +
  'Memory Size: 2048 MB\tMax Memory Used: 192 MB\t';

// The newer runtimes' `Status: timeout` (Aaron Stuyvenberg, "Avoiding the Lambda Doom Loop",
// on the suppressed-init timeouts documented in the AWS Lambda Developer Guide,
// "Troubleshoot invocation issues", Sandbox.Timedout).
const TIMED_OUT =
  'REPORT RequestId: 13222b1e-f16b-4550-89df-869ab0a9806d\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t' +
  'Memory Size: 1024 MB\tMax Memory Used: 64 MB\tStatus: timeout';

// `Status: error` with `Error Type: Runtime.OutOfMemory`, from a production incident write-up
// quoting CloudWatch (the same fields as the Telemetry API's platform.report `status` and
// `errorType`, AWS Lambda Developer Guide, "Telemetry API Event schema reference").
const OUT_OF_MEMORY =
  'REPORT RequestId: fa4e6a1f-083b-573d-ace2-090d2b00a3ac\tDuration: 6954.19 ms\tBilled Duration: 6955 ms\t' +
  'Memory Size: 1024 MB\tMax Memory Used: 1023 MB\tStatus: error\tError Type: Runtime.OutOfMemory';

// A traced invocation: X-Ray's fields after the report (docs.baselime.io, "Discovered keys",
// REPORT with XRAY TraceId, SegmentId, Sampled; the fields as listed in the AWS Lambda
// Developer Guide's REPORT line fields).
const TRACED =
  'REPORT RequestId: 8fc6f963-411b-58b5-8483-a32130c0f45d\tDuration: 201.67 ms\tBilled Duration: 202 ms\t' +
  'Memory Size: 2048 MB\tMax Memory Used: 81 MB\tInit Duration: 480.25 ms\t' +
  'XRAY TraceId: 1-61c86fa4-59b3c6d959653c527fd10966\tSegmentId: 107ea78a5750a811\tSampled: true';

// SnapStart: `Restore Duration` and `Billed Restore Duration` (AWS Lambda Developer Guide,
// "Monitoring for Lambda SnapStart"), from `sam logs` output in the README of a public
// Amazon Chime SDK SIP media application library, with its RESTORE_START and RESTORE_REPORT.
const RESTORE_START =
  'RESTORE_START Runtime Version: java:11.v20\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:' +
  'b8b295733fb8ae6769e0fb039181ce76e1f54a4d04bb5ca7ded937bb0d839109';
const RESTORE_REPORT = 'RESTORE_REPORT Restore Duration: 398.97 ms';
const RESTORED =
  'REPORT RequestId: 8c360c87-d4b7-4423-b5f3-af02be3c1763\tDuration: 2338.66 ms\tBilled Duration: 2521 ms\t' +
  'Memory Size: 3009 MB\tMax Memory Used: 173 MB\tRestore Duration: 398.97 ms\tBilled Restore Duration: 182 ms\t';
// More SnapStart REPORT lines from public logs, for Billed Duration's relation to the restore.
const RESTORED_MORE = [
  'REPORT RequestId: b771fecc-1b53-4faf-922d-1d74357b1676\tDuration: 306.34 ms\tBilled Duration: 610 ms\t' +
    'Memory Size: 3009 MB\tMax Memory Used: 155 MB\tRestore Duration: 511.25 ms\tBilled Restore Duration: 303 ms\t',
  'REPORT RequestId: 5b321b10-9dfa-4a05-b900-c45b96303238\tDuration: 149.53 ms\tBilled Duration: 313 ms\t' +
    'Memory Size: 3538 MB\tMax Memory Used: 163 MB\tRestore Duration: 789.64 ms\tBilled Restore Duration: 163 ms\t',
];

// The JSON log format's platform.report (AWS Lambda Developer Guide, "Telemetry API Event schema
// reference", example Event of type platform.report; the example's stray trailing comma removed).
const JSON_REPORT = JSON.stringify({
  time: '2022-10-12T00:01:15.000Z',
  type: 'platform.report',
  record: {
    metrics: {
      billedDurationMs: 694,
      durationMs: 693.92,
      initDurationMs: 397.68,
      maxMemoryUsedMB: 84,
      memorySizeMB: 128,
    },
    requestId: '6d68ca91-49c9-448d-89b8-7ca3e6dc66aa',
  },
});
// With `status` and `errorType` (Voicemail Express for Amazon Connect, troubleshooting notes).
const JSON_OUT_OF_MEMORY = JSON.stringify({
  time: '2024-12-30T23:20:29.823Z',
  type: 'platform.report',
  record: {
    requestId: '671dc475-78c6-416b-b7ac-56b52940dd13',
    metrics: { durationMs: 32973.233, billedDurationMs: 32974, memorySizeMB: 128, maxMemoryUsedMB: 125 },
    status: 'error',
    errorType: 'Runtime.OutOfMemory',
  },
});
// platform.start (same schema reference).
const JSON_START = JSON.stringify({
  time: '2022-10-12T00:00:15.064Z',
  type: 'platform.start',
  record: { requestId: '6d68ca91-49c9-448d-89b8-7ca3e6dc66aa', version: '$LATEST' },
});
// A function's own line in the JSON format (same schema reference, `function` event record).
const JSON_FUNCTION_LINE = JSON.stringify({
  timestamp: '2022-10-12T00:03:50.000Z',
  level: 'INFO',
  requestId: '79b4f56e-95b1-4643-9700-2807f4e68189',
  message: 'Hello world, I am a function!',
});

// The platform's other text records: START and END (AWS Lambda Developer Guide, "Node.js Lambda
// function logging", example log format); INIT_START and an extension's LOGS subscription as
// CloudWatch shows them in public logs (fields tab-separated there).
const START = 'START RequestId: bf5f58db-ef7d-4cb2-b3c6-266eba1bbedb Version: $LATEST';
const END = 'END RequestId: bf5f58db-ef7d-4cb2-b3c6-266eba1bbedb';
const INIT_START =
  'INIT_START Runtime Version: nodejs:20.v75\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:' +
  '1ffa4c233e75382c8a39aa96770f3b81af75cba9794a5c2a1750c1ee63cdfe10';
const LOGS_SUBSCRIBED = 'LOGS\tName: cloudwatch_lambda_agent\tState: Subscribed\tTypes: [Platform]';
// A Node.js function's own line in the text format (same guide: time, request id, level, message).
const FUNCTION_LINE = '2019-06-07T19:11:20.562Z\tbf5f58db-ef7d-4cb2-b3c6-266eba1bbedb\tINFO\tEVENT';

describe('parseLogTail: the text REPORT line', () => {
  it('reads every figure of a cold start, and keeps only the function’s lines', () => {
    const { report, lines } = parseLogTail(
      tail(INIT_START, LOGS_SUBSCRIBED, START, FUNCTION_LINE, '  {', '  }', END, WITH_INIT),
    );
    expect(report).toEqual({
      requestId: 'bf5f58db-ef7d-4cb2-b3c6-266eba1bbedb',
      durationMs: 395.99,
      billedDurationMs: 662,
      memorySizeMb: 512,
      maxMemoryUsedMb: 301,
      initDurationMs: 265.72,
    });
    expect(lines).toEqual([FUNCTION_LINE, '  {', '  }']);
  });

  it('reads a warm one (no Init Duration), whatever follows its last field', () => {
    expect(parseLogTail(tail(START, END, WARM)).report).toEqual({
      requestId: '6f0cec52-7923-4676-9256-071a6481c1e9',
      durationMs: 9988.34,
      billedDurationMs: 9989,
      memorySizeMb: 2048,
      maxMemoryUsedMb: 192,
    });
  });

  it('reads Status: timeout, and Status: error with its Error Type', () => {
    expect(parseLogTail(tail(TIMED_OUT)).report).toMatchObject({ status: 'timeout', durationMs: 3000 });
    expect(parseLogTail(tail(OUT_OF_MEMORY)).report).toMatchObject({
      status: 'error',
      errorType: 'Runtime.OutOfMemory',
      maxMemoryUsedMb: 1023,
      memorySizeMb: 1024,
    });
  });

  it('reads a traced report, X-Ray’s fields on the same line or the next one', () => {
    const expected = { requestId: '8fc6f963-411b-58b5-8483-a32130c0f45d', billedDurationMs: 202 };
    expect(parseLogTail(tail(TRACED)).report).toMatchObject(expected);
    const [report, xray] = [TRACED.slice(0, TRACED.indexOf('\tXRAY')), TRACED.slice(TRACED.indexOf('XRAY'))];
    const split = parseLogTail(tail(FUNCTION_LINE, report, xray));
    expect(split.report).toMatchObject({ ...expected, initDurationMs: 480.25 });
    expect(split.lines).toEqual([FUNCTION_LINE]);
  });

  it('reads a report whose fields are separated by spaces, as some copies print them', () => {
    expect(parseLogTail(tail(WITH_INIT.replace(/\t/g, ' '))).report).toEqual(
      parseLogTail(tail(WITH_INIT)).report,
    );
  });

  it('reads SnapStart’s Restore Duration and Billed Restore Duration, without the RESTORE records', () => {
    const { report, lines } = parseLogTail(tail(RESTORE_START, RESTORE_REPORT, FUNCTION_LINE, RESTORED));
    expect(report).toEqual({
      requestId: '8c360c87-d4b7-4423-b5f3-af02be3c1763',
      durationMs: 2338.66,
      billedDurationMs: 2521,
      memorySizeMb: 3009,
      maxMemoryUsedMb: 173,
      restoreDurationMs: 398.97,
      billedRestoreDurationMs: 182,
    });
    expect(lines).toEqual([FUNCTION_LINE]);
  });
});

describe('parseLogTail: the JSON platform.report record', () => {
  it('reads the metrics, and drops every platform record but keeps the function’s JSON lines', () => {
    const { report, lines } = parseLogTail(tail(JSON_START, JSON_FUNCTION_LINE, JSON_REPORT));
    expect(report).toEqual({
      requestId: '6d68ca91-49c9-448d-89b8-7ca3e6dc66aa',
      durationMs: 693.92,
      billedDurationMs: 694,
      memorySizeMb: 128,
      maxMemoryUsedMb: 84,
      initDurationMs: 397.68,
    });
    expect(lines).toEqual([JSON_FUNCTION_LINE]);
  });

  it('reads status and errorType', () => {
    expect(parseLogTail(tail(JSON_OUT_OF_MEMORY)).report).toMatchObject({
      status: 'error',
      errorType: 'Runtime.OutOfMemory',
      maxMemoryUsedMb: 125,
    });
  });
});

describe('parseLogTail: a tail cut at 4 KB, and junk', () => {
  it('drops the first line of a tail of exactly 4 KB (it may start inside a line), not of a shorter one', () => {
    const body = [FUNCTION_LINE, END, WITH_INIT].join('\n') + '\n';
    const filler = 'x'.repeat(LAMBDA_LIMITS.logTailBytes - Buffer.byteLength(body) - 1) + '\n';
    const full = filler + body;
    expect(Buffer.byteLength(full)).toBe(LAMBDA_LIMITS.logTailBytes);
    const cut = parseLogTail(Buffer.from(full).toString('base64'));
    expect(cut.lines).toEqual([FUNCTION_LINE]);
    expect(cut.report?.billedDurationMs).toBe(662);
    const short = parseLogTail(Buffer.from(full.slice(1)).toString('base64'));
    expect(short.lines).toEqual([filler.slice(1, -1), FUNCTION_LINE]);
  });

  it('gives no report, and never throws, for missing, garbled or cut-short tails', () => {
    const cutShort = WITH_INIT.slice(0, WITH_INIT.indexOf('\tBilled'));
    const noUnit = WITH_INIT.replace('Billed Duration: 662 ms', 'Billed Duration: 662');
    const badInit = WITH_INIT.replace('265.72 ms', 'about 265 ms');
    const fractionalBilled = WITH_INIT.replace('662 ms', '662.5 ms');
    const noId = WITH_INIT.replace('bf5f58db-ef7d-4cb2-b3c6-266eba1bbedb', '');
    const jsonNoMetrics = JSON.stringify({ type: 'platform.report', record: { requestId: 'r' } });
    const jsonBadNumber = JSON_REPORT.replace('"durationMs":693.92', '"durationMs":"693.92"');
    for (const logResult of [
      undefined,
      '',
      '!!! not base64 at all !!!',
      tail('REPORT RequestId:'),
      tail(cutShort),
      tail(noUnit),
      tail(badInit),
      tail(fractionalBilled),
      tail(noId),
      tail(jsonNoMetrics),
      tail(jsonBadNumber),
      tail('{"type":"platform.report","record":'),
    ]) {
      expect(parseLogTail(logResult).report).toBeUndefined();
    }
  });

  it('never throws on random bytes', () => {
    let seed = 1;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 500; i += 1) {
      const bytes = Buffer.from(Array.from({ length: next() % 5000 }, () => next() % 256));
      expect(() => parseLogTail(bytes.toString('base64'))).not.toThrow();
    }
  });
});

describe('reportToProvider', () => {
  const report = (line: string): LambdaReport => parseLogTail(tail(line)).report!;

  it('gives Billed Duration, INIT and Max Memory Used', () => {
    expect(reportToProvider(report(WITH_INIT))).toEqual({
      billedMs: 662,
      initMs: 265.72,
      maxMemoryUsedMb: 301,
    });
    expect(reportToProvider(report(WARM))).toEqual({ billedMs: 9989, maxMemoryUsedMb: 192 });
  });

  it('does not add SnapStart’s billed restore again: Billed Duration already includes it', () => {
    for (const line of [RESTORED, ...RESTORED_MORE]) {
      const restored = report(line);
      // What every SnapStart REPORT above shows: Billed = ceil(Duration + Billed Restore Duration).
      expect(restored.billedDurationMs).toBe(
        Math.ceil(restored.durationMs + (restored.billedRestoreDurationMs ?? Number.NaN)),
      );
      expect(reportToProvider(restored)).toEqual({
        billedMs: restored.billedDurationMs,
        initMs: restored.billedRestoreDurationMs,
        maxMemoryUsedMb: restored.maxMemoryUsedMb,
      });
    }
  });
});

describe('reportCostUsd', () => {
  const { gbSecondUsd, requestUsdPerMillion } = DEFAULT_PRICES.lambda;
  const formula = (report: LambdaReport, arch: 'x86_64' | 'arm64'): number =>
    (report.billedDurationMs / 1000) * (report.memorySizeMb / 1024) * gbSecondUsd[arch] +
    requestUsdPerMillion / 1e6;
  const reports = [
    WITH_INIT,
    WARM,
    TIMED_OUT,
    OUT_OF_MEMORY,
    TRACED,
    RESTORED,
    ...RESTORED_MORE,
    JSON_REPORT,
  ].map((line) => parseLogTail(tail(line)).report!);

  it('is Billed Duration x memory x price + the request price, exactly when that is whole pico-dollars', () => {
    // 3000 ms x 1 GB: 3 GB-s, a whole number of pico-dollars at either price.
    const timedOut = parseLogTail(tail(TIMED_OUT)).report!;
    for (const arch of ['x86_64', 'arm64'] as const) {
      const cost = reportCostUsd(timedOut, arch);
      expect(Math.abs(cost - formula(timedOut, arch)) / formula(timedOut, arch)).toBeLessThanOrEqual(1e-15);
    }
  });

  it('is that formula within the meter’s rounding (a pico-dollar) for every report', () => {
    for (const report of reports) {
      for (const arch of ['x86_64', 'arm64'] as const) {
        expect(Math.abs(reportCostUsd(report, arch) - formula(report, arch))).toBeLessThanOrEqual(
          1 / PICO_PER_USD,
        );
      }
    }
  });

  it('is what the ledger bills for an attempt that carries the report', () => {
    for (const report of reports) {
      const record: AttemptRecord = {
        attempt: 1,
        environmentId: report.requestId,
        cold: report.initDurationMs !== undefined,
        initMs: 0,
        durationMs: report.durationMs,
        bytesIn: 0,
        bytesOut: 0,
        startedAt: 0,
        outcome: { status: 'ok', result: new Uint8Array() },
        willRetry: false,
        reported: reportToProvider(report),
      };
      expect(reportCostUsd(report, 'arm64')).toBe(
        billAttempt(record, report.memorySizeMb, DEFAULT_PRICES, 'arm64').totalUsd,
      );
    }
  });
});
