/**
 * What a program's earlier invocations tell about how it runs at any memory
 * size: each ended attempt split into time on the CPU and time waiting
 * (timers, I/O, the network), and its peak memory. On Lambda the waiting
 * stays and the CPU time stretches by the vCPU share of the memory
 * (cpu-share.ts), so one run at one size predicts every size: what
 * `--dry-run` estimates at a size never run, and what the tuner predicts.
 */
import { vcpuShare } from './cpu-share';
import type { CpuModel } from './cpu-share';
import { CostModelError } from './meter';

/** One ended invocation, as the profile keeps it. */
export interface ProfileSample {
  /** The memory it ran at, MB. */
  memoryMb: number;
  /** ms it waited (its duration less its time on the CPU, at the share it ran with). */
  waitMs: number;
  /** ms of CPU time it used (one vCPU's worth). */
  cpuMs: number;
  /** Peak memory it used, MB, when known. */
  peakMb?: number;
}

/** What an attempt measured, as {@link profileSample} reads it. */
export interface MeasuredRun {
  memoryMb: number;
  /** ms it ran where it ran (the host's wall time, or the platform's measured duration). */
  durationMs: number;
  /** ms of CPU time it used. */
  cpuMs: number;
  /** ms of its duration it waited for a CPU other processes had (this machine's run queue); none when absent. */
  queuedMs?: number;
  /**
   * The vCPU share it ran with: 1 on this machine (one core for one thread),
   * the share of its memory on Lambda itself.
   */
  share: number;
  peakMb?: number;
}

/** A measured run split into waiting and CPU time (time in the run queue is neither: a Lambda would not have it). */
export function profileSample(run: MeasuredRun): ProfileSample {
  if (![run.durationMs, run.cpuMs, run.share].every((v) => Number.isFinite(v) && v >= 0) || run.share === 0) {
    throw new CostModelError(
      `A run's duration, CPU time and share must be finite and >= 0 (share > 0), got ` +
        `${run.durationMs} ms, ${run.cpuMs} ms, share ${run.share}`,
    );
  }
  const ran = Math.max(0, run.durationMs - (run.queuedMs ?? 0));
  const onCpu = Math.min(run.cpuMs / Math.min(1, run.share), ran);
  return {
    memoryMb: run.memoryMb,
    waitMs: ran - onCpu,
    cpuMs: onCpu * Math.min(1, run.share),
    ...(run.peakMb === undefined ? {} : { peakMb: run.peakMb }),
  };
}

/**
 * How long a sample would run at `memoryMb`: on Lambda's clock (`lambda`),
 * its waiting plus its CPU time at the memory's share (one thread: no faster
 * above one vCPU); on the host's, waiting plus CPU time as it ran here.
 */
export function predictMs(sample: ProfileSample, memoryMb: number, clock: CpuModel): number {
  const share = clock === 'lambda' ? Math.min(1, vcpuShare(memoryMb)) : 1;
  return sample.waitMs + sample.cpuMs / share;
}

/** A prediction for one memory size from a program's profile. */
export interface Prediction {
  memoryMb: number;
  /** Median predicted duration per invocation, ms. */
  perInvocationMs: number;
  /** The samples it rests on. */
  samples: number;
  /** The memory size they were measured at (the nearest measured to `memoryMb`). */
  fromMemoryMb: number;
  /** Median CPU and waiting ms of those samples. */
  cpuMs: number;
  waitMs: number;
  /** The highest peak memory they used, MB, when known. */
  peakMb?: number;
}

/** Bounds of a {@link ProgramProfiles}. */
export interface ProfilesOptions {
  /** Samples kept per program and memory size, newest last. Default 200. */
  perSize?: number;
  /** Programs kept; the least recently used goes first. Default 256. */
  maxPrograms?: number;
}

/** Profile samples per program hash and memory size, bounded. */
export class ProgramProfiles {
  private readonly perSize: number;
  private readonly maxPrograms: number;
  /** Program hash -> memory size -> samples; insertion order is recency order. */
  private readonly byProgram = new Map<string, Map<number, ProfileSample[]>>();

  constructor(options: ProfilesOptions = {}) {
    this.perSize = options.perSize ?? 200;
    this.maxPrograms = options.maxPrograms ?? 256;
  }

  /** Records one ended invocation of `programHash`. */
  record(programHash: string, sample: ProfileSample): void {
    const sizes = this.touch(programHash) ?? new Map<number, ProfileSample[]>();
    this.byProgram.set(programHash, sizes);
    const samples = sizes.get(sample.memoryMb) ?? [];
    samples.push(sample);
    if (samples.length > this.perSize) {
      samples.splice(0, samples.length - this.perSize);
    }
    sizes.set(sample.memoryMb, samples);
    while (this.byProgram.size > this.maxPrograms) {
      const oldest = this.byProgram.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.byProgram.delete(oldest);
    }
  }

  /** The memory sizes a program was measured at. */
  measuredSizes(programHash: string): number[] {
    return [...(this.byProgram.get(programHash)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /**
   * What `programHash` would take at `memoryMb` on `clock`, from the samples
   * of the measured size nearest to it in vCPU share (its own when measured);
   * undefined when the program was never measured.
   */
  predict(programHash: string, memoryMb: number, clock: CpuModel): Prediction | undefined {
    const sizes = this.touch(programHash);
    if (!sizes || sizes.size === 0) {
      return undefined;
    }
    const nearest = [...sizes.keys()].reduce((best, size) =>
      sizeDistance(size, memoryMb) < sizeDistance(best, memoryMb) ? size : best,
    );
    const samples = sizes.get(nearest) ?? [];
    const peaks = samples.flatMap((s) => (s.peakMb === undefined ? [] : [s.peakMb]));
    return {
      memoryMb,
      perInvocationMs: median(samples.map((s) => predictMs(s, memoryMb, clock))),
      samples: samples.length,
      fromMemoryMb: nearest,
      cpuMs: median(samples.map((s) => s.cpuMs)),
      waitMs: median(samples.map((s) => s.waitMs)),
      ...(peaks.length > 0 ? { peakMb: Math.max(...peaks) } : {}),
    };
  }

  /** Forgets everything. */
  clear(): void {
    this.byProgram.clear();
  }

  /** A program's sizes, made the most recently used. */
  private touch(programHash: string): Map<number, ProfileSample[]> | undefined {
    const sizes = this.byProgram.get(programHash);
    if (sizes) {
      this.byProgram.delete(programHash);
      this.byProgram.set(programHash, sizes);
    }
    return sizes;
  }
}

/** How far apart two memory sizes are, as a ratio (128 and 256 MB as far as 1,024 and 2,048). */
function sizeDistance(a: number, b: number): number {
  return Math.abs(Math.log(a / b));
}

/** The median of some values (NaN for none). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
