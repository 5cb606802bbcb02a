/**
 * Estimates of a run before it starts: from durations measured in earlier
 * runs of the same program at the same memory; else modelled from runs at
 * another memory (profiles.ts: CPU time scaled to the memory's vCPU share);
 * or, with no measurement, the worst case in which every invocation runs
 * until its timeout.
 */
import type { CpuModel } from './cpu-share';
import { median } from './profiles';
import type { Prediction, ProgramProfiles } from './profiles';
import { alikeRunPico, checkMemory, CostModelError, picoToUsd } from './meter';
import { Arch, PriceTable } from './prices';

/** Bounds of a {@link DurationHistory}. */
export interface DurationHistoryOptions {
  /** Durations kept per (program, memory), newest last. Default 200. */
  perKey?: number;
  /** (program, memory) keys kept; the least recently used goes first. Default 256. */
  maxKeys?: number;
}

/** Measured invocation durations, keyed by program hash and memory. Bounded. */
export class DurationHistory {
  private readonly perKey: number;
  private readonly maxKeys: number;
  /**
   * Insertion order is recency order: the first key is the least recently
   * used. A key's array may hold up to twice `perKey` durations (trimmed to
   * `perKey` when it reaches that, not at every record); the newest `perKey`
   * are the kept ones.
   */
  private readonly byKey = new Map<string, number[]>();
  /** The most recently used key, its parts and its array (a map records one key over and over). */
  private last?: { programHash: string; memoryMb: number; samples: number[] };

  constructor(options: DurationHistoryOptions = {}) {
    this.perKey = positiveInteger('perKey', options.perKey ?? 200);
    this.maxKeys = positiveInteger('maxKeys', options.maxKeys ?? 256);
  }

  /** Records the duration (ms) of one invocation of `programHash` at `memoryMb`. */
  record(programHash: string, memoryMb: number, durationMs: number): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) {
      throw new CostModelError(`A duration must be a finite number of ms >= 0, got ${durationMs}`);
    }
    const last = this.last;
    if (last && last.programHash === programHash && last.memoryMb === memoryMb) {
      // Already the most recently used key: no reordering.
      this.push(last.samples, durationMs);
      return;
    }
    const key = keyOf(programHash, memoryMb);
    const samples = this.byKey.get(key) ?? [];
    this.byKey.delete(key);
    this.push(samples, durationMs);
    this.byKey.set(key, samples);
    this.last = { programHash, memoryMb, samples };
    while (this.byKey.size > this.maxKeys) {
      const oldest = this.byKey.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.byKey.delete(oldest);
    }
  }

  /** The kept durations of a key, oldest first (reading counts as a use for the LRU order). */
  samples(programHash: string, memoryMb: number): readonly number[] {
    const key = keyOf(programHash, memoryMb);
    const samples = this.byKey.get(key);
    if (!samples) {
      return [];
    }
    this.byKey.delete(key);
    this.byKey.set(key, samples);
    this.last = { programHash, memoryMb, samples };
    return samples.slice(-this.perKey);
  }

  private push(samples: number[], durationMs: number): void {
    samples.push(durationMs);
    if (samples.length >= 2 * this.perKey) {
      samples.splice(0, samples.length - this.perKey);
    }
  }

  /** The median kept duration of a key, undefined without measurements. */
  median(programHash: string, memoryMb: number): number | undefined {
    const samples = this.samples(programHash, memoryMb);
    return samples.length === 0 ? undefined : median(samples);
  }

  /** How many keys are kept. */
  get size(): number {
    return this.byKey.size;
  }

  /** Forgets everything. */
  clear(): void {
    this.byKey.clear();
    this.last = undefined;
  }
}

/** What a run will do, as far as cost goes. */
export interface RunShape {
  programHash: string;
  memoryMb: number;
  timeoutS: number;
  invocations: number;
  concurrency: number;
  /** Cold starts to expect, each with an INIT of `initMs`; none when absent. */
  coldStarts?: { count: number; initMs: number };
  /** The clock durations are predicted on from other memory sizes (absent: Lambda's). */
  cpu?: CpuModel;
}

/** The estimate of a run. */
export interface CostEstimate {
  /**
   * `measured`: from the median of earlier runs at this memory; `modelled`:
   * from runs at another memory (see `prediction`); `worst-case`: every
   * invocation runs to its timeout.
   */
  basis: 'measured' | 'modelled' | 'worst-case';
  /** What a `modelled` estimate rests on. */
  prediction?: Prediction;
  /** ms per invocation (the median, or the timeout). */
  perInvocationMs: number;
  /** ceil(invocations / concurrency) x perInvocationMs. */
  wallMs: number;
  costUsd: number;
  invocations: number;
  /** Measurements the estimate rests on (0 for the worst case). */
  samples: number;
}

/**
 * Estimates the time and cost of a run. With durations measured for the
 * same program and memory the estimate uses their median; otherwise every
 * invocation is assumed to run until its timeout (an upper bound: a timed-out
 * invocation is billed its full timeout).
 *
 * @throws CostModelError on invalid counts, timeout or memory.
 */
export function estimateRun(
  shape: RunShape,
  history: DurationHistory,
  prices: PriceTable,
  arch: Arch = 'x86_64',
  profiles?: ProgramProfiles,
): CostEstimate {
  checkMemory(shape.memoryMb, prices);
  const invocations = nonNegativeInteger('invocations', shape.invocations);
  const concurrency = positiveInteger('concurrency', shape.concurrency);
  if (!Number.isFinite(shape.timeoutS) || shape.timeoutS <= 0) {
    throw new CostModelError(`timeoutS must be a positive number of seconds, got ${shape.timeoutS}`);
  }
  const key = durationKey(shape.programHash, shape.cpu);
  const measured = history.samples(key, shape.memoryMb).length;
  const median = history.median(key, shape.memoryMb);
  const prediction =
    median === undefined
      ? profiles?.predict(shape.programHash, shape.memoryMb, shape.cpu ?? 'lambda')
      : undefined;
  const basis = median !== undefined ? 'measured' : prediction ? 'modelled' : 'worst-case';
  // A modelled duration past the timeout is cut there, as the run would be.
  const perInvocationMs =
    median ??
    (prediction ? Math.min(prediction.perInvocationMs, shape.timeoutS * 1000) : shape.timeoutS * 1000);
  const samples = median !== undefined ? measured : (prediction?.samples ?? 0);
  if (shape.coldStarts) {
    nonNegativeInteger('coldStarts.count', shape.coldStarts.count);
  }
  const pico = alikeRunPico(
    { invocations, perInvocationMs, memoryMb: shape.memoryMb, coldStarts: shape.coldStarts },
    prices,
    arch,
  );
  return {
    basis,
    perInvocationMs,
    wallMs: Math.ceil(invocations / concurrency) * perInvocationMs,
    costUsd: picoToUsd(pico),
    invocations,
    samples,
    ...(prediction ? { prediction } : {}),
  };
}

/**
 * A program's key in a {@link DurationHistory} for durations counted on
 * `clock` (durations on one clock say nothing of another's at the same
 * memory); the bare hash when no clock is named.
 */
export function durationKey(programHash: string, clock?: CpuModel): string {
  return clock === undefined ? programHash : `${programHash}@${clock}`;
}

function keyOf(programHash: string, memoryMb: number): string {
  return `${memoryMb}:${programHash}`;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new CostModelError(`${name} must be a whole number >= 1, got ${value}`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new CostModelError(`${name} must be a whole number >= 0, got ${value}`);
  }
  return value;
}
