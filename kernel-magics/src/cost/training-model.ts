/**
 * How long and how much a `train()` would take at any workers x memory, from
 * steps measured at a few worker counts (groundwork of train-time tuning,
 * issue 15 item 4; not wired to `train()` yet). A step of a worker is its
 * part of the gradient (CPU time: a fixed part and a part per local sample,
 * stretched by the vCPU share of its memory on Lambda's clock) and the
 * exchange (waiting for the store and the other workers, which grows with
 * the workers).
 */
import { vcpuShare } from './cpu-share';
import { alikeRunPico, checkMemory, CostModelError, picoToUsd } from './meter';
import type { Arch, PriceTable } from './prices';

/** Steps measured at one worker count (warm: no cold start or setup in them). */
export interface StepMeasure {
  workers: number;
  /** Median CPU ms a worker spent per step (one vCPU's worth). */
  cpuMs: number;
  /** Median ms a worker waited per step (the exchange). */
  waitMs: number;
}

/** The step model fitted to measures: CPU = fixed + per sample x local batch; wait = base + per worker x workers. */
export interface StepModel {
  cpuFixedMs: number;
  cpuPerSampleMs: number;
  waitBaseMs: number;
  waitPerWorkerMs: number;
}

/** A training to predict. */
export interface TrainingShape {
  /** Global batch of a step. */
  batchSize: number;
  stepsPerEpoch: number;
  epochs: number;
  /** ms a worker's first segment spends before its first step (INIT, loading tfjs, its shard, the model). */
  setupMs: number;
}

/** A prediction at one workers x memory. */
export interface TrainingPrediction {
  workers: number;
  memoryMb: number;
  /** ms a step takes, on Lambda's clock. */
  stepMs: number;
  /** ms the whole training takes. */
  totalMs: number;
  /** What it costs, USD (every worker billed for the whole training, one request each). */
  costUsd: number;
}

/** Least-squares line through (x, y) points; flat through their mean when every x is the same. */
function line(points: readonly [number, number][]): { intercept: number; slope: number } {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  if (sxx === 0) {
    return { intercept: my, slope: 0 };
  }
  const slope = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  return { intercept: my - slope * mx, slope };
}

/**
 * Fits the step model to measures at one or more worker counts (the CPU
 * part against the local batch, the wait against the workers); parts that
 * come out negative are clamped at zero.
 * @throws CostModelError without measures, or with a measure that is not finite and >= 0.
 */
export function fitStepModel(measures: readonly StepMeasure[], batchSize: number): StepModel {
  if (measures.length === 0) {
    throw new CostModelError('A step model needs at least one measured worker count.');
  }
  for (const m of measures) {
    if (![m.cpuMs, m.waitMs].every((v) => Number.isFinite(v) && v >= 0) || !(m.workers >= 1)) {
      throw new CostModelError(
        `A step measure must have workers >= 1 and finite ms >= 0, got ${JSON.stringify(m)}`,
      );
    }
  }
  const cpu = line(measures.map((m) => [batchSize / m.workers, m.cpuMs]));
  const wait = line(measures.map((m) => [m.workers, m.waitMs]));
  return {
    cpuFixedMs: Math.max(0, cpu.intercept),
    cpuPerSampleMs: Math.max(0, cpu.slope),
    waitBaseMs: Math.max(0, wait.intercept),
    waitPerWorkerMs: Math.max(0, wait.slope),
  };
}

/**
 * Predicts a training at `workers` x `memoryMb` on Lambda's clock.
 * @throws CostModelError when `memoryMb` is not a memory size Lambda accepts.
 */
export function predictTraining(
  model: StepModel,
  shape: TrainingShape,
  workers: number,
  memoryMb: number,
  pricing: { prices: PriceTable; arch: Arch },
): TrainingPrediction {
  checkMemory(memoryMb, pricing.prices);
  const share = Math.min(1, vcpuShare(memoryMb));
  const cpuMs = model.cpuFixedMs + model.cpuPerSampleMs * (shape.batchSize / workers);
  const stepMs = cpuMs / share + model.waitBaseMs + model.waitPerWorkerMs * workers;
  const totalMs = shape.setupMs + stepMs * shape.stepsPerEpoch * shape.epochs;
  const pico = alikeRunPico(
    { invocations: workers, perInvocationMs: totalMs, memoryMb },
    pricing.prices,
    pricing.arch,
  );
  return { workers, memoryMb, stepMs, totalMs, costUsd: picoToUsd(pico) };
}
