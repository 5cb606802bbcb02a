/**
 * Lambda's CPU share: a function's CPU grows with its memory, one vCPU at
 * 1,769 MB (AWS Lambda's documentation), up to six at 10,240 MB. Code that
 * runs on one thread gets no faster above one vCPU; below it, its CPU time
 * stretches by 1,769 / memory. The embedded runtime measures each
 * invocation's wall time and CPU time on this machine; the Lambda-equivalent
 * duration keeps the wall time that was not CPU (waiting on timers, I/O,
 * the network) and stretches the CPU time by the share.
 */

/**
 * Whose clock the embedded runtime bills and times out on: `lambda`, the
 * Lambda-equivalent duration at the invocation's memory (the default), or
 * `host`, this machine's wall time.
 */
export type CpuModel = 'lambda' | 'host';

/** The CPU models, for option parsers and messages. */
export const CPU_MODELS: readonly CpuModel[] = ['lambda', 'host'];

/** Memory at which a Lambda function has one full vCPU, MB. */
export const ONE_VCPU_MB = 1769;

/** vCPUs a Lambda function of `memoryMb` gets (a fraction below 1,769 MB). */
export function vcpuShare(memoryMb: number): number {
  if (!Number.isFinite(memoryMb) || memoryMb <= 0) {
    throw new RangeError(`memory must be a positive number of MB, got ${memoryMb}`);
  }
  return memoryMb / ONE_VCPU_MB;
}

/**
 * What an invocation that took `wallMs` here, `cpuMs` of it on the CPU and
 * `queuedMs` of it waiting for a CPU that other processes had (this
 * machine's run queue, runtime/cpu-time.ts), would take on Lambda at
 * `memoryMb`, for code on one thread: the queueing left out (a Lambda has
 * its share to itself), the CPU part stretched by 1 / share below one vCPU,
 * unchanged above (one thread cannot use more than one vCPU). CPU time over
 * the rest of the wall time (several threads) counts as that time.
 */
export function lambdaEquivalentMs(wallMs: number, cpuMs: number, memoryMb: number, queuedMs = 0): number {
  if (![wallMs, cpuMs, queuedMs].every((ms) => Number.isFinite(ms) && ms >= 0)) {
    throw new RangeError(
      `durations must be finite and >= 0, got wall ${wallMs} ms, cpu ${cpuMs} ms, queued ${queuedMs} ms`,
    );
  }
  const share = vcpuShare(memoryMb);
  const ran = Math.max(0, wallMs - queuedMs);
  const onCpu = Math.min(cpuMs, ran);
  return share >= 1 ? ran : ran - onCpu + onCpu / share;
}

/**
 * The Lambda-equivalent time this process has taken since the clock was
 * made, at `memoryMb`'s CPU share (the host's clock when `memoryMb` is
 * absent): what code inside an invocation counts against its timeout and
 * its bill, as the embedded runtime does from outside.
 */
export class BillingClock {
  private readonly startedAt = performance.now();
  private readonly cpuAtStart = process.cpuUsage();
  private readonly queuedAtStart: number | undefined;

  /** `queuedMs`: this process's run-queue time so far (runtime/cpu-time.ts), when known. */
  constructor(
    private readonly memoryMb?: number,
    private readonly queuedMs: () => number | undefined = () => undefined,
  ) {
    this.queuedAtStart = memoryMb === undefined ? undefined : queuedMs();
  }

  /**
   * One reading: ms since the clock was made, on Lambda's clock at the memory
   * (the host's without one), and how much longer time runs on it than on the
   * host's so far (1 on the host's), which turns a duration measured here into a billed one.
   */
  read(): { nowMs: number; stretch: number } {
    const wallMs = performance.now() - this.startedAt;
    if (this.memoryMb === undefined) {
      return { nowMs: wallMs, stretch: 1 };
    }
    const cpu = process.cpuUsage(this.cpuAtStart);
    const queued =
      this.queuedAtStart === undefined ? 0 : (this.queuedMs() ?? this.queuedAtStart) - this.queuedAtStart;
    const nowMs = lambdaEquivalentMs(
      wallMs,
      (cpu.user + cpu.system) / 1000,
      this.memoryMb,
      Math.max(0, queued),
    );
    return { nowMs, stretch: wallMs > 0 ? nowMs / wallMs : 1 };
  }

  /** ms since the clock was made, on its clock (see {@link read}). */
  now(): number {
    return this.read().nowMs;
  }
}
