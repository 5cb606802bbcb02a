/**
 * The clock an invocation's `--timeout` runs on in the embedded runtime. On
 * the host's clock (`--cpu host`), a timer. On Lambda's (`--cpu lambda`),
 * the invocation's Lambda-equivalent duration (cost/cpu-share.ts): its wall
 * time with its CPU time stretched by the vCPU share of its memory and its
 * time in this machine's run queue left out, read from /proc while it runs.
 * A CPU-bound body at 128 MB reaches its timeout after about 7% of it here,
 * as it would on Lambda; a sleeping one after all of it.
 */
import { lambdaEquivalentMs, vcpuShare } from '../../cost/cpu-share';
import type { CpuModel } from '../../cost/cpu-share';
import type { CpuTimes } from '../cpu-time';

/**
 * Fewest ms between two readings of the CPU time near the timeout (what the
 * timeout can overshoot by, in host time).
 */
export const CPU_CHECK_MIN_MS = 5;

/** What a clock needs of its invocation and environment. */
export interface ClockOptions {
  /** The invocation's `--timeout`, ms. */
  timeoutMs: number;
  /** How long ago (ms) the invocation started in the worker. */
  lagMs: number;
  memoryMb: number;
  /** Whose clock: Lambda's CPU share of `memoryMb`, or the host's. Absent: the host's. */
  cpu: CpuModel | undefined;
  /** The environment's CPU times so far (undefined when they cannot be read). */
  readCpu: () => CpuTimes | undefined;
  /** Called once, when the timeout is reached. */
  onTimeout: () => void;
}

/** One running invocation's clock (see the file comment). */
export class InvocationClock {
  /** performance.now() when the invocation started. */
  readonly startedAt: number;
  /**
   * Whether it counts Lambda-equivalent time (`--cpu lambda`, and the CPU
   * time can be read): its invocation then has a Lambda-equivalent duration.
   */
  readonly modelled: boolean;
  private timer: NodeJS.Timeout | undefined;
  /** The vCPU share of its memory, capped at one (one thread uses one vCPU at most). */
  private readonly share: number;
  private readonly atStart: CpuTimes | undefined;
  /** CPU and run-queue times since the start at the last reading. */
  private seen: CpuTimes = { cpuMs: 0, queuedMs: 0 };

  constructor(private readonly options: ClockOptions) {
    this.startedAt = performance.now() - options.lagMs;
    // Only Lambda's clock needs the memory's share (the host's counts whatever the request says of memory).
    this.share = options.cpu === 'lambda' ? Math.min(1, vcpuShare(options.memoryMb)) : 1;
    this.atStart = options.cpu === 'lambda' ? options.readCpu() : undefined;
    // Without a CPU reading the host's clock is all there is (not Linux, or the process is gone).
    this.modelled = this.atStart !== undefined;
    const left = options.timeoutMs - options.lagMs;
    this.schedule(this.modelled ? Math.max(CPU_CHECK_MIN_MS, left * this.share) : left);
  }

  /** ms since the start, on the host's clock. */
  get wallMs(): number {
    return performance.now() - this.startedAt;
  }

  /** CPU time used since the start at the last reading, ms; undefined when not modelled. */
  get cpuMs(): number | undefined {
    return this.modelled ? this.seen.cpuMs : undefined;
  }

  /** Stops the clock (the invocation ended); reads the CPU time one last time while the process may still be there. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.readCpu();
  }

  /**
   * The Lambda-equivalent duration of a run that took `wallMs` here, with
   * `times` (the last reading when not given); undefined unless {@link modelled}.
   */
  lambdaMs(wallMs: number, times: Partial<CpuTimes> = this.seen): number | undefined {
    if (!this.modelled) {
      return undefined;
    }
    return lambdaEquivalentMs(
      wallMs,
      times.cpuMs ?? this.seen.cpuMs,
      this.options.memoryMb,
      Math.min(wallMs, times.queuedMs ?? this.seen.queuedMs),
    );
  }

  private readCpu(): void {
    if (this.atStart === undefined) {
      return;
    }
    const now = this.options.readCpu();
    if (now !== undefined) {
      this.seen = {
        cpuMs: Math.max(this.seen.cpuMs, now.cpuMs - this.atStart.cpuMs),
        queuedMs: Math.max(this.seen.queuedMs, now.queuedMs - this.atStart.queuedMs),
      };
    }
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => this.check(), Math.max(0, delayMs));
  }

  /**
   * Times out once the equivalent duration reaches the timeout; else looks
   * again when the rest of it could be reached at the earliest (all of it on
   * the CPU, where equivalent time runs 1 / share times faster than the host's).
   */
  private check(): void {
    this.timer = undefined;
    const { timeoutMs } = this.options;
    if (!this.modelled) {
      this.options.onTimeout();
      return;
    }
    this.readCpu();
    const elapsed = this.lambdaMs(this.wallMs) ?? this.wallMs;
    if (elapsed >= timeoutMs) {
      this.options.onTimeout();
      return;
    }
    this.schedule(Math.max(CPU_CHECK_MIN_MS, (timeoutMs - elapsed) * this.share));
  }
}
