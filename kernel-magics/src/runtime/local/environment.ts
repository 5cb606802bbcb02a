/**
 * One execution environment of the embedded runtime: a worker process with a
 * memory limit, a clean environment, and one invocation at a time. It knows
 * which programs and captures it already holds, so warm invocations carry
 * only their element.
 */
import { ChildProcess, fork } from 'node:child_process';
import { Socket } from 'node:net';
import * as os from 'node:os';

import { AttemptOutcome, InvocationObserver, InvocationRequest } from '../backend';
import {
  CHANNEL_LOST_GRACE_MS,
  cleanEnvironment,
  heapLimitFlags,
  STDERR_DRAIN_MS,
  STDERR_TAIL_BYTES,
} from './config';
import { encodeFrame, FrameDecoder } from './frames';
import { HeldInputs } from './held-inputs';
import { CAN_READ_RSS, DEFAULT_HEAP_LIMIT_MB, OUT_OF_MEMORY, RssReader, Watched } from './memory';
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

/**
 * `display.clear()` in a program: forwarded to an observer that has this
 * callback (InvocationObserver has no clear yet).
 */
type ClearObserver = InvocationObserver & { onClear?(wait: boolean): void };

/** Why the kernel side killed an environment. */
type KillReason = 'timeout' | 'cancel' | 'dispose' | 'memory' | 'channel';

interface Pending {
  seq: number;
  startedAt: number;
  timeoutS: number;
  observer: InvocationObserver;
  bytesIn: number;
  settle(run: EnvironmentRun): void;
}

/** One worker process. */
export class Environment implements Watched {
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
  /** The data channel (the worker's fd 3): invocations out, output and results in. */
  private readonly channel: Socket;
  private corked = false;
  private readonly rss: RssReader;
  private readonly held: HeldInputs;
  private pending?: Pending;
  private seq = 0;
  private stderrTail = '';
  private killedFor?: KillReason;
  /** Peak resident memory seen by the memory watch, MB (0: not seen). */
  private peakRssMb = 0;
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
    this.held = new HeldInputs(memoryMb);
    this.child = fork(workerPath, [], {
      cwd,
      env: cleanEnvironment(memoryMb, os.tmpdir()),
      execArgv: heapLimitFlags(memoryMb, DEFAULT_HEAP_LIMIT_MB, CAN_READ_RSS),
      // fd 3 is the data channel; the IPC channel only tells the worker that the kernel is gone.
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ipc'],
    });
    this.channel = this.child.stdio[3] as Socket;
    // Writes after the worker died fail with EPIPE; its exit settles what it ran.
    this.channel.on('error', () => undefined);
    this.rss = new RssReader(this.child.pid);
    this.child.stdout?.resume();
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_BYTES);
    });
    this.exited = new Promise((resolve) => {
      let drain: NodeJS.Timeout | undefined;
      let finished = false;
      const finish = (): void => {
        if (!finished) {
          finished = true;
          clearTimeout(drain);
          this.onExit();
          resolve();
        }
      };
      this.child.once('exit', (code, signal) => {
        this.exitDescription = code !== null ? `code ${code}` : `signal ${signal ?? 'unknown'}`;
        this.state = 'dead';
        // 'close' follows once stdout/stderr are drained (V8's out-of-memory report may still be there).
        drain = setTimeout(finish, STDERR_DRAIN_MS);
      });
      this.child.once('close', finish);
    });
    // Either channel also closes just before a normal exit: a worker alive well after that lost it.
    const lost = (): void => {
      const timer = setTimeout(() => this.kill('channel'), CHANNEL_LOST_GRACE_MS);
      void this.exited.then(() => clearTimeout(timer));
    };
    this.child.once('disconnect', lost);
    this.channel.once('end', lost);
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`the environment did not start within ${readyTimeoutMs} ms`));
        this.kill();
      }, readyTimeoutMs);
      // Kept for the process's life: an 'error' without a listener would throw in the kernel.
      this.child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
        this.kill();
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(
          new Error(`the environment exited while starting (${this.exitDescription}) ${this.lastStderr()}`),
        );
      });
      const decoder = new FrameDecoder<WorkerMessage>();
      const onMessage = (message: WorkerMessage): void => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          this.initMs = performance.now() - spawnedAt;
          // Every environment is started for an invocation, which takes it at once.
          this.state = 'busy';
          resolve();
        } else {
          this.onMessage(message);
        }
      };
      this.channel.on('data', (chunk: Buffer) => {
        try {
          decoder.push(chunk, onMessage);
        } catch {
          // Not our framing: the program wrote to fd 3. The channel cannot be trusted any more.
          this.kill('channel');
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
    if (this.state === 'dead') {
      // It died between being picked and being handed the invocation: no exit event is left to wait for.
      return Promise.resolve({
        outcome: {
          status: 'crashed',
          message: `Runtime exited with ${this.exitDescription} before the invocation started`,
        },
        durationMs: 0,
        bytesIn: 0,
        bytesOut: 0,
      });
    }
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
    const bytesIn = (request.element?.byteLength ?? 0) + this.held.fill(message, request);
    return new Promise<EnvironmentRun>((resolve) => {
      const timer = setTimeout(() => this.kill('timeout'), request.timeoutS * 1000);
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
          signal.removeEventListener('abort', onAbort);
          this.pending = undefined;
          resolve(run);
        },
      };
      if (signal.aborted) {
        this.kill('cancel');
        return;
      }
      this.send(message);
    });
  }

  /**
   * Writes a message to the data channel. Writes made in one tick go out
   * together (corked): one system call, one wake-up of the worker.
   */
  private send(message: InvokeMessage): void {
    if (!this.corked) {
      this.corked = true;
      this.channel.cork();
      process.nextTick(() => {
        this.corked = false;
        this.channel.uncork();
      });
    }
    for (const part of encodeFrame(message)) {
      this.channel.write(part);
    }
  }

  /** Stops the worker (SIGKILL: a busy loop ignores anything gentler). */
  kill(reason?: KillReason): void {
    this.killedFor ??= reason;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
  }

  /** Whether the memory watch checks it: while it runs an invocation. */
  get watched(): boolean {
    return this.pending !== undefined && this.state === 'busy';
  }

  /**
   * Reads the resident memory, keeps the peak, and kills the environment when
   * it is over --memory (as Lambda does). Returns the share of --memory used.
   */
  checkMemory(): number | undefined {
    const used = this.rss.readMb();
    if (used === undefined) {
      return undefined;
    }
    this.peakRssMb = Math.max(this.peakRssMb, used);
    if (used > this.memoryMb) {
      this.kill('memory');
    }
    return used / this.memoryMb;
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
      case 'clear':
        (pending.observer as ClearObserver).onClear?.(message.wait);
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
          maxMemoryUsedMb: Math.max(message.maxRssMb, this.peakRssMb),
          bytesIn: pending.bytesIn,
          bytesOut,
        });
        return;
      }
    }
  }

  private onExit(): void {
    this.state = 'dead';
    this.rss.close();
    const pending = this.pending;
    if (!pending) {
      return;
    }
    // Lambda bills a killed invocation for the time it ran.
    const durationMs = performance.now() - pending.startedAt;
    pending.settle({
      outcome: this.deathOutcome(pending),
      durationMs,
      maxMemoryUsedMb: this.peakRssMb > 0 ? this.peakRssMb : undefined,
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
            `Runtime exited: out of memory (it used ${Math.round(this.peakRssMb)} MB, over --memory ` +
            `${this.memoryMb} MB). Raise --memory or use less data per invocation.`,
        };
      case 'cancel':
      case 'dispose':
        return { status: 'cancelled', message: 'Cancelled: the invocation was stopped before it finished.' };
      case 'channel':
        return {
          status: 'crashed',
          message:
            'The environment lost its IPC channel to the kernel (or wrote to it what the kernel does not read) ' +
            'before the invocation finished.',
        };
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
