/**
 * What a training checkpoint records beside the model: a ModelStore version
 * saved with its optimizer state (tfjs's `includeOptimizer`) whose
 * user-defined metadata says where in the training it was taken. Resuming
 * reads it back; `train()` refuses versions it did not write.
 */
import { CheckpointError } from './errors';
import type { EpochRecord, EpochSums, TrainingPosition } from './epochs';

/** The metadata key (tfjs keeps user-defined metadata with the model's artifacts). */
export const CHECKPOINT_KEY = 'serverlessTraining';

/** Format of the record; a newer one is refused by an older reader. */
export const CHECKPOINT_FORMAT = 1;

export type { EpochRecord } from './epochs';

/** The record a checkpoint carries. */
export interface CheckpointRecord {
  format: number;
  trainId: string;
  position: TrainingPosition;
  /** Content hash of the training data: a mid-epoch position only means something for the same data. */
  dataHash: string;
  workers: number;
  batchSize: number;
  seed: number;
  history: EpochRecord[];
  /** Sums of the epoch in progress at a mid-epoch position, over every worker. */
  carried?: EpochSums;
}

/** A model whose user-defined metadata can be read and set (a tfjs LayersModel). */
export interface MetadataHolder {
  getUserDefinedMetadata(): unknown;
  setUserDefinedMetadata(metadata: unknown): void;
}

/** Sets `record` in the model's metadata, keeping the rest of it. */
export function writeCheckpointRecord(model: MetadataHolder, record: CheckpointRecord): void {
  const current = model.getUserDefinedMetadata();
  const base = current !== null && typeof current === 'object' ? (current as Record<string, unknown>) : {};
  model.setUserDefinedMetadata({ ...base, [CHECKPOINT_KEY]: record });
}

/**
 * The record of a loaded checkpoint.
 * @throws CheckpointError when the version was not saved by train().
 */
export function readCheckpointRecord(model: MetadataHolder, where: string): CheckpointRecord {
  const metadata = model.getUserDefinedMetadata();
  const record =
    metadata !== null && typeof metadata === 'object'
      ? (metadata as Record<string, unknown>)[CHECKPOINT_KEY]
      : undefined;
  if (!isRecord(record)) {
    throw new CheckpointError(
      `${where} was not saved by train(), so there is nothing to resume; pass resume: false to start from the model ` +
        `you pass, or another name.`,
    );
  }
  if (record.format > CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      `${where} was written by a newer serverless-kernel (checkpoint format ${record.format}); update the kernel to resume it.`,
    );
  }
  return record;
}

function isRecord(value: unknown): value is CheckpointRecord {
  if (value === null || typeof value !== 'object') {
    return false;
  }
  const record = value as Partial<CheckpointRecord>;
  return (
    typeof record.format === 'number' &&
    typeof record.trainId === 'string' &&
    typeof record.position?.epoch === 'number' &&
    typeof record.position.step === 'number' &&
    Array.isArray(record.history)
  );
}
