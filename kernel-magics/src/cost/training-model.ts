/**
 * How long and how much a `train()` would take at any workers x memory,
 * from short profiling runs at a few worker counts (train-time tuning). A
 * worker's time is its active time (wall time less run-queue time) with its
 * CPU time stretched by Lambda's vCPU share of its memory, as the embedded
 * runtime's clock counts it (the waiting in it, for the store and the other
 * workers, does not stretch). Its parts: setup (loading tfjs, its shard, the model),
 * the steps (its part of the gradient, then the exchange), and each epoch's
 * end (evaluating its share of the validation data, rank 0's checkpoint).
 * Worker counts that were profiled are predicted from their own measures;
 * the others from a step model fitted to them (CPU: a fixed part and a part
 * per local sample; the rest growing with the workers).
 */
import { vcpuShare } from './cpu-share';
import { alikeRunPico, checkMemory, CostModelError, picoToUsd } from './meter';
import type { Arch, PriceTable } from './prices';

/**
 * Time measured on one vCPU, ms: CPU time (every thread of the process) and
 * active time (wall time less time waiting for a CPU other processes had).
 */
export interface CpuActive {
  cpuMs: number;
  activeMs: number;
}

/** What profiling measured at one worker count (steps warm: no setup in them). */
export interface CountProfile {
  workers: number;
  /** A step of the slowest worker. */
  step: CpuActive;
  /** From a worker's start to its first step, the slowest worker's. */
  setup: CpuActive;
  /** Evaluating one validation sample. */
  evaluatePerSample?: CpuActive;
  /** Saving one checkpoint (rank 0; the others wait for it). */
  checkpoint?: CpuActive;
  /** Peak resident memory of a worker, MB. */
  peakMb: number;
  /** A cold start's INIT, ms (0 when none was seen). */
  initMs: number;
}

/** Steps measured at one worker count (warm: no cold start or setup in them). */
export interface StepMeasure extends CpuActive {
  workers: number;
}

/**
 * The step model fitted to measures: CPU = fixed + per sample x local
 * batch; the rest of the active time (waiting, less CPU other threads spent
 * alongside) = base + per worker x workers.
 */
export interface StepModel {
  cpuFixedMs: number;
  cpuPerSampleMs: number;
  restBaseMs: number;
  restPerWorkerMs: number;
}

/** The training to predict. */
export interface TrainingShape {
  /** Global batch of a step. */
  batchSize: number;
  /** Steps an epoch has with this many workers (shards are whole samples). */
  stepsPerEpoch(workers: number): number;
  /** Epochs to run. */
  epochs: number;
  /** Validation samples evaluated at each epoch's end (0: none). */
  validationSamples: number;
  /** An invocation's timeout, ms on Lambda's clock: a longer training runs as several segments. */
  timeoutMs: number;
}

/** A prediction at one workers x memory. */
export interface TrainingPrediction {
  workers: number;
  memoryMb: number;
  /** ms a step takes, on Lambda's clock. */
  stepMs: number;
  /** ms the workers run, on Lambda's clock (setup, steps, epoch ends). */
  totalMs: number;
  /** Invocations: one per worker per segment. */
  invocations: number;
  /** What it costs, USD (every worker billed for the whole training; a request per invocation; INIT per worker). */
  costUsd: number;
  /** A worker's peak memory, MB, as measured at the nearest profiled worker count with as many workers or fewer. */
  peakMb: number;
  /** Whether this worker count was profiled (its own measures) or modelled (the fitted step model). */
  basis: 'profiled' | 'modelled';
}

/** A segment stops at this share of its timeout (as the workers do). */
const SEGMENT_SHARE = 0.85;

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
    if (![m.cpuMs, m.activeMs].every((v) => Number.isFinite(v) && v >= 0) || !(m.workers >= 1)) {
      throw new CostModelError(
        `A step measure must have workers >= 1 and finite ms >= 0, got ${JSON.stringify(m)}`,
      );
    }
  }
  const cpu = line(measures.map((m) => [batchSize / m.workers, m.cpuMs]));
  const rest = line(measures.map((m) => [m.workers, m.activeMs - m.cpuMs]));
  return {
    cpuFixedMs: Math.max(0, cpu.intercept),
    cpuPerSampleMs: Math.max(0, cpu.slope),
    restBaseMs: rest.intercept,
    restPerWorkerMs: rest.slope,
  };
}

/** A step at `workers` from the fitted model. */
function modelledStep(model: StepModel, batchSize: number, workers: number): CpuActive {
  const cpuMs = model.cpuFixedMs + model.cpuPerSampleMs * (batchSize / workers);
  return { cpuMs, activeMs: Math.max(0, cpuMs + model.restBaseMs + model.restPerWorkerMs * workers) };
}

/** ms on Lambda's clock at a vCPU share: the active time with the CPU time in it stretched. */
function onLambda(part: CpuActive | undefined, share: number, times = 1): number {
  return part ? times * Math.max(0, part.activeMs + part.cpuMs * (1 / share - 1)) : 0;
}

/** Predicts trainings at any workers x memory from the profiles of a few worker counts. */
export class TrainingModel {
  private readonly profiles: readonly CountProfile[];
  private readonly steps: StepModel;

  /** @throws CostModelError without profiles. */
  constructor(
    profiles: readonly CountProfile[],
    private readonly shape: TrainingShape,
    private readonly pricing: { prices: PriceTable; arch: Arch },
  ) {
    this.profiles = [...profiles].sort((a, b) => a.workers - b.workers);
    this.steps = fitStepModel(
      this.profiles.map((p) => ({ workers: p.workers, ...p.step })),
      shape.batchSize,
    );
  }

  /**
   * The training at `workers` x `memoryMb` on Lambda's clock.
   * @throws CostModelError when `memoryMb` is not a memory size Lambda accepts.
   */
  predict(workers: number, memoryMb: number): TrainingPrediction {
    const { shape, pricing } = this;
    checkMemory(memoryMb, pricing.prices);
    const share = Math.min(1, vcpuShare(memoryMb));
    const own = this.profiles.find((p) => p.workers === workers);
    // Setup, evaluation, checkpoint and memory: from the nearest profiled count with as many workers or
    // fewer (a bigger shard each: never less than the real figure), else the smallest profiled.
    const near = [...this.profiles].reverse().find((p) => p.workers <= workers) ?? this.profiles[0];
    const step = own?.step ?? modelledStep(this.steps, shape.batchSize, workers);
    const stepMs = onLambda(step, share);
    const evaluated = Math.ceil(shape.validationSamples / workers);
    const epochEndMs = onLambda(near.evaluatePerSample, share, evaluated) + onLambda(near.checkpoint, share);
    const totalMs =
      onLambda(near.setup, share) + shape.epochs * (shape.stepsPerEpoch(workers) * stepMs + epochEndMs);
    const segments = Math.max(1, Math.ceil(totalMs / (shape.timeoutMs * SEGMENT_SHARE)));
    const invocations = workers * segments;
    const pico = alikeRunPico(
      {
        invocations,
        perInvocationMs: totalMs / segments,
        memoryMb,
        coldStarts: { count: workers, initMs: near.initMs },
      },
      pricing.prices,
      pricing.arch,
    );
    return {
      workers,
      memoryMb,
      stepMs,
      totalMs,
      invocations,
      costUsd: picoToUsd(pico),
      peakMb: near.peakMb,
      basis: own ? 'profiled' : 'modelled',
    };
  }
}
