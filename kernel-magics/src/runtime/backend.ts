/**
 * The contract between the kernel (which plans a `%%serverless` cell run) and
 * a backend that runs invocations: `local` (the embedded runtime) or `lambda`.
 * A backend knows nothing of TypeScript or of cells: it runs a compiled
 * program with serialized inputs and reports what happened, attempt by attempt.
 */
import { MimeBundle, JsonObject } from '../kernel/messages';
import type { Arch } from '../cost/prices';
import type { CpuModel } from '../cost/cpu-share';
import type { InvocationEvent } from '../output/sink';

/**
 * The program an invocation runs. `source` is a JavaScript *script* whose
 * completion value is an async function
 * `(captures: Record<string, unknown>, element: unknown, require: NodeJS.Require)
 *   => Promise<ProgramResult>`.
 * Environments cache the compiled function by `hash`, the way a warm Lambda
 * keeps its handler module loaded.
 */
export interface Program {
  /** Content hash of `source` (hex). */
  hash: string;
  /** The script text. */
  source: string;
  /** File name used in stack traces (the kernel maps it back to cell lines). */
  filename: string;
}

/** What a program's function resolves to (inside the worker). */
export interface ProgramResult {
  /** Whether the body ended with an expression. */
  hasValue: boolean;
  /** The last expression's value. */
  value: unknown;
  /** The body's top-level `const`/`let` declarations. */
  exports: Record<string, unknown>;
  /**
   * Declarations left out of `exports` because they cannot be serialized
   * (functions are left out silently: they stay in the invocation).
   */
  notReturned?: string[];
}

export type { InvocationEvent } from '../output/sink';

/** One invocation to run. */
export interface InvocationRequest {
  /** Unique id, assigned by the kernel. */
  id: string;
  /** The cell run this invocation belongs to. */
  runId: string;
  /** Index of the element with `--map`, undefined for a single invocation. */
  index?: number;
  program: Program;
  /**
   * V8-serialized (`v8.serialize`) `Record<string, unknown>` of the captured
   * kernel variables, shared by every invocation of a run. `hash` lets a
   * warm environment keep them instead of receiving them again.
   */
  captures: { hash: string; bytes: Uint8Array };
  /** V8-serialized element (with `--map`), else undefined. */
  element?: Uint8Array;
  /** Configured memory, MB: the heap limit and the price basis. */
  memoryMb: number;
  /** Seconds before the invocation is killed. */
  timeoutS: number;
  /** Retries after a crash (never after an error thrown by the program; see runtime/scheduling). */
  retries: number;
  /** Directory the program's `require` resolves modules from (the notebook's). */
  cwd: string;
  /** Files shipped into the invocation's working directory, read-only (`--files`); none when absent. */
  files?: ShippedFiles;
  /**
   * The object store the program's exchange and models use (`%serverless config
   * --store`), as a URL without credentials; the embedded store when absent.
   */
  store?: string;
  /**
   * Whose clock the embedded runtime times out and bills on (`--cpu`):
   * `lambda`, Lambda's CPU share of `memoryMb` (cost/cpu-share.ts), or `host`
   * (the default when absent). A backend on the platform itself ignores it:
   * its clock is the platform's.
   */
  cpu?: CpuModel;
}

/**
 * Files shipped with `--files`: a staged, read-only copy (see
 * runtime/files.ts), the same for every invocation of a run.
 */
export interface ShippedFiles {
  /** Key of the paths and contents: environments are reused only for the same files, as a Lambda version. */
  hash: string;
  /** The staged copy; its top-level entries appear in the working directory. */
  dir: string;
  /** The top-level entries of `dir`. */
  entries: string[];
  /** The shipped files' paths, relative to the notebook's directory. */
  paths: string[];
}

/** An error thrown by the program, as the worker saw it. */
export interface RemoteError {
  name: string;
  message: string;
  /** The stack as V8 printed it, frames naming `program.filename`. */
  stack: string;
  /**
   * A thrown value that is not an Error, as the kernel shows an uncaught one
   * (output/format's plainText); `message` is then its `String()`.
   */
  inspected?: string;
}

/**
 * How one attempt ended.
 * - `ok`: `result` is the V8-serialized ProgramResult.
 * - `error`: the program threw (or its result could not be serialized), or it ended its own
 *   environment: an uncaught error or unhandled rejection of its own code (named as thrown),
 *   `process.exit` (`ProcessExit`), a signal to its own process (`ProcessKilled`); not retried.
 * - `timeout`: killed after `timeoutS`; not retried.
 * - `out-of-memory`: the environment died over its heap limit; not retried.
 * - `crashed`: the environment died otherwise (a signal from outside, a lost channel, code an
 *   earlier invocation left behind); retried.
 * - `cancelled`: aborted by the caller (interrupt, budget).
 */
export type AttemptOutcome =
  | { status: 'ok'; result: Uint8Array }
  | { status: 'error'; error: RemoteError }
  | { status: 'timeout'; message: string }
  | { status: 'out-of-memory'; message: string }
  | { status: 'crashed'; message: string }
  | { status: 'cancelled'; message: string };

/** The status of an attempt. */
export type AttemptStatus = AttemptOutcome['status'];

/** Facts about one attempt, for billing and telemetry. */
export interface AttemptRecord {
  /** 1-based. */
  attempt: number;
  /** The execution environment (worker) that ran it. */
  environmentId: string;
  /** Whether the environment was started for this attempt. */
  cold: boolean;
  /** Cold starts: ms from spawning the environment to its being ready (billed as INIT). */
  initMs: number;
  /** ms the program ran (from handing it the inputs to its result). */
  durationMs: number;
  /**
   * CPU time (user + system) its process used while the program ran, ms, when
   * measured: what a Lambda's CPU share stretches (cost/cpu-share.ts).
   */
  cpuMs?: number;
  /**
   * ms of `durationMs` its program waited for a CPU that other processes on
   * this machine had (the run queue), when measured: no part of how long it
   * would take on Lambda.
   */
  queuedMs?: number;
  /**
   * Its Lambda-equivalent duration, ms: `durationMs` with its CPU time
   * stretched by the vCPU share of its memory and `queuedMs` left out (its
   * `--timeout` when it timed out), when the request asked for Lambda's CPU
   * share (`cpu: 'lambda'`). What it is billed on then, instead of `durationMs`.
   */
  lambdaMs?: number;
  /** Peak resident memory of the environment, MB, when known. */
  maxMemoryUsedMb?: number;
  /** Bytes sent to the environment for this attempt (program, captures, element). */
  bytesIn: number;
  /** Bytes received (result or error). */
  bytesOut: number;
  /** Epoch ms when the attempt started running (after any cold start). */
  startedAt: number;
  outcome: AttemptOutcome;
  /**
   * Whether the backend retries after this attempt (its retry policy, see
   * runtime/scheduling): the invocation goes on with another attempt.
   */
  willRetry: boolean;
  /** What the platform itself reported for this attempt, when it reports (Lambda's REPORT line). */
  reported?: ProviderReport;
  /** The architecture that ran it, when the backend knows (Lambda's runner); the price per GB-second depends on it. */
  arch?: Arch;
}

/** An attempt's figures as the platform reported them; they win over what the kernel measured. */
export interface ProviderReport {
  /** Billed duration, ms (INIT included where the platform bills it). */
  billedMs?: number;
  /** INIT duration, ms (cold starts). */
  initMs?: number;
  /** Max memory used, MB. */
  maxMemoryUsedMb?: number;
  /** The platform refused the request before running it (throttled, not found): nothing is billed, not even the request. */
  notRun?: boolean;
}

/** An attempt that got an environment and starts. */
export interface AttemptStartInfo {
  attempt: number;
  environmentId: string;
  cold: boolean;
  initMs: number;
}

/**
 * Code an invocation left behind after it ended (a timer, a promise) threw,
 * or ended its environment (`process.exit`): the environment died of it and
 * is replaced. Reported on the invocation that left the code behind.
 */
export interface LateErrorInfo {
  /** The attempt that left the code behind (its invocation's last). */
  attempt: number;
  /** The environment that died of it. */
  environmentId: string;
  /** What the code threw, or how it ended the environment. */
  error: RemoteError;
}

/** Live callbacks while an invocation runs; all optional. */
export interface InvocationObserver {
  /** An attempt got an environment and starts. */
  onAttemptStart?(info: AttemptStartInfo): void;
  /** An attempt ended (a crashed one may be followed by a retry). */
  onAttemptEnd?(record: AttemptRecord): void;
  /** Text the program wrote to stdout or stderr, as it is written. */
  onStream?(name: 'stdout' | 'stderr', text: string): void;
  /** A display the program made (`display` from 'serverless-kernel'). */
  onDisplay?(data: MimeBundle, metadata: JsonObject, displayId?: string, update?: boolean): void;
  /** `display.clear()` in the program: clear the cell's output (`wait`: when the next output arrives). */
  onClear?(wait: boolean): void;
  /** An event the program sent while it runs (see InvocationEvent). */
  onEvent?(event: InvocationEvent): void;
  /**
   * Code the invocation left behind failed after it ended (see
   * LateErrorInfo); called after the invocation's result, possibly after
   * the caller's run has ended.
   */
  onLateError?(info: LateErrorInfo): void;
  /**
   * Asked before an invocation that waited (queued or handed ahead to a busy
   * environment) starts: false ends it `cancelled` with no attempt, as if it
   * had never been invoked (a dispatcher stops a spent budget this way).
   * Absent: it may start.
   */
  mayStart?(): boolean;
}

/** The final result of an invocation: its last attempt decides. */
export interface InvocationResult {
  id: string;
  attempts: AttemptRecord[];
  outcome: AttemptOutcome;
}

/** A snapshot of a backend's environments and queue (for `%serverless status`). */
export interface BackendStatus {
  environments: { id: string; memoryMb: number; state: 'starting' | 'idle' | 'busy'; invocations: number }[];
  queued: number;
  running: number;
  concurrencyLimit: number;
  /** What isolates invocations from the kernel, in a sentence (for `%serverless status`). */
  isolation?: string;
}

/** Where invocations run. */
export interface Backend {
  /** 'local' or 'lambda'. */
  readonly name: string;
  /**
   * Runs an invocation, waiting in the backend's queue while `concurrency`
   * invocations run. Never rejects for program failures: they are outcomes.
   * Aborting `signal` cancels a queued invocation at once and kills a running
   * one; the result then has status `cancelled`.
   */
  invoke(
    request: InvocationRequest,
    observer: InvocationObserver,
    signal: AbortSignal,
  ): Promise<InvocationResult>;
  /**
   * Replaces a running invocation that holds others up (a straggler of an
   * exchange round): its attempt is stopped and ends `crashed` with `why`,
   * and the retry policy runs it again, as after any crash. Returns false
   * when the invocation is not running now (queued, ended, unknown).
   */
  replace(invocationId: string, why: string): boolean;
  /** Sets how many invocations may run at once (queued ones wait). */
  setConcurrency(limit: number): void;
  /**
   * Throws an error whose message says what to do when the backend cannot
   * be used now (a remote backend not configured); called before a run
   * plans anything. Absent: always usable.
   */
  preflight?(): void;
  /** Environments and queue. */
  status(): BackendStatus;
  /** Stops every environment; pending invocations end `cancelled`. */
  dispose(): Promise<void>;
}
