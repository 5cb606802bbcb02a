/**
 * One worker's part of a profiling segment (train-time tuning): the same
 * set-up and steps as a training segment, measured. Setup is timed from the
 * worker's entry to its first step; then `warmupSteps` steps run unmeasured
 * and `steps` measured from the segment's start position (into the next
 * epoch's order past an epoch's end); then some validation samples are
 * evaluated, and rank 0 saves one checkpoint under the profile's own name.
 *
 * Nothing of the training changes: no control rounds, no training events,
 * no checkpoint under the training's name, and the model, whose weights the
 * steps moved, is thrown away rather than kept for the next segment. Every
 * worker runs the same rounds, so none waits for a round another never
 * pushes; with a stale parameter server the rounds still pending are left
 * undrained (nobody applies them).
 */
import { EpochSchedule } from '../schedule';
import { CHECKPOINT_FORMAT } from '../checkpoint';
import { TrainingConfigError } from '../errors';
import type { ProfileSpec, SegmentOutcome, SegmentSpec, TimeSplit, TrainingPosition } from '../spec';
import { gradientSync } from './gradient-sync';
import { loadCheckpointModel, releaseHeldModel, saveCheckpoint } from './model-io';
import { loadWorkerInputs, WorkerExchanges, WorkerInputs } from './setup';
import { evaluateShard, StepParts, trainingStep } from './step';
import { perPiece, startTimeSplit } from './time-split';
import type { TrainableModel } from './trainable';

/**
 * Runs rank's part of the profiling segment `spec` (whose `profile` is
 * `profile`) and resolves to its measures, at the segment's start position.
 * @throws TrainingConfigError when the profile's step counts are not whole numbers (steps at least 1).
 * @internal Called by trainingWorker for a spec with `profile`.
 */
export async function profileWorker(
  spec: SegmentSpec,
  profile: ProfileSpec,
  rank: number,
  requireFrom?: NodeJS.Require,
): Promise<SegmentOutcome> {
  const setupTime = startTimeSplit();
  checkProfile(profile);
  // The environment keeps no model past a profile: the training's next segment here loads its
  // checkpoint, and this setup measures a load as a fresh worker's does.
  releaseHeldModel();
  const inputs = await loadWorkerInputs(spec, rank, requireFrom);
  const trainable = await loadCheckpointModel(inputs.tf, spec, inputs.store);
  try {
    const exchanges = new WorkerExchanges(spec, rank);
    try {
      const grads = await exchanges.grads();
      const setup = setupTime();
      const parts: StepParts = {
        tf: inputs.tf,
        schedule: inputs.schedule,
        rank,
        shard: inputs.shard,
        trainable,
        sync: gradientSync(grads, spec.strategy, spec.staleness),
      };
      const { step, reached } = await measureSteps(spec, profile, parts);
      const evaluatePerSample = measureEvaluation(inputs, trainable, profile);
      const checkpoint =
        rank === 0 ? await measureCheckpoint(spec, profile, inputs, trainable, reached) : undefined;
      return {
        rank,
        end: 'done',
        position: { ...spec.start },
        profile: {
          setup,
          step,
          ...(evaluatePerSample ? { evaluatePerSample } : {}),
          ...(checkpoint ? { checkpoint } : {}),
          peakRssMb: process.resourceUsage().maxRSS / 1024,
        },
      };
    } finally {
      await exchanges.close();
    }
  } finally {
    trainable.dispose();
  }
}

function checkProfile(profile: ProfileSpec): void {
  const whole = (n: number, least: number): boolean => Number.isInteger(n) && n >= least;
  if (!whole(profile.steps, 1) || !whole(profile.warmupSteps, 0) || !whole(profile.evaluateSamples, 0)) {
    throw new TrainingConfigError(
      `train(): a profiling segment needs whole numbers of steps (at least 1), warm-up steps and evaluated ` +
        `samples (at least 0); got steps ${profile.steps}, warmupSteps ${profile.warmupSteps}, evaluateSamples ` +
        `${profile.evaluateSamples}.`,
    );
  }
}

/** Runs the warm-up steps, then the measured ones: a measured step's mean split, and where the steps ended. */
async function measureSteps(
  spec: SegmentSpec,
  profile: ProfileSpec,
  parts: StepParts,
): Promise<{ step: TimeSplit; reached: TrainingPosition }> {
  const walk = new StepWalk(spec, parts.rank, parts.schedule);
  const runRound = async (round: number): Promise<void> => {
    const { order, step } = walk.next();
    await trainingStep(parts, order, step, round);
  };
  for (let round = 0; round < profile.warmupSteps; round += 1) {
    await runRound(round);
  }
  const stepTime = startTimeSplit();
  for (let round = profile.warmupSteps; round < profile.warmupSteps + profile.steps; round += 1) {
    await runRound(round);
  }
  return { step: perPiece(stepTime(), profile.steps), reached: walk.position };
}

/**
 * Evaluates up to `evaluateSamples` of the worker's validation samples, in
 * the batches a segment's evaluation uses: one sample's mean split, or
 * undefined when there were none to evaluate.
 */
function measureEvaluation(
  inputs: WorkerInputs,
  trainable: TrainableModel,
  profile: ProfileSpec,
): TimeSplit | undefined {
  const { validation } = inputs;
  const samples = Math.min(profile.evaluateSamples, validation?.samples ?? 0);
  if (!validation || samples === 0) {
    return undefined;
  }
  const evaluateTime = startTimeSplit();
  evaluateShard(inputs.tf, trainable, validation, samples);
  return perPiece(evaluateTime(), samples);
}

/** Saves one checkpoint of the model under the profile's name, as a segment's rank 0 does; its split. */
async function measureCheckpoint(
  spec: SegmentSpec,
  profile: ProfileSpec,
  inputs: WorkerInputs,
  trainable: TrainableModel,
  reached: TrainingPosition,
): Promise<TimeSplit> {
  const saveTime = startTimeSplit();
  await saveCheckpoint(inputs.tf, inputs.store, profile.checkpointName, trainable, {
    format: CHECKPOINT_FORMAT,
    trainId: spec.trainId,
    position: reached,
    dataHash: spec.data.hash,
    workers: spec.workers,
    batchSize: spec.batchSize,
    seed: spec.seed,
    history: spec.history,
  });
  return saveTime();
}

/** The training's steps from a segment's start, in each epoch's order, on into the next epoch past one's end. */
class StepWalk {
  readonly position: TrainingPosition;
  private order: Uint32Array;

  constructor(
    private readonly spec: SegmentSpec,
    private readonly rank: number,
    private readonly schedule: EpochSchedule,
  ) {
    this.position = { ...spec.start };
    this.order = this.orderOf(this.position.epoch);
  }

  /** The next step: its epoch's order and its index in the epoch (the position moves past it). */
  next(): { order: Uint32Array; step: number } {
    if (this.position.step >= this.schedule.stepsPerEpoch) {
      this.position.epoch += 1;
      this.position.step = 0;
      this.order = this.orderOf(this.position.epoch);
    }
    const step = this.position.step;
    this.position.step += 1;
    return { order: this.order, step };
  }

  private orderOf(epoch: number): Uint32Array {
    return this.schedule.order(this.rank, epoch, this.spec.seed, this.spec.shuffle);
  }
}
