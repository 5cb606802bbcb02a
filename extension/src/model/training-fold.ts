/**
 * Folds `training-epoch` events into {@link TrainingRecord}s, copying the
 * map, a record and its epoch list on their first write in a fold (a fold
 * never changes the state it was given, and shares what its events did not
 * touch). The bounds of `./training-state` are applied event by event.
 */
import type { TrainingEpochEvent } from '../telemetry';
import type { Mutable } from './draft';
import { TRAINING_LIMITS, TrainingLimits, TrainingRecord } from './training-state';

/** The train() calls of a state being folded. */
export class TrainingDraft {
  constructor(
    private readonly base: ReadonlyMap<string, TrainingRecord>,
    /** Calls dropped before this fold. */
    public dropped: number,
    private readonly limits: TrainingLimits = TRAINING_LIMITS,
  ) {}

  /** The calls folded so far. */
  get trainings(): ReadonlyMap<string, TrainingRecord> {
    return this.map ?? this.base;
  }

  /** Folds one event (events come in `seq` order: it is the call's latest). */
  apply(e: TrainingEpochEvent): void {
    const rec = this.record(e);
    rec.name = e.name;
    rec.plannedEpochs = e.epochs;
    rec.workers = e.workers;
    rec.strategy = e.strategy;
    rec.codec = e.codec;
    rec.store = e.store;
    rec.lastSeq = e.seq;
    rec.firstTime = Math.min(rec.firstTime, e.time);
    rec.lastTime = Math.max(rec.lastTime, e.time);
    rec.totalCostUsd = e.totalCostUsd;
    const epochs = this.ownEpochs(rec);
    // Epochs mostly come in order: look from the end.
    let at = epochs.length;
    while (at > 0 && epochs[at - 1].epoch > e.epoch) {
      at -= 1;
    }
    if (at > 0 && epochs[at - 1].epoch === e.epoch) {
      epochs[at - 1] = e;
      return;
    }
    epochs.splice(at, 0, e);
    if (epochs.length > this.limits.maxEpochs) {
      epochs.shift();
      rec.droppedEpochs += 1;
    }
  }

  private map: Map<string, TrainingRecord> | undefined;
  /** Records and epoch lists this draft copied or made, free to mutate. */
  private readonly owned = new Set<object>();

  /** The event's call, owned (made, or copied on first write). */
  private record(e: TrainingEpochEvent): Mutable<TrainingRecord> {
    this.map ??= new Map(this.base);
    const known = this.map.get(e.trainId);
    if (known && this.owned.has(known)) {
      return known as Mutable<TrainingRecord>;
    }
    if (!known && this.map.size >= this.limits.maxTrainings) {
      // The oldest first seen goes (a Map iterates in insertion order).
      this.map.delete(this.map.keys().next().value as string);
      this.dropped += 1;
    }
    const rec: Mutable<TrainingRecord> = known
      ? { ...known }
      : {
          trainId: e.trainId,
          name: e.name,
          runId: e.runId,
          plannedEpochs: e.epochs,
          workers: e.workers,
          strategy: e.strategy,
          codec: e.codec,
          store: e.store,
          firstSeq: e.seq,
          lastSeq: e.seq,
          firstTime: e.time,
          lastTime: e.time,
          epochs: [],
          totalCostUsd: e.totalCostUsd,
          droppedEpochs: 0,
        };
    this.owned.add(rec);
    this.map.set(e.trainId, rec);
    return rec;
  }

  /** The record's epoch list, copied once by this draft so it can be mutated. */
  private ownEpochs(rec: Mutable<TrainingRecord>): TrainingEpochEvent[] {
    if (this.owned.has(rec.epochs)) {
      return rec.epochs as TrainingEpochEvent[];
    }
    const copy = rec.epochs.slice();
    this.owned.add(copy);
    rec.epochs = copy;
    return copy;
  }
}
