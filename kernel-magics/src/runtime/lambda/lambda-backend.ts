/**
 * The `lambda` backend: invocations run on AWS Lambda (or serverless-offline)
 * as Invokes of the runner function, one alias per memory size: with a
 * response stream where the endpoint has one (output reaches the cell as it
 * is made), else synchronous (output arrives with the result).
 * A FIFO queue behind the concurrency limit; each attempt's event built
 * (bundled program, payloads inline or through the bucket), sent with
 * `LogType: 'Tail'` and bounded in time; throttling and service faults
 * retried with bounded backoff, shown as retried attempts; crashes retried
 * by the one retry policy of every backend; the REPORT line, when the
 * platform sends one, gives the attempt's billed figures.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

import type {
  AttemptOutcome,
  AttemptRecord,
  Backend,
  BackendStatus,
  InvocationObserver,
  InvocationRequest,
  InvocationResult,
} from '../backend';
import { sleep } from '../../exchange/collectives/wait';
import { STORE_REQUESTS_EVENT } from '../../state/reported-store';
import { AbortGroups, Backoff, retryDelay, Slots } from '../scheduling';
import { lambdaClient } from './client';
import { LambdaSettings, memoryAlias } from './config';
import { describeInvokeError, InvokeFailure, InvokeTarget, LambdaConfigError } from './errors';
import { BuiltEvent, EventBuilder } from './event';
import { BundleError } from '../../plan/bundle';
import { PayloadMissingError } from './payload';
import { notify, recordOf, replay } from './answer-replay';
import { RunPayloads } from './run-payloads';
import { SeenEnvironments } from './seen-environments';
import { AttemptAnswer, readAnswer, readReply } from './response';
import { invokeStreaming, StreamingUnsupportedError } from './stream-invoke';
import { describeThrottle, invokeRetryDelay } from './throttle';

/** Options of a LambdaBackend. */
export interface LambdaBackendOptions {
  /** The settings (`%serverless config --backend lambda ...`), read at every attempt; undefined until set. */
  settings: () => LambdaSettings | undefined;
  /** Makes the Lambda client for settings (tests inject theirs); default: ./client. */
  client?: (settings: LambdaSettings) => LambdaClient;
  /** Invocations at once (default 8, as the embedded runtime). */
  concurrency?: number;
  /** Backoff between attempts after a crash. */
  backoff?: Backoff;
}

/**
 * How long an attempt may take beyond the cell's `--timeout` before the
 * kernel stops waiting for its answer: a cold start, payloads through the
 * bucket, the runner's own timeout handling.
 */
export const INVOKE_GRACE_MS = 60_000;

/** An invocation as its caller's signal stops it. */
interface Stoppable {
  /** The caller's signal. */
  readonly signal: AbortSignal;
  /** Stops this invocation alone. */
  readonly controller: AbortController;
}

/** Invocations whose observers are kept for late errors. */
const MAX_RECENT_INVOCATIONS = 256;

/** Puts `key` last in `map`, dropping the oldest entries past `max`. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) {
      break;
    }
    map.delete(oldest);
  }
}

/** The environment of an attempt that never reached the platform (in tracebacks and telemetry). */
const NOT_INVOKED = 'the kernel (not invoked)';

/** The `lambda` backend. */
export class LambdaBackend implements Backend {
  readonly name = 'lambda';
  private readonly slots: Slots;
  private readonly events = new EventBuilder();
  private readonly backoff: Backoff;
  /** Attempts in flight by invocation id: their controller, to replace or cancel them. */
  private readonly inFlight = new Map<string, AbortController>();
  /** Invocations not finished, by run: a run's bucket objects are deleted when its last one ends. */
  private readonly runs: RunPayloads;
  private readonly clients = new Map<string, LambdaClient>();
  /** Observers of recent invocations: code one left behind may fail during a later one's attempt. */
  private readonly recent = new Map<string, InvocationObserver>();
  /** Lambda execution environments seen in answers, for `%serverless status`. */
  private readonly seen = new SeenEnvironments();
  private readonly disposal = new AbortController();
  /** Invocations running, by the caller's signal that stops them. */
  private readonly stoppers = new AbortGroups<Stoppable>((stopped) => {
    for (const stopper of stopped) {
      stopper.controller.abort(stopper.signal.reason);
    }
  });
  /** Settings (by key) whose endpoint answered that it has no response streaming: invoked synchronously since. */
  private readonly noStreaming = new Set<string>();

  constructor(private readonly options: LambdaBackendOptions) {
    this.slots = new Slots(options.concurrency ?? 8);
    this.backoff = options.backoff ?? { baseMs: 200, maxMs: 5_000 };
    this.runs = new RunPayloads(options.settings, this.events);
  }

  /**
   * Checks that the backend can be used now (settings given); called before a run plans anything.
   *
   * @throws LambdaConfigError naming the `%serverless config` line to run.
   */
  preflight(): void {
    if (!this.options.settings()) {
      throw new LambdaConfigError(
        '--backend lambda needs the runner function and a bucket: run ' +
          '`%serverless config --backend lambda --region REGION --function NAME --bucket BUCKET` first ' +
          '(`npm run offline` prints that line for a local runner), and `%serverless deploy` once per account.',
      );
    }
  }

  async invoke(
    request: InvocationRequest,
    observer: InvocationObserver,
    signal: AbortSignal,
  ): Promise<InvocationResult> {
    const attempts: AttemptRecord[] = [];
    // Stopped by the caller (one listener per caller's signal, however many invocations share it) or by disposal.
    const stopper: Stoppable = { signal, controller: new AbortController() };
    if (signal.aborted || this.disposal.signal.aborted) {
      stopper.controller.abort(signal.reason);
    }
    this.stoppers.track(stopper);
    const stop = stopper.controller.signal;
    remember(this.recent, request.id, observer, MAX_RECENT_INVOCATIONS);
    this.runs.started(request.runId);
    try {
      if (!(await this.slots.acquire(stop))) {
        return { id: request.id, attempts, outcome: cancelled('Cancelled before it ran.') };
      }
      try {
        if (!(observer.mayStart?.() ?? true)) {
          return { id: request.id, attempts, outcome: cancelled('Cancelled before it ran.') };
        }
        const outcome = await this.attempts(request, observer, stop, attempts);
        return { id: request.id, attempts, outcome };
      } finally {
        this.slots.release();
      }
    } finally {
      this.stoppers.untrack(stopper);
      this.runs.ended(request.runId);
    }
  }

  replace(invocationId: string, why: string): boolean {
    const controller = this.inFlight.get(invocationId);
    if (!controller) {
      return false;
    }
    controller.abort(new ReplacedError(why));
    return true;
  }

  setConcurrency(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`concurrency must be a whole number >= 1, got ${limit}`);
    }
    this.slots.resize(limit);
  }

  status(): BackendStatus {
    const settings = this.options.settings();
    return {
      // Lambda's execution environments are the platform's: those that answered lately, as last seen.
      environments: this.seen.recent(),
      queued: this.slots.waiting,
      running: this.slots.inUse,
      concurrencyLimit: this.slots.size,
      isolation: settings
        ? `AWS Lambda function ${settings.functionName} in ${settings.region}` +
          (settings.endpoint ? ` at ${settings.endpoint}` : '') +
          ': each execution environment is a Lambda sandbox, one program process in each'
        : 'AWS Lambda (not configured)',
    };
  }

  async dispose(): Promise<void> {
    this.disposal.abort(new Error('The kernel is shutting down.'));
    for (const stopper of this.stoppers.all()) {
      stopper.controller.abort(this.disposal.signal.reason);
    }
    for (const client of this.clients.values()) {
      client.destroy();
    }
    this.clients.clear();
  }

  /** Runs attempts until one decides the invocation (or the retries are used up). */
  private async attempts(
    request: InvocationRequest,
    observer: InvocationObserver,
    signal: AbortSignal,
    attempts: AttemptRecord[],
  ): Promise<AttemptOutcome> {
    let crashes = 0;
    for (let attempt = 1; ; attempt += 1) {
      if (signal.aborted) {
        return cancelled('Cancelled.');
      }
      const record = await this.attempt(request, attempt, observer, signal);
      if (record.throttled === undefined) {
        crashes += record.attempt.outcome.status === 'crashed' ? 1 : 0;
      }
      const delay =
        record.throttled !== undefined
          ? record.throttled
          : retryDelay(record.attempt.outcome.status, crashes, request.retries, this.backoff);
      const full: AttemptRecord = { ...record.attempt, willRetry: delay !== undefined && !signal.aborted };
      attempts.push(full);
      notify(observer, (o) => o.onAttemptEnd?.(full));
      if (!full.willRetry) {
        return full.outcome;
      }
      // An abort ends the pause at once; the loop then ends the invocation cancelled.
      await sleep(delay ?? 0, signal).catch(() => undefined);
    }
  }

  /** One attempt: its record, and the delay before the next when the platform throttled it. */
  private async attempt(
    request: InvocationRequest,
    attempt: number,
    observer: InvocationObserver,
    signal: AbortSignal,
  ): Promise<{ attempt: Omit<AttemptRecord, 'willRetry'>; throttled?: number }> {
    const settings = this.options.settings();
    const startedAt = Date.now();
    const base = {
      attempt,
      arch: settings?.arch,
      environmentId: NOT_INVOKED,
      cold: false,
      initMs: 0,
      durationMs: 0,
      bytesIn: 0,
      bytesOut: 0,
      startedAt,
    };
    if (!settings) {
      return {
        attempt: {
          ...base,
          outcome: configError('Lambda is not configured: run %serverless config --backend lambda ...'),
        },
      };
    }
    notify(observer, (o) => o.onAttemptStart?.({ attempt, environmentId: 'lambda', cold: false, initMs: 0 }));
    const controller = new AbortController();
    const forward = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    const deadline = setTimeout(
      () => controller.abort(new AnswerTimeoutError(request.timeoutS)),
      request.timeoutS * 1000 + INVOKE_GRACE_MS,
    );
    this.inFlight.set(request.id, controller);
    let built: BuiltEvent | undefined;
    let answer: (AttemptAnswer & { failed: boolean }) | undefined;
    try {
      built = await this.events.build(request, attempt, settings, controller.signal);
      answer = await this.invokeAttempt(settings, request.memoryMb, built, observer, controller.signal);
      if (built.runObjects || answer.failed || answer.stored.length > 0) {
        // A function that failed may have stored its answer before it did.
        this.runs.mayHaveObjects(request.runId);
      }
    } catch (error) {
      // An attempt given up (or that failed) may still store its answer under the run's prefix.
      this.runs.mayHaveObjects(request.runId);
      return this.failedAttempt(error, base, built, controller.signal, attempt, {
        settings,
        memoryMb: request.memoryMb,
      });
    } finally {
      clearTimeout(deadline);
      signal.removeEventListener('abort', forward);
      this.inFlight.delete(request.id);
      void this.runs.deleteObjects(settings, [
        ...(built?.attemptKeys ?? []),
        ...(answer?.stored.map((ref) => ref.key) ?? []),
      ]);
    }
    replay(answer.output, answer.droppedOutputBytes, observer);
    const requests = this.runs.takeRequests(settings, answer.payloadRequests);
    if (requests) {
      // Billed to the run as a body's model store calls are.
      notify(observer, (o) =>
        o.onEvent?.({ type: STORE_REQUESTS_EVENT, data: { store: 's3', ...requests } }),
      );
    }
    if (answer.figures) {
      this.seen.note(answer.figures.environmentId, request.memoryMb);
    }
    for (const late of answer.lateErrors) {
      // Reported on the invocation that left the code behind (if the kernel still knows it).
      const blamed = this.recent.get(late.invocationId);
      if (blamed) {
        notify(blamed, (o) =>
          o.onLateError?.({
            attempt: late.attempt,
            environmentId: answer?.figures?.environmentId ?? 'lambda',
            error: late.error,
          }),
        );
      }
    }
    return { attempt: recordOf(base, answer, built) };
  }

  /**
   * Invokes the runner with the attempt's event: streaming (output to the
   * observer as it arrives) or synchronously, as the settings say. In
   * `auto`, an endpoint without response streaming answers so before
   * anything runs, so the synchronous Invoke that follows is the same
   * attempt, neither lost nor repeated; it is remembered for these settings.
   */
  private async invokeAttempt(
    settings: LambdaSettings,
    memoryMb: number,
    built: BuiltEvent,
    observer: InvocationObserver,
    signal: AbortSignal,
  ): Promise<AttemptAnswer & { failed: boolean }> {
    const client = this.client(settings);
    const key = JSON.stringify(settings);
    const mode = settings.stream ?? 'auto';
    if (mode === 'on' || (mode === 'auto' && !this.noStreaming.has(key))) {
      try {
        const reply = await invokeStreaming(
          client,
          { functionName: settings.functionName, qualifier: memoryAlias(memoryMb), payload: built.payload },
          (item) => replay([item], 0, observer),
          signal,
        );
        const answer = await readReply(reply, built.event, signal);
        return { ...answer, failed: reply.functionError !== undefined };
      } catch (error) {
        if (!(error instanceof StreamingUnsupportedError) || mode === 'on') {
          throw error;
        }
        this.noStreaming.add(key);
      }
    }
    const output = await client.send(
      new InvokeCommand({
        FunctionName: settings.functionName,
        Qualifier: memoryAlias(memoryMb),
        InvocationType: 'RequestResponse',
        LogType: 'Tail',
        Payload: built.payload,
      }),
      { abortSignal: signal },
    );
    const answer = await readAnswer(output, built.event, signal);
    return { ...answer, failed: output.FunctionError !== undefined };
  }

  /** The record of an attempt whose Invoke failed (or was stopped); a throttle gives the delay before the next. */
  private failedAttempt(
    error: unknown,
    base: Omit<AttemptRecord, 'willRetry' | 'outcome'>,
    built: BuiltEvent | undefined,
    signal: AbortSignal,
    attempt: number,
    target: InvokeTarget,
  ): { attempt: Omit<AttemptRecord, 'willRetry'>; throttled?: number } {
    const bytesIn = built?.bytes ?? 0;
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof ReplacedError) {
      return {
        attempt: {
          ...base,
          bytesIn,
          environmentId: 'lambda',
          outcome: { status: 'crashed', message: reason.message },
        },
      };
    }
    if (reason instanceof AnswerTimeoutError) {
      return {
        attempt: {
          ...base,
          bytesIn,
          environmentId: 'lambda',
          outcome: { status: 'timeout', message: reason.message },
        },
      };
    }
    if (signal.aborted) {
      return {
        attempt: { ...base, bytesIn, environmentId: 'lambda', outcome: cancelled('Cancelled while it ran.') },
      };
    }
    if (error instanceof BundleError || error instanceof PayloadMissingError) {
      // The cell's own problem, said in its own words: nothing was invoked.
      return {
        attempt: {
          ...base,
          bytesIn,
          outcome: { status: 'error', error: { name: error.name, message: error.message, stack: '' } },
          reported: { billedMs: 0, notRun: true },
        },
      };
    }
    const throttle = describeThrottle(error);
    const delay = invokeRetryDelay(error, attempt);
    if (delay !== undefined) {
      const why = throttle
        ? `throttled by Lambda (${throttle.reason})`
        : describeInvokeError(error, target).message;
      return {
        attempt: {
          ...base,
          bytesIn,
          outcome: { status: 'crashed', message: `${why}; invoked again in ${(delay / 1000).toFixed(1)} s` },
          // The platform refused the request before running it: nothing is billed.
          reported: { billedMs: 0, notRun: true },
        },
        throttled: delay,
      };
    }
    const failure: InvokeFailure = describeInvokeError(error, target);
    return {
      attempt: {
        ...base,
        bytesIn,
        outcome: { status: 'error', error: { name: failure.name, message: failure.message, stack: '' } },
        reported: { billedMs: 0, notRun: true },
      },
    };
  }

  private client(settings: LambdaSettings): LambdaClient {
    const key = JSON.stringify(settings);
    let client = this.clients.get(key);
    if (!client) {
      client = (this.options.client ?? lambdaClient)(settings);
      this.clients.set(key, client);
    }
    return client;
  }
}

function cancelled(message: string): AttemptOutcome {
  return { status: 'cancelled', message };
}

function configError(message: string): AttemptOutcome {
  return { status: 'error', error: { name: 'LambdaConfigError', message, stack: '' } };
}

/** The reason an attempt was replaced (a straggler). */
class ReplacedError extends Error {
  override readonly name = 'ReplacedError';
}

/** The reason an attempt was given up: no answer long after the cell's timeout. */
class AnswerTimeoutError extends Error {
  override readonly name = 'AnswerTimeoutError';
  constructor(timeoutS: number) {
    super(
      `timed out after ${timeoutS.toFixed(2)} seconds: the runner did not answer within ${(INVOKE_GRACE_MS / 1000).toFixed(0)} s ` +
        "of the cell's --timeout (the request is abandoned; Lambda ends it at the function's own timeout)",
    );
  }
}
