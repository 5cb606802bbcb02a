/**
 * The process under an execution environment: spawned with a clean
 * environment and its memory flags, in its sandbox (or with a watchdog when
 * there is none), its data channel (fd 3, framed), the tail of its stderr,
 * readiness, and an exit reported once its output has been read.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import * as os from 'node:os';

import { storeEnvironment } from '../../exchange/store/credentials';
import { STORE_UNAVAILABLE_ENV } from '../../exchange/store/embedded-dir';
import {
  CHANNEL_LOST_GRACE_MS,
  cleanEnvironment,
  heapLimitFlags,
  STDERR_DRAIN_MS,
  STDERR_TAIL_BYTES,
} from './config';
import { encodeFrame, FrameDecoder } from './frames';
import { CAN_READ_RSS, DEFAULT_HEAP_LIMIT_MB } from './memory';
import { KernelMessage, WorkerMessage } from './protocol';
import { sandboxArgs, SandboxSupport, SandboxView } from './sandbox';
import { WATCHDOG_FLAG } from './watchdog';

/** How to start one worker. */
export interface WorkerLaunch extends SandboxView {
  memoryMb: number;
  readyTimeoutMs: number;
  /** Whether it runs in a sandbox (detected once per backend). */
  sandbox: SandboxSupport;
  /** Top-level entries of `filesDir` (shipped with `--files`). */
  fileEntries: readonly string[];
  /** Key of the shipped files ('' for none). */
  filesHash: string;
  /** The store URL its invocations use ('' for the embedded store): decides which credentials it gets. */
  store: string;
  /** Non-empty: the reason the environment has no embedded store (see LocalBackendOptions). */
  storeUnavailable?: string;
}

/** The command that starts a worker: node itself, or node inside bubblewrap. */
function workerCommand(launch: WorkerLaunch): { file: string; args: string[]; cwd: string; home: string } {
  const node = [...heapLimitFlags(launch.memoryMb, DEFAULT_HEAP_LIMIT_MB, CAN_READ_RSS), launch.workerPath];
  if (launch.sandbox.sandboxed) {
    return {
      file: launch.sandbox.bwrap,
      args: [...sandboxArgs(launch, launch.fileEntries), '--', process.execPath, ...node],
      cwd: '/',
      // The sandbox's /tmp is its own.
      home: '/tmp',
    };
  }
  // Shipped files are the working directory (a read-only copy; see runtime/files.ts).
  return {
    file: process.execPath,
    args: [...node, WATCHDOG_FLAG],
    cwd: launch.filesDir ?? launch.cwd,
    home: os.tmpdir(),
  };
}

/** The PIDs of `pid`'s children (from /proc; none when it cannot be read). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Why the kernel side killed a worker. */
export type KillReason = 'timeout' | 'cancel' | 'dispose' | 'memory' | 'channel' | 'replaced';

/** What the process tells its environment, synchronously. */
export interface WorkerProcessEvents {
  /** The worker is ready for invocations. */
  ready(): void;
  /** A message other than `ready`. */
  message(message: WorkerMessage): void;
  /** The process exited (what it wrote may still be arriving; `exit` follows). */
  died(): void;
  /** The process exited and what it wrote has been read (or STDERR_DRAIN_MS passed). */
  exit(): void;
}

/** One worker process and its data channel. */
export class WorkerProcess {
  /** ms from spawn to ready (0 until ready). */
  initMs = 0;
  /** Why the kernel side killed it, if it did (the first reason given). */
  killedFor?: KillReason;
  /** Why the kernel killed it, in words, when the reason alone does not say (`replaced`). */
  killNote?: string;
  /** How it exited (`code 3`, `signal SIGKILL`), once it has. */
  exitDescription = '';
  /** Resolves when the worker is ready; rejects when it died or did not start in time. */
  readonly ready: Promise<void>;
  /** Resolves when the process has exited (after `exit` was reported). */
  readonly exited: Promise<void>;

  private readonly child: ChildProcess;
  /** The data channel (the worker's fd 3): invocations out, output and results in. */
  private readonly channel: Socket;
  private corked = false;
  private stderrTail = '';

  private readonly sandboxed: boolean;
  private nodePid?: number;

  constructor(launch: WorkerLaunch, events: WorkerProcessEvents) {
    const { readyTimeoutMs } = launch;
    const spawnedAt = performance.now();
    const command = workerCommand(launch);
    this.sandboxed = launch.sandbox.sandboxed;
    // No IPC channel (setting one up is part of every cold start, bench/runtime): fd 3 is the data
    // channel, which bubblewrap passes on as it is.
    this.child = spawn(command.file, command.args, {
      cwd: command.cwd,
      env: cleanEnvironment(launch.memoryMb, command.home, launch.storeDir, {
        ...storeEnvironment(launch.store),
        ...(launch.storeUnavailable ? { [STORE_UNAVAILABLE_ENV]: launch.storeUnavailable } : {}),
      }),
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    this.channel = this.child.stdio[3] as Socket;
    // Writes after the worker died fail with EPIPE; its exit settles what it ran.
    this.channel.on('error', () => undefined);
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
          events.exit();
          resolve();
        }
      };
      this.child.once('exit', (code, signal) => {
        this.exitDescription = this.describeExit(code, signal);
        events.died();
        // 'close' follows once stdout/stderr and the data channel are drained (V8's out-of-memory
        // report, a last result may still be there).
        drain = setTimeout(finish, STDERR_DRAIN_MS);
      });
      this.child.once('close', finish);
    });
    // The channel also closes just before a normal exit: a worker alive well after that lost it.
    this.channel.once('end', () => {
      const timer = setTimeout(() => this.kill('channel'), CHANNEL_LOST_GRACE_MS);
      void this.exited.then(() => clearTimeout(timer));
    });
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
          events.ready();
          resolve();
        } else {
          events.message(message);
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

  /** The PID the kernel started: the worker's, or bubblewrap's when sandboxed (killing it ends the sandbox). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * The PID of the Node process itself (its memory is what --memory limits):
   * in a sandbox, the child of bubblewrap's init, found once it runs.
   */
  get memoryPid(): number | undefined {
    if (!this.sandboxed || this.child.pid === undefined) {
      return this.child.pid;
    }
    if (this.nodePid === undefined) {
      // bwrap (the kernel's child) -> bwrap as the sandbox's PID 1 -> node.
      const init = childrenOf(this.child.pid)[0];
      this.nodePid = init === undefined ? undefined : childrenOf(init)[0];
    }
    return this.nodePid;
  }

  /**
   * `code 3` or `signal SIGKILL`. Bubblewrap exits with 128 + N when the
   * worker was killed by signal N: said as the signal, as without a sandbox.
   */
  private describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    if (code === null) {
      return `signal ${signal ?? 'unknown'}`;
    }
    const name = Object.entries(os.constants.signals).find(([, number]) => number === code - 128)?.[0];
    return this.sandboxed && code > 128 && name !== undefined ? `signal ${name}` : `code ${code}`;
  }

  /**
   * Writes a message to the data channel. Writes made in one tick go out
   * together (corked): one system call, one wake-up of the worker.
   */
  send(message: KernelMessage): void {
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

  /** Stops the worker (SIGKILL: a busy loop ignores anything gentler); the first reason is kept. */
  kill(reason?: KillReason, note?: string): void {
    if (this.killedFor === undefined) {
      this.killedFor = reason;
      this.killNote = note;
    }
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
  }

  /** Whether stderr's tail matches (V8's out-of-memory report). */
  stderrMatches(pattern: RegExp): boolean {
    return pattern.test(this.stderrTail);
  }

  /** stderr's tail, as kept (see end-report.ts for what reads it). */
  stderrText(): string {
    return this.stderrTail;
  }

  /** The last lines of stderr, joined, to explain a crash. */
  lastStderr(): string {
    const lines = this.stderrTail.trim().split('\n').filter(Boolean);
    return lines.slice(-3).join(' | ');
  }
}
