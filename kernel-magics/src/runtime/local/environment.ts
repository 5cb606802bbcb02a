/**
 * One execution environment of the embedded runtime: a worker process with a
 * heap limit, a clean environment, and one invocation at a time. It knows
 * which programs and captures it already holds, so warm invocations carry
 * only their element.
 */
import { ChildProcess, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import { getHeapStatistics } from 'node:v8';

import { AttemptOutcome, InvocationObserver, InvocationRequest } from '../backend';
import { cleanEnvironment, heapLimitFlags, MEMORY_POLL_MS, STDERR_TAIL_BYTES } from './config';
import { InvokeMessage, WorkerMessage } from './protocol';

/** The state of an environment. */
export type EnvironmentState = 'starting' | 'idle' | 'busy' | 'dead';

/** What one invocation in an environment gave. */
export interface EnvironmentRun {
  outcome: AttemptOutcome;
  durationMs: number;
  maxMemoryUsedMb?: number;
  bytesIn: number;
  bytesOut: number;
}

interface Pending {
  seq: number;
  startedAt: number;
  timeoutS: number;
  observer: InvocationObserver;
  bytesIn: number;
  settle(run: EnvironmentRun): void;
}

/** Heap exhaustion as V8 reports it on stderr before aborting. */
const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed/i;

/** Whether resident memory can be read from /proc (Linux). */
const CAN_READ_RSS = existsSync('/proc/self/status');
/** V8's default heap limit in this Node.js (what a worker gets without a heap flag). */
const DEFAULT_HEAP_LIMIT_MB = Math.floor(getHeapStatistics().heap_size_limit / 1048576);

/** Resident memory of a process in MB, or undefined when it cannot be read (it exited). */
function residentMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** One worker process. */
export class Environment {
  state: EnvironmentState = 'starting';
  /** Invocations this environment ran. */
  invocations = 0;
  /** ms from spawn to ready (0 until ready). */
  initMs = 0;
  /** When it last finished an invocation (epoch ms). */
  lastUsed = Date.now();
  /** Resolves when the worker is ready; rejects when it died or did not start in time. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;

  private readonly child: ChildProcess;
  private readonly programs = new Set<string>();
  private readonly captures = new Set<string>();
  private pending?: Pending;
  private seq = 0;
  private stderrTail = '';
  private killedFor?: 'timeout' | 'cancel' | 'dispose' | 'memory';
  /** Resident memory when the memory watch killed the environment. */
  private killedAtMb = 0;
  private exitDescription = '';

  constructor(
    /** Environment id, e.g. `local-3`. */
    readonly id: string,
    readonly memoryMb: number,
    readonly cwd: string,
    workerPath: string,
    readyTimeoutMs: number,
  ) {
    const spawnedAt = performance.now();
    this.child = fork(workerPath, [], {
      cwd,
      env: cleanEnvironment(memoryMb, os.tmpdir()),
      execArgv: heapLimitFlags(memoryMb, DEFAULT_HEAP_LIMIT_MB, CAN_READ_RSS),
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.child.stdout?.resume();
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitDescription = code !== null ? `code ${code}` : `signal ${signal ?? 'unknown'}`;
        this.onExit();
        resolve();
      });
    });
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the environment did not start within ${readyTimeoutMs} ms`));
        this.kill();
      }, readyTimeoutMs);
      this.child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(
          new Error(`the environment exited while starting (${this.exitDescription}) ${this.lastStderr()}`),
        );
      });
      this.child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          this.initMs = performance.now() - spawnedAt;
          // Every environment is started for an invocation, which takes it at once.
          this.state = 'busy';
          resolve();
        } else {
          this.onMessage(message);
        }
      });
    });
    // Nobody may be waiting for readiness (an idle environment expiring): never an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** The worker's PID (tests check that none is left). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Runs one invocation; settles on its result, its timeout, a cancel or the worker's death. */
  run(
    request: InvocationRequest,
    observer: InvocationObserver,
    signal: AbortSignal,
  ): Promise<EnvironmentRun> {
    this.state = 'busy';
    this.invocations += 1;
    this.seq += 1;
    const seq = this.seq;
    const message: InvokeMessage = {
      type: 'invoke',
      seq,
      programHash: request.program.hash,
      capturesHash: request.captures.hash,
      element: request.element,
      cwd: request.cwd,
    };
    let bytesIn = request.element?.byteLength ?? 0;
    if (!this.programs.has(request.program.hash)) {
      message.program = { source: request.program.source, filename: request.program.filename };
      this.programs.add(request.program.hash);
      bytesIn += Buffer.byteLength(request.program.source);
    }
    if (!this.captures.has(request.captures.hash)) {
      message.captures = request.captures.bytes;
      this.captures.add(request.captures.hash);
      bytesIn += request.captures.bytes.byteLength;
    }
    return new Promise<EnvironmentRun>((resolve) => {
      const timer = setTimeout(() => this.kill('timeout'), request.timeoutS * 1000);
      const memoryWatch = CAN_READ_RSS ? setInterval(() => this.checkMemory(), MEMORY_POLL_MS) : undefined;
      const onAbort = (): void => this.kill('cancel');
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending = {
        seq,
        startedAt: performance.now(),
        timeoutS: request.timeoutS,
        observer,
        bytesIn,
        settle: (run) => {
          clearTimeout(timer);
          clearInterval(memoryWatch);
          signal.removeEventListener('abort', onAbort);
          this.pending = undefined;
          resolve(run);
        },
      };
      if (signal.aborted) {
        this.kill('cancel');
        return;
      }
      this.child.send(message, (error) => {
        if (error) {
          // The channel is gone; the exit handler settles the invocation.
          this.kill();
        }
      });
    });
  }

  /** Stops the worker (SIGKILL: a busy loop ignores anything gentler). */
  kill(reason?: 'timeout' | 'cancel' | 'dispose' | 'memory'): void {
    this.killedFor ??= reason;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
  }

  /** Kills the environment when its resident memory is over --memory (as Lambda does). */
  private checkMemory(): void {
    const pid = this.child.pid;
    const used = pid === undefined ? undefined : residentMb(pid);
    if (used !== undefined && used > this.memoryMb) {
      this.killedAtMb = used;
      this.kill('memory');
    }
  }

  private lastStderr(): string {
    const lines = this.stderrTail.trim().split('\n').filter(Boolean);
    return lines.slice(-3).join(' | ');
  }

  private onMessage(message: WorkerMessage): void {
    const pending = this.pending;
    if (!pending || message.type === 'ready' || message.seq !== pending.seq) {
      return;
    }
    switch (message.type) {
      case 'stream':
        pending.observer.onStream?.(message.name, message.text);
        return;
      case 'display':
        pending.observer.onDisplay?.(message.data, message.metadata, message.displayId, message.update);
        return;
      case 'result':
      case 'error': {
        this.state = 'idle';
        this.lastUsed = Date.now();
        const outcome: AttemptOutcome =
          message.type === 'result'
            ? { status: 'ok', result: message.result }
            : { status: 'error', error: message.error };
        const bytesOut =
          message.type === 'result'
            ? message.result.byteLength
            : Buffer.byteLength(JSON.stringify(message.error));
        pending.settle({
          outcome,
          durationMs: message.durationMs,
          maxMemoryUsedMb: message.maxRssMb,
          bytesIn: pending.bytesIn,
          bytesOut,
        });
        return;
      }
    }
  }

  private onExit(): void {
    this.state = 'dead';
    const pending = this.pending;
    if (!pending) {
      return;
    }
    // Lambda bills a killed invocation for the time it ran.
    const durationMs = performance.now() - pending.startedAt;
    pending.settle({
      outcome: this.deathOutcome(pending),
      durationMs,
      bytesIn: pending.bytesIn,
      bytesOut: 0,
    });
  }

  /** Why the worker died under an invocation. */
  private deathOutcome(pending: Pending): AttemptOutcome {
    switch (this.killedFor) {
      case 'timeout':
        return { status: 'timeout', message: `Task timed out after ${pending.timeoutS.toFixed(2)} seconds.` };
      case 'memory':
        return {
          status: 'out-of-memory',
          message:
            `Runtime exited: out of memory (it used ${Math.round(this.killedAtMb)} MB, over --memory ` +
            `${this.memoryMb} MB). Raise --memory or use less data per invocation.`,
        };
      case 'cancel':
      case 'dispose':
        return { status: 'cancelled', message: 'Cancelled: the invocation was stopped before it finished.' };
      default:
        break;
    }
    if (OUT_OF_MEMORY.test(this.stderrTail)) {
      return {
        status: 'out-of-memory',
        message: `Runtime exited: out of memory (the V8 heap reached its limit at --memory ${this.memoryMb} MB). Raise --memory or use less data per invocation.`,
      };
    }
    const tail = this.lastStderr();
    return {
      status: 'crashed',
      message: `Runtime exited with ${this.exitDescription} before the invocation finished${tail ? `: ${tail}` : ''}`,
    };
  }
}
