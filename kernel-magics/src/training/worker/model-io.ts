/**
 * Where a worker's model comes from and where it goes: the checkpoint a
 * segment starts from, the checkpoints rank 0 saves, and the model a warm
 * environment keeps between segments (the next segment of the same training
 * at the same position steps on from it instead of loading its checkpoint).
 */
import type * as Tf from '@tensorflow/tfjs';

import { ModelStore } from '../../state/model-store';
import type { ReportedStore } from '../../state/reported-store';
import { CheckpointRecord, writeCheckpointRecord } from '../checkpoint';
import type { SegmentSpec, TrainingPosition } from '../spec';
import { TrainableModel } from './trainable';

/** The model a warm environment ended its last segment with, and where. */
interface HeldModel {
  trainId: string;
  position: TrainingPosition;
  trainable: TrainableModel;
}

let held: HeldModel | undefined;

/** Keeps `trainable` for the next segment of `trainId` that starts at `position`. */
export function holdModel(trainId: string, position: TrainingPosition, trainable: TrainableModel): void {
  held = { trainId, position: { ...position }, trainable };
}

/**
 * The held model when it is `spec`'s training at `spec.start` (the caller
 * owns it from now on); any other held model is disposed. Nothing is held after.
 */
export function takeHeldModel(spec: SegmentSpec): TrainableModel | undefined {
  const kept = held;
  held = undefined;
  if (
    kept &&
    kept.trainId === spec.trainId &&
    kept.position.epoch === spec.start.epoch &&
    kept.position.step === spec.start.step
  ) {
    return kept.trainable;
  }
  kept?.trainable.dispose();
  return undefined;
}

/** Disposes the held model, if any: the next segment loads its checkpoint. */
export function releaseHeldModel(): void {
  const kept = held;
  held = undefined;
  kept?.trainable.dispose();
}

/** The segment's checkpoint (`spec.name` version `spec.version`), loaded from the store. */
export async function loadCheckpointModel(
  tf: typeof Tf,
  spec: SegmentSpec,
  store: ReportedStore,
): Promise<TrainableModel> {
  const models = new ModelStore({ store, tf });
  const model = await models.load<Tf.LayersModel>(spec.name, { version: spec.version, tf });
  return new TrainableModel(tf, model, spec.accuracy);
}

/**
 * Saves `trainable`'s model with its optimizer state and `record` as the
 * next version of `name`; resolves to that version.
 */
export async function saveCheckpoint(
  tf: typeof Tf,
  store: ReportedStore,
  name: string,
  trainable: TrainableModel,
  record: CheckpointRecord,
): Promise<number> {
  writeCheckpointRecord(trainable.model, record);
  const models = new ModelStore({ store, tf });
  const { version } = await models.save(name, trainable.model, { includeOptimizer: true });
  return version;
}
