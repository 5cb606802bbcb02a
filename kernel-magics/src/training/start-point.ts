/**
 * Where a `train()` call starts: with `resume`, the newest checkpoint of its
 * name (its weights and optimizer state also go into the model passed in);
 * otherwise the model passed in, saved as the first version.
 */
import type * as Tf from '@tensorflow/tfjs';

import type { ObjectStore } from '../exchange/store/object-store';
import type { ModelStore } from '../state/model-store';
import {
  CHECKPOINT_FORMAT,
  CheckpointRecord,
  readCheckpointRecord,
  writeCheckpointRecord,
} from './checkpoint';
import type { DatasetRef } from './datasets/layout';
import { resumedHistory } from './history-store';
import type { ResolvedTrainOptions } from './options';

/** Where a training starts: a checkpoint version and what it records. */
export interface StartPoint {
  version: number;
  record: CheckpointRecord;
}

/**
 * The checkpoint to start from: with `resume`, the newest version of the
 * name (its weights also go into the model passed in); otherwise the model
 * passed in, saved now as the first version.
 */
export async function startingPoint(
  models: ModelStore,
  model: Tf.LayersModel,
  context: {
    trainId: string;
    name: string;
    resolved: ResolvedTrainOptions;
    data: DatasetRef;
    store: ObjectStore;
    signal: AbortSignal;
  },
): Promise<StartPoint> {
  const { name, resolved, data, signal } = context;
  if (resolved.resume) {
    const versions = await models.list({ name, signal });
    const newest = versions.at(-1);
    if (newest) {
      const loaded = await models.load<Tf.LayersModel>(name, { version: newest.version, signal });
      try {
        const record = readCheckpointRecord(loaded, `version ${newest.version} of '${name}'`);
        await copyState(loaded, model);
        const history = await resumedHistory(context.store, name, record.history, signal);
        return { version: newest.version, record: compatible({ ...record, history }, resolved, data) };
      } finally {
        loaded.dispose();
      }
    }
  }
  const record: CheckpointRecord = {
    format: CHECKPOINT_FORMAT,
    trainId: context.trainId,
    position: { epoch: 0, step: 0 },
    dataHash: data.hash,
    workers: resolved.workers,
    batchSize: resolved.batchSize,
    seed: resolved.seed,
    history: [],
  };
  writeCheckpointRecord(model, record);
  const { version } = await models.save(name, model, { includeOptimizer: true, signal });
  return { version, record };
}

/** The epoch the newest checkpoint of `name` reached (0 when it has none): where a resumed training would start. */
export async function newestCheckpointEpoch(
  models: ModelStore,
  name: string,
  signal: AbortSignal,
): Promise<number> {
  const newest = (await models.list({ name, signal })).at(-1);
  if (!newest) {
    return 0;
  }
  const loaded = await models.load<Tf.LayersModel>(name, { version: newest.version, signal });
  try {
    return readCheckpointRecord(loaded, `version ${newest.version} of '${name}'`).position.epoch;
  } finally {
    loaded.dispose();
  }
}

/**
 * A mid-epoch position only continues the same epoch with the same data,
 * workers and batch: otherwise the epoch's steps start again (with the
 * checkpoint's weights), and the seed stays the checkpoint's.
 */
function compatible(
  record: CheckpointRecord,
  resolved: ResolvedTrainOptions,
  data: DatasetRef,
): CheckpointRecord {
  const same =
    record.dataHash === data.hash &&
    record.workers === resolved.workers &&
    record.batchSize === resolved.batchSize;
  if (record.position.step === 0 || same) {
    return record;
  }
  return { ...record, position: { epoch: record.position.epoch, step: 0 }, carried: undefined };
}

/** Copies weights and optimizer state from one model to another of the same architecture. */
export async function copyState(from: Tf.LayersModel, to: Tf.LayersModel): Promise<void> {
  to.setWeights(from.getWeights());
  const state = await from.optimizer.getWeights();
  if (state.length > 0) {
    await to.optimizer.setWeights(state);
  }
  to.setUserDefinedMetadata(from.getUserDefinedMetadata());
}
