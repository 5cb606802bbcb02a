/**
 * One worker's invocation of a training segment (what `train()` ships to
 * each rank): load the segment's checkpoint (or keep the model this warm
 * environment ended the last segment with), read the worker's shard of the
 * data, then step: gradient of the local batch, exchange, apply. Control
 * rounds every `controlEvery` steps and at each epoch's end sum the
 * workers' metrics and let them agree to stop before the invocation's
 * timeout; rank 0 checkpoints every epoch, and the stop position.
 *
 * A retried invocation (its environment crashed) starts again from the
 * segment's checkpoint and replays the rounds it missed: the exchange gives
 * it the means already published, so nothing is applied twice, and a
 * checkpoint already written for a position is not written again.
 *
 * A spec with `profile` runs a profiling segment instead (./profile.ts).
 */
import { BillingClock } from '../../cost/cpu-share';
import { ownQueuedMs } from '../../runtime/cpu-time';
import type * as Tf from '@tensorflow/tfjs';

import type { Exchange } from '../../exchange/collectives/exchange';
import { emitEvent } from '../../output/events';
import { currentInvocation } from '../../runtime/program/context';
import type { ReportedStore } from '../../state/reported-store';
import type { EpochSchedule } from '../schedule';
import {
  DEFAULT_SEGMENT_STORE_MB,
  EpochSums,
  SegmentOutcome,
  SegmentSpec,
  TRAINING_EPOCH_EVENT,
  TRAINING_STEP_EVENT,
  TrainingPosition,
} from '../spec';
import { CHECKPOINT_FORMAT, EpochRecord } from '../checkpoint';
import type { ShardData } from './batches';
import { GradientSync, gradientSync } from './gradient-sync';
import { holdModel, loadCheckpointModel, saveCheckpoint, takeHeldModel } from './model-io';
import { profileWorker } from './profile';
import { loadWorkerInputs, WorkerExchanges } from './setup';
import { evaluateShard, StepParts, trainingStep } from './step';
import type { TrainableModel } from './trainable';

/** Fraction of the timeout a segment may use before it must stop at a control point. */
const TIME_MARGIN = 0.85;
/** Worker-local sums of the epoch in progress. */
interface LocalSums {
  lossSum: number;
  correct: number;
  samples: number;
}

/**
 * Runs rank's part of a training segment; resolves when the workers stop
 * together (the segment's last epoch, or the timeout near).
 * @internal Called by the invocations `train()` starts.
 */
export async function trainingWorker(
  spec: SegmentSpec,
  rank: number,
  requireFrom?: NodeJS.Require,
): Promise<SegmentOutcome> {
  if (spec.profile) {
    return profileWorker(spec, spec.profile, rank, requireFrom);
  }
  // The invocation's clock, as its --timeout and its bill count it.
  const clock = new BillingClock(spec.cpuMemoryMb, ownQueuedMs);
  const { tf, store, schedule, shard, validation } = await loadWorkerInputs(spec, rank, requireFrom);
  const trainable = takeHeldModel(spec) ?? (await loadCheckpointModel(tf, spec, store));
  const exchanges = new WorkerExchanges(spec, rank);
  try {
    const grads = await exchanges.grads();
    const control = await exchanges.control();
    const loop = new SegmentLoop(tf, spec, rank, schedule, trainable, shard, validation, {
      grads,
      control,
      sync: gradientSync(grads, spec.strategy, spec.staleness),
      store,
      clock,
    });
    const outcome = await loop.run();
    holdModel(spec.trainId, outcome.position, trainable);
    return outcome;
  } catch (error) {
    trainable.dispose();
    throw error;
  } finally {
    await exchanges.close();
  }
}

/** What the loop works with besides the model and the data. */
interface LoopParts {
  grads: Exchange;
  control: Exchange;
  sync: GradientSync;
  store: ReportedStore;
  /** Started with the invocation: what its timeout and its bill count. */
  clock: BillingClock;
}

/** The steps of one segment on one worker. */
class SegmentLoop {
  private readonly position: TrainingPosition;
  private round = 0;
  private controlRound = 0;
  private local: LocalSums = { lossSum: 0, correct: 0, samples: 0 };
  /** Global sums of the epoch up to the last control point (with what the segment carried in). */
  private epochSums: EpochSums;
  private epochStartedAt: number;
  private lastControlAt: number;
  /** This worker's billing clock at the last control round, ms. */
  private lastControlBilledMs: number;
  private history: EpochRecord[];
  private readonly stepParts: StepParts;

  constructor(
    private readonly tf: typeof Tf,
    private readonly spec: SegmentSpec,
    private readonly rank: number,
    private readonly schedule: EpochSchedule,
    private readonly trainable: TrainableModel,
    shard: ShardData,
    private readonly validation: ShardData | undefined,
    private readonly parts: LoopParts,
  ) {
    this.position = { ...spec.start };
    this.epochSums = spec.carried ?? noSums();
    this.epochStartedAt = performance.now();
    this.lastControlAt = this.epochStartedAt;
    this.lastControlBilledMs = parts.clock.now();
    this.history = [...spec.history];
    this.stepParts = { tf, schedule, rank, shard, trainable, sync: parts.sync };
  }

  async run(): Promise<SegmentOutcome> {
    const { spec, schedule } = this;
    while (this.position.epoch < spec.untilEpoch) {
      const order = schedule.order(this.rank, this.position.epoch, spec.seed, spec.shuffle);
      while (this.position.step < schedule.stepsPerEpoch) {
        await this.step(order);
        const atEnd = this.position.step === schedule.stepsPerEpoch;
        if (!atEnd && this.position.step % spec.controlEvery === 0 && (await this.midEpochControl())) {
          return this.stop('time');
        }
      }
      const { stop, version } = await this.epochEnd();
      if (stop) {
        return this.stop(this.position.epoch >= spec.untilEpoch ? 'done' : stop, version);
      }
    }
    return this.stop('done');
  }

  private async step(order: Uint32Array): Promise<void> {
    const { loss, correct, samples } = await trainingStep(
      this.stepParts,
      order,
      this.position.step,
      this.round,
    );
    this.local.lossSum += loss * samples;
    this.local.correct += correct;
    this.local.samples += samples;
    this.round += 1;
    this.position.step += 1;
  }

  /** A control round inside an epoch; true when the workers agreed to stop here (rank 0 checkpointed). */
  private async midEpochControl(): Promise<boolean> {
    const sums = await this.controlRoundSums(this.timeNearlyUp());
    const epochSums = this.addToEpoch(sums);
    if (sums.stop) {
      await this.applyPending();
      this.lastVersion = await this.checkpoint(epochSums);
      this.carriedAtStop = epochSums;
      return true;
    }
    if (this.rank === 0) {
      emitEvent(TRAINING_STEP_EVENT, {
        epoch: this.position.epoch + 1,
        step: this.position.step,
        stepsPerEpoch: this.schedule.stepsPerEpoch,
        loss: epochSums.samples > 0 ? epochSums.lossSum / epochSums.samples : 0,
        samples: epochSums.samples,
        seconds: epochSums.seconds,
      });
    }
    return false;
  }

  private lastVersion: number | undefined;
  /** The epoch's sums where the workers stopped inside it (the next segment carries them on). */
  private carriedAtStop: EpochSums | undefined;

  /** The end of an epoch: validation, the control round, the checkpoint. */
  private async epochEnd(): Promise<{
    stop: false | 'time' | 'budget' | 'done';
    version: number | undefined;
  }> {
    const evaluation = this.evaluate();
    const lastInSegment = this.position.epoch + 1 >= this.spec.untilEpoch;
    const sums = await this.controlRoundSums(
      !lastInSegment && this.timeNearlyUp(),
      evaluation,
      !lastInSegment && this.anotherEpochPassesBudget(),
    );
    const epochSums = this.addToEpoch(sums);
    await this.applyPending();
    this.position.epoch += 1;
    this.position.step = 0;
    const record = this.epochRecord(epochSums, sums);
    this.history.push(record);
    // The next epoch's figures start from nothing (a segment may run many epochs).
    this.epochSums = noSums();
    // A diverged epoch is not checkpointed: the kernel stops the training when it sees its loss.
    const version = Number.isFinite(record.loss) ? await this.checkpoint(noSums()) : undefined;
    this.lastVersion = version;
    if (this.rank === 0) {
      emitEvent(TRAINING_EPOCH_EVENT, {
        ...withoutAbsent(record),
        samples: epochSums.samples,
        ...(epochSums.workerSeconds === undefined ? {} : { workerSeconds: epochSums.workerSeconds }),
        checkpointVersion: version ?? -1,
      });
    }
    this.epochStartedAt = performance.now();
    this.lastControlAt = this.epochStartedAt;
    return {
      stop: lastInSegment ? 'done' : sums.stopForBudget ? 'budget' : sums.stop ? 'time' : false,
      version,
    };
  }

  private epochRecord(epochSums: EpochSums, sums: ControlSums): EpochRecord {
    const record: EpochRecord = {
      epoch: this.position.epoch,
      loss: epochSums.lossSum / Math.max(1, epochSums.samples),
      seconds: epochSums.seconds,
      costUsd:
        (epochSums.workerSeconds ?? epochSums.seconds * this.parts.clock.read().stretch * this.spec.workers) *
        this.spec.workerUsdPerSecond,
      bytesExchanged: 0,
    };
    if (this.spec.accuracy) {
      record.accuracy = epochSums.correct / Math.max(1, epochSums.samples);
    }
    if (this.validation && sums.valSamples > 0) {
      record.valLoss = sums.valLossSum / sums.valSamples;
      if (this.spec.accuracy) {
        record.valAccuracy = sums.valCorrect / sums.valSamples;
      }
    }
    return record;
  }

  /** This worker's validation sums (zeros without validation data). */
  private evaluate(): { lossSum: number; correct: number; samples: number } {
    return this.validation
      ? evaluateShard(this.tf, this.trainable, this.validation)
      : { lossSum: 0, correct: 0, samples: 0 };
  }

  /** Sums every worker's local figures (and stop votes) in one small all-reduce. */
  private async controlRoundSums(
    wantsToStop: boolean,
    evaluation = { lossSum: 0, correct: 0, samples: 0 },
    budgetSpent = false,
  ): Promise<ControlSums> {
    const { local } = this;
    const vector = Float32Array.of(
      local.lossSum,
      local.correct,
      local.samples,
      evaluation.lossSum,
      evaluation.correct,
      evaluation.samples,
      wantsToStop ? 1 : 0,
      budgetSpent ? 1 : 0,
      this.billedSinceLastControl(),
      this.keptMb(),
    );
    const mean = await this.parts.control.allreduce(vector, { round: this.controlRound });
    this.controlRound += 1;
    this.local = { lossSum: 0, correct: 0, samples: 0 };
    const workers = this.spec.workers;
    return {
      lossSum: mean[0] * workers,
      correct: Math.round(mean[1] * workers),
      samples: Math.round(mean[2] * workers),
      valLossSum: mean[3] * workers,
      valCorrect: Math.round(mean[4] * workers),
      valSamples: Math.round(mean[5] * workers),
      // Every worker gets the same mean, so every worker decides the same.
      stop: mean[6] > 0 || mean[7] > 0 || mean[9] * workers >= this.storeLimitMb,
      stopForBudget: mean[7] > 0,
      workerSeconds: (mean[8] * workers) / 1000,
    };
  }

  /** MiB this worker's exchanges keep in the store until the segment's run ends. */
  private keptMb(): number {
    return (this.parts.grads.keptBytes + this.parts.control.keptBytes) / 2 ** 20;
  }

  private get storeLimitMb(): number {
    return this.spec.storeLimitMb ?? DEFAULT_SEGMENT_STORE_MB;
  }

  /** ms this worker's invocation was billed for since the last control round (the round's share of its bill). */
  private billedSinceLastControl(): number {
    const now = this.parts.clock.now();
    const billed = now - this.lastControlBilledMs;
    this.lastControlBilledMs = now;
    return billed;
  }

  /** Adds a control round's sums to the epoch's, with the time since the last control point. */
  private addToEpoch(sums: ControlSums): EpochSums {
    const now = performance.now();
    this.epochSums = {
      lossSum: this.epochSums.lossSum + sums.lossSum,
      correct: this.epochSums.correct + sums.correct,
      samples: this.epochSums.samples + sums.samples,
      seconds: this.epochSums.seconds + (now - this.lastControlAt) / 1000,
      workerSeconds: (this.epochSums.workerSeconds ?? 0) + sums.workerSeconds,
    };
    this.controlInterval = now - this.lastControlAt;
    this.lastControlAt = now;
    return this.epochSums;
  }

  private controlInterval = 0;

  /**
   * Whether another control interval (and a checkpoint) might not fit before
   * the timeout, on the clock the timeout counts (intervals measured here, stretched alike).
   */
  private timeNearlyUp(): boolean {
    const { clock } = this.parts;
    const { nowMs, stretch } = clock.read();
    const interval = Math.max(this.controlInterval, performance.now() - this.lastControlAt) * stretch;
    return nowMs + 2 * interval > this.spec.timeLimitMs * TIME_MARGIN;
  }

  /**
   * Whether the segment's compute so far plus one more epoch like the last
   * one would pass what the budget leaves (each worker judges by its own
   * clock; one is enough to stop them all at this epoch's checkpoint).
   */
  private anotherEpochPassesBudget(): boolean {
    const left = this.spec.budgetLeftUsd;
    if (left === undefined) {
      return false;
    }
    const { workers, workerUsdPerSecond } = this.spec;
    const { clock } = this.parts;
    const { nowMs, stretch } = clock.read();
    const segmentSeconds = nowMs / 1000;
    const epochSeconds = ((performance.now() - this.epochStartedAt) / 1000) * stretch;
    return (segmentSeconds + epochSeconds) * workers * workerUsdPerSecond > left;
  }

  /** Applies the parameter server's pending means (bounded staleness) before a checkpoint. */
  private async applyPending(): Promise<void> {
    for (const mean of await this.parts.sync.drain(this.round - 1)) {
      this.trainable.apply(mean);
    }
  }

  /**
   * Rank 0 saves the model at the current position as a new version (once:
   * a replay finds the version already written); other ranks do nothing.
   */
  private async checkpoint(carried: EpochSums): Promise<number | undefined> {
    if (this.rank !== 0) {
      return undefined;
    }
    const { store } = this.parts;
    const runId = currentInvocation()?.runId ?? 'local';
    const marker = `exchange/${runId}/training/checkpoint-${this.position.epoch}-${this.position.step}`;
    const written = await store.get(marker);
    if (written) {
      return Number(new TextDecoder().decode(written));
    }
    const { spec } = this;
    const version = await saveCheckpoint(this.tf, store, spec.name, this.trainable, {
      format: CHECKPOINT_FORMAT,
      trainId: spec.trainId,
      position: { ...this.position },
      dataHash: spec.data.hash,
      workers: spec.workers,
      batchSize: spec.batchSize,
      seed: spec.seed,
      history: this.history,
      carried,
    });
    await store.putIfAbsent(marker, new TextEncoder().encode(String(version)));
    return version;
  }

  private stop(end: SegmentOutcome['end'], version = this.lastVersion): SegmentOutcome {
    const carried = this.position.step > 0 ? this.carriedAtStop : undefined;
    return {
      rank: this.rank,
      end,
      position: { ...this.position },
      ...(version === undefined ? {} : { version }),
      ...(carried ? { carried } : {}),
    };
  }
}

/** The sums of an epoch before its first step. */
function noSums(): EpochSums {
  return { lossSum: 0, correct: 0, samples: 0, seconds: 0 };
}

/** A control round's sums over every worker. */
interface ControlSums {
  lossSum: number;
  correct: number;
  samples: number;
  valLossSum: number;
  valCorrect: number;
  valSamples: number;
  /** Some worker asked to stop (its time, or the budget), or the rounds kept in the store reached the limit. */
  stop: boolean;
  /** Some worker found that another epoch would pass the budget. */
  stopForBudget: boolean;
  /** Seconds every worker was billed for since the last control round, summed. */
  workerSeconds: number;
}

function withoutAbsent(record: EpochRecord): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === 'number') {
      out[key] = value;
    }
  }
  return out;
}
