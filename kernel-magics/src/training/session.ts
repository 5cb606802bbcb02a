/**
 * One `train()` call after its checks: the segments from the start point to
 * the last epoch (or the budget), their progress in the cell, each epoch's
 * row, telemetry and history, and the model passed in brought to the last
 * checkpoint at the end.
 */
import type * as Tf from '@tensorflow/tfjs';

import { durationPico, DEFAULT_PRICES, formatUsd } from '../cost';
import { picoToUsd } from '../telemetry/protocol/money';
import { parseStoreUrl } from '../exchange/store/url';
import { embeddedClock, type ServerlessCellOptions } from '../magics/options';
import type { ModelStore } from '../state/model-store';
import type { EpochRecord } from './checkpoint';
import type { DatasetRef } from './datasets/layout';
import { TrainingDivergedError, TrainingInterruptedError, TrainingWorkerError } from './errors';
import type { HistoryWriter } from './history-store';
import type { SegmentRunResult, TrainingHost } from './host';
import type { ResolvedTrainOptions, TrainOptions } from './options';
import { LiveFigures, TrainingProgress } from './progress';
import type { EpochSchedule } from './schedule';
import { SegmentEvents, SegmentEventSink } from './segment-events';
import type { EpochSums, SegmentSpec, TrainingEpochData, TrainingPosition, TrainingStepData } from './spec';
import { copyState, StartPoint } from './start-point';
import type { AccuracyKind } from './worker/trainable';
import type { TrainTuning } from './tuning/tune-training';

/** Steps between control rounds. */
const CONTROL_EVERY = 32;

/** What `train()` resolves to. */
export interface TrainResult<M> {
  /** One row per epoch of the training (with `resume`, from its first epoch). */
  history: EpochRecord[];
  /** The model passed in, with the last checkpoint's weights. */
  model: M;
  /** Where the last checkpoint is. */
  checkpoint: { name: string; version: number };
  /** Why the training ended before `epochs`, if it did. */
  stopped?: 'budget';
  /** What this call's runs were billed, USD (their exact bills, as `%serverless cost` lists them; tuning's too). */
  costUsd: number;
  /**
   * How long the training's workers ran, seconds, on the clock they are
   * billed by (each segment's longest worker, summed; not the kernel's own
   * work, not tuning): what a tuning `deadline` bounds.
   */
  workerSeconds: number;
  /** What train-time tuning picked and why (with `workers: 'auto'` or `memory: 'auto'`). */
  tuning?: TrainTuning;
}

/** What a session works with. */
export interface SessionParts<M extends Tf.LayersModel> {
  host: TrainingHost;
  model: M;
  models: ModelStore;
  options: TrainOptions<M>;
  resolved: ResolvedTrainOptions;
  cellOptions: ServerlessCellOptions & { store: string };
  trainId: string;
  name: string;
  data: DatasetRef;
  validation?: DatasetRef;
  accuracy?: AccuracyKind;
  schedule: EpochSchedule;
  signal: AbortSignal;
  historyWriter: HistoryWriter;
  /** What train-time tuning picked, when it ran (its cost is the call's too). */
  tuning?: TrainTuning;
}

/** One train() call's segments, progress and telemetry. */
export class TrainingSession<M extends Tf.LayersModel> implements SegmentEventSink {
  private history: EpochRecord[] = [];
  private readonly progress: TrainingProgress;
  /** What finished segments were billed, USD. */
  private billedUsd = 0;
  /** The estimated cost of an epoch (after the first segment). */
  private epochCostUsd: number | undefined;
  private bytesExchanged = 0;
  /** ms the segments' longest workers ran, summed. */
  private workerMs = 0;
  private readonly workerUsdPerSecond: number;
  /** The store's kind (`embedded`, `redis`, `s3`), for the title and the telemetry. */
  private readonly storeKind: string;
  /** The epoch whose loss was not finite, once one was (its segment is stopped). */
  private divergedAt: number | undefined;
  private segmentStop: AbortController | undefined;

  constructor(private readonly parts: SessionParts<M>) {
    this.storeKind = parseStoreUrl(parts.cellOptions.store).kind;
    const { resolved, name, cellOptions } = parts;
    this.billedUsd = parts.tuning?.costUsd ?? 0;
    this.workerUsdPerSecond = picoToUsd(durationPico(1000, cellOptions.memoryMb, DEFAULT_PRICES, 'x86_64'));
    const title =
      `train '${name}': ${resolved.workers} workers · ${cellOptions.memoryMb} MB · ${resolved.strategy} · codec ${resolved.codec} · ` +
      `batch ${resolved.batchSize} · ${this.storeKind} store`;
    this.progress = new TrainingProgress(title, this.history, resolved.verbose);
  }

  async run(start: StartPoint): Promise<TrainResult<M>> {
    const { resolved, name } = this.parts;
    this.history.push(...start.record.history);
    let position: TrainingPosition = start.record.position;
    let version = start.version;
    let carried = start.record.carried;
    const seed = start.record.seed;
    let stopped: TrainResult<M>['stopped'];
    this.progress.draw();
    while (position.epoch < resolved.epochs) {
      const untilEpoch = this.segmentEnd(position);
      if (untilEpoch === undefined) {
        stopped = 'budget';
        break;
      }
      const spec = this.segmentSpec({ position, version, carried, seed, untilEpoch });
      const segment = await this.runSegment(spec);
      const outcome = this.outcomeOf(segment, version, name);
      const epochsRun =
        outcome.position.epoch -
        position.epoch +
        (outcome.position.step - position.step) / this.parts.schedule.stepsPerEpoch;
      this.billedUsd += segment.costUsd;
      this.workerMs += segment.workerMs;
      if (epochsRun > 0) {
        this.epochCostUsd = segment.costUsd / epochsRun;
      }
      position = outcome.position;
      version = outcome.version ?? version;
      if (outcome.end === 'budget') {
        stopped = 'budget';
        break;
      }
      carried = outcome.carried;
    }
    await this.finish(version);
    await this.parts.historyWriter.flush();
    const total = this.billedUsd;
    this.progress.note(
      stopped === 'budget'
        ? `Stopped by the budget (${formatUsd(resolved.budget ?? 0)}) after epoch ${position.epoch}: spent ${formatUsd(total)}; the checkpoint is '${name}' version ${version}.`
        : `Done: ${position.epoch} epochs, ${formatUsd(total)}; the checkpoint is '${name}' version ${version}.`,
    );
    return {
      history: [...this.history],
      model: this.parts.model,
      checkpoint: { name, version },
      ...(stopped ? { stopped } : {}),
      costUsd: total,
      workerSeconds: this.workerMs / 1000,
      ...(this.parts.tuning ? { tuning: this.parts.tuning } : {}),
    };
  }

  /**
   * The epoch this segment runs to: every epoch left, or under a budget,
   * one at first and then as many as the budget left pays for; undefined when
   * it pays for none.
   */
  private segmentEnd(position: TrainingPosition): number | undefined {
    const { epochs, budget } = this.parts.resolved;
    if (budget === undefined) {
      return epochs;
    }
    const left = budget - this.billedUsd;
    if (left <= 0) {
      return undefined;
    }
    if (this.epochCostUsd === undefined) {
      return position.epoch + 1;
    }
    const affordable = Math.floor(left / this.epochCostUsd);
    return affordable < 1 ? undefined : Math.min(epochs, position.epoch + affordable);
  }

  private segmentSpec(at: {
    position: TrainingPosition;
    version: number;
    carried?: EpochSums;
    seed: number;
    untilEpoch: number;
  }): SegmentSpec {
    const { resolved, cellOptions } = this.parts;
    return {
      trainId: this.parts.trainId,
      name: this.parts.name,
      version: at.version,
      start: at.position,
      untilEpoch: at.untilEpoch,
      epochs: resolved.epochs,
      data: this.parts.data,
      ...(this.parts.validation ? { validation: this.parts.validation } : {}),
      workers: resolved.workers,
      batchSize: resolved.batchSize,
      strategy: resolved.strategy,
      staleness: resolved.staleness,
      codec: resolved.codec,
      store: cellOptions.store,
      seed: at.seed,
      shuffle: resolved.shuffle,
      timeLimitMs: cellOptions.timeoutS * 1000,
      ...(embeddedClock(cellOptions) === 'lambda' ? { cpuMemoryMb: cellOptions.memoryMb } : {}),
      controlEvery: CONTROL_EVERY,
      ...(this.parts.options.tfBackend ? { tfBackend: this.parts.options.tfBackend } : {}),
      ...(this.parts.accuracy ? { accuracy: this.parts.accuracy } : {}),
      history: [...this.history],
      ...(at.carried ? { carried: at.carried } : {}),
      workerUsdPerSecond: this.workerUsdPerSecond,
      ...(resolved.budget === undefined ? {} : { budgetLeftUsd: resolved.budget - this.billedUsd }),
    };
  }

  private async runSegment(spec: SegmentSpec): Promise<SegmentRunResult> {
    const { host, cellOptions, resolved, name } = this.parts;
    const events = new SegmentEvents(this, spec);
    const label = `train('${name}') epochs ${spec.start.epoch + 1}-${spec.untilEpoch} on ${resolved.workers} workers`;
    const stop = new AbortController();
    this.segmentStop = stop;
    const result = await host.runSegment({
      label,
      spec,
      options: { ...cellOptions, concurrency: resolved.workers },
      onEvent: (rank, event, runId) => events.on(rank, event, runId),
      signal: AbortSignal.any([this.parts.signal, stop.signal]),
    });
    this.segmentStop = undefined;
    if (this.divergedAt !== undefined) {
      this.progress.note(`Diverged: the loss of epoch ${this.divergedAt} is not a number.`);
      throw new TrainingDivergedError(
        `train('${name}'): the loss of epoch ${this.divergedAt} is not a finite number (the training diverged). ` +
          `Lower the learning rate, or check the data for NaN or Infinity; the checkpoints before epoch ` +
          `${this.divergedAt} are intact.`,
      );
    }
    if (result.interrupted) {
      this.progress.note('Interrupted.');
      throw new TrainingInterruptedError(
        `train('${name}') was interrupted; its last checkpoint is intact. Call train({ ..., name: '${name}', resume: true }) to continue from it.`,
      );
    }
    return result;
  }

  /** Rank 0's outcome; throws when a worker failed. */
  private outcomeOf(segment: SegmentRunResult, version: number, name: string) {
    const failed = segment.ranks.filter((r): r is Extract<typeof r, { ok: false }> => !r.ok);
    if (failed.length > 0) {
      const first = failed[0];
      this.progress.note(`Worker ${first.rank} failed: ${first.error.message}`);
      throw new TrainingWorkerError(
        `train('${name}'): worker${failed.length > 1 ? 's' : ''} ${failed.map((f) => f.rank).join(', ')} failed after ` +
          `their retries (${first.error.name}: ${first.error.message}). The checkpoint before the failure is version ` +
          `${version} or later of '${name}'; call train({ ..., resume: true }) to continue from it.`,
        failed.map((f) => f.rank),
        { cause: first.error },
      );
    }
    const rank0 = segment.ranks.find((r) => r.rank === 0);
    if (!rank0 || !rank0.ok) {
      throw new TrainingWorkerError(
        `train('${name}'): worker 0 never ran (the segment was stopped before it started).`,
        [0],
      );
    }
    return rank0.outcome;
  }

  /** Puts the last checkpoint's weights and optimizer state into the model passed in. */
  private async finish(version: number): Promise<void> {
    const loaded = await this.parts.models.load<Tf.LayersModel>(this.parts.name, {
      version,
      signal: this.parts.signal,
    });
    try {
      await copyState(loaded, this.parts.model);
    } finally {
      loaded.dispose();
    }
  }

  /** A step report: the live line. */
  onStep(data: TrainingStepData, liveCostUsd: number): void {
    this.showLive(data.epoch, data.step, data.loss, samplesPerSecond(data), liveCostUsd);
  }

  /** The cell's live line. */
  private showLive(
    epoch: number,
    step: number,
    loss: number,
    rate: number | undefined,
    liveCostUsd: number,
  ): void {
    const live: LiveFigures = {
      epoch,
      epochs: this.parts.resolved.epochs,
      step,
      stepsPerEpoch: this.parts.schedule.stepsPerEpoch,
      loss,
      samplesPerSecond: rate,
      costUsd: this.billedUsd + liveCostUsd,
      bytesExchanged: this.bytesExchanged,
    };
    this.progress.update(live);
  }

  /** An epoch's end: its row, the panel's event and the user's callback. */
  onEpoch(data: TrainingEpochData, runId: string, costUsd: number, bytes: number, liveCostUsd: number): void {
    if (this.history.some((row) => row.epoch === data.epoch) || this.divergedAt !== undefined) {
      return; // A retried rank 0 replays epochs it already reported.
    }
    if (!Number.isFinite(data.loss)) {
      this.divergedAt = data.epoch;
      this.segmentStop?.abort();
      return;
    }
    const record: EpochRecord = {
      epoch: data.epoch,
      loss: data.loss,
      ...(data.accuracy === undefined ? {} : { accuracy: data.accuracy }),
      ...(data.valLoss === undefined ? {} : { valLoss: data.valLoss }),
      ...(data.valAccuracy === undefined ? {} : { valAccuracy: data.valAccuracy }),
      seconds: data.seconds,
      costUsd,
      bytesExchanged: bytes,
    };
    this.history.push(record);
    this.parts.historyWriter.write(this.history);
    const rate = samplesPerSecond(data);
    this.showLive(data.epoch, this.parts.schedule.stepsPerEpoch, data.loss, rate, liveCostUsd);
    const { resolved, trainId, name } = this.parts;
    this.parts.host.reportEpoch({
      ...record,
      trainId,
      name,
      runId,
      epochs: resolved.epochs,
      samplesPerSecond: rate ?? 0,
      totalCostUsd: this.billedUsd + liveCostUsd,
      workers: resolved.workers,
      strategy: resolved.strategy,
      codec: resolved.codec,
      store: this.storeKind,
      ...(data.checkpointVersion >= 0 ? { checkpointVersion: data.checkpointVersion } : {}),
    });
    this.parts.options.onEpochEnd?.(record);
  }

  /** Counts an exchange round's bytes. */
  addBytes(bytes: number): void {
    this.bytesExchanged += bytes;
  }

  get perWorkerSecondUsd(): number {
    return this.workerUsdPerSecond;
  }

  get host(): TrainingHost {
    return this.parts.host;
  }
}

/** Samples a second of what a report counts, if it took any time. */
function samplesPerSecond(data: { samples: number; seconds: number }): number | undefined {
  return data.seconds > 0 ? data.samples / data.seconds : undefined;
}
