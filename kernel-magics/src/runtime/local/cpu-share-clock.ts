/**
 * The clock an invocation's `--timeout` runs on in the embedded runtime. On
 * the host's clock (`--cpu host`), a timer. On Lambda's (`--cpu lambda`),
 * the invocation's Lambda-equivalent duration (cost/cpu-share.ts): its wall
 * time with its CPU time stretched by the vCPU share of its memory, read from
 * /proc while it runs. A CPU-bound body at 128 MB reaches its timeout after
 * about 7% of it here, as it would on Lambda; a sleeping one after all of it.
 */
import { lambdaEquivalentMs, vcpuShare } from '../../cost/cpu-share';
import type { CpuModel } from '../../cost/cpu-share';

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
  /** The environment's CPU time so far, ms (undefined when it cannot be read). */
  readCpuMs: () => number | undefined;
  /** Called once, when the timeout is reached. */
  onTimeout: () => void;
}

/** One running invocation's clock (see the file comment). */
export class InvocationClock {
  /** performance.now() when the invocation started. */
  readonly startedAt: number;
  /**
   * Whether it models Lambda's CPU share (`--cpu lambda`, and the CPU time
   * can be read or is not needed): its invocation then has a Lambda-equivalent duration.
   */
  readonly modelled: boolean;
  private timer: NodeJS.Timeout | undefined;
  /** The vCPU share its timeout is counted on, when below one vCPU and the CPU time can be read. */
  private readonly share: number | undefined;
  private readonly cpuAtStart: number | undefined;
  /** CPU time used since the start at the last reading, ms. */
  private cpuSeen = 0;

  constructor(private readonly options: ClockOptions) {
    this.startedAt = performance.now() - options.lagMs;
    const share = options.cpu === 'lambda' ? vcpuShare(options.memoryMb) : 1;
    this.cpuAtStart = share < 1 ? options.readCpuMs() : undefined;
    // Without a CPU reading the host's clock is all there is (not Linux, or the process is gone).
    this.share = this.cpuAtStart === undefined ? undefined : share;
    this.modelled = options.cpu === 'lambda' && (share >= 1 || this.share !== undefined);
    const left = options.timeoutMs - options.lagMs;
    this.schedule(this.share === undefined ? left : Math.max(CPU_CHECK_MIN_MS, left * this.share));
  }

  /** ms since the start, on the host's clock. */
  get wallMs(): number {
    return performance.now() - this.startedAt;
  }

  /** Stops the clock (the invocation ended); reads the CPU time one last time while the process may still be there. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.readCpu();
  }

  /**
   * The Lambda-equivalent duration of a run that took `wallMs` here, `cpuMs`
   * of it on the CPU (the last reading when not given); undefined unless
   * {@link modelled}.
   */
  lambdaMs(wallMs: number, cpuMs: number | undefined = this.cpuMs): number | undefined {
    if (!this.modelled) {
      return undefined;
    }
    return cpuMs === undefined ? wallMs : lambdaEquivalentMs(wallMs, cpuMs, this.options.memoryMb);
  }

  /** CPU time used since the start at the last reading, ms; undefined when it is not read (host clock, one vCPU or more). */
  get cpuMs(): number | undefined {
    return this.cpuAtStart === undefined ? undefined : this.cpuSeen;
  }

  /** ms the equivalent duration counts so far (the host's when not modelled). */
  private elapsedMs(): number {
    const wall = this.wallMs;
    return this.lambdaMs(wall) ?? wall;
  }

  private readCpu(): void {
    if (this.cpuAtStart === undefined) {
      return;
    }
    const now = this.options.readCpuMs();
    if (now !== undefined) {
      this.cpuSeen = Math.max(this.cpuSeen, now - this.cpuAtStart);
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
    if (this.share === undefined) {
      this.options.onTimeout();
      return;
    }
    this.readCpu();
    const elapsed = this.elapsedMs();
    if (elapsed >= timeoutMs) {
      this.options.onTimeout();
      return;
    }
    this.schedule(Math.max(CPU_CHECK_MIN_MS, (timeoutMs - elapsed) * this.share));
  }
}
