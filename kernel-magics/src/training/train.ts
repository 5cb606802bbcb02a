/**
 * `train()`: data-parallel training of a compiled tfjs model on serverless
 * workers, from one call in a notebook cell. The kernel publishes the data
 * to the store (once per content), checkpoints the starting model, then
 * runs segments: every worker is one invocation that steps from the last
 * checkpoint until the epochs are done or its timeout is near, rank 0
 * checkpointing every epoch. The next segment starts from where the last
 * one stopped (a warm environment keeps its model, so it loads nothing).
 * Progress is drawn in the cell; each epoch goes to the panel; the model
 * passed in ends with the last checkpoint's weights and optimizer state.
 */
import { randomUUID } from 'node:crypto';

import type * as Tf from '@tensorflow/tfjs';

import { durationPico, DEFAULT_PRICES } from '../cost';
import { picoToUsd } from '../telemetry/protocol/money';
import { configuredStoreUrl } from '../exchange/store/configured';
import { sharedStore } from '../exchange/store/shared';
import { parseStoreUrl } from '../exchange/store/url';
import { MagicUsageError } from '../magics/usage';
import type { ServerlessCellOptions } from '../magics/options';
import type { InvocationEvent } from '../output/sink';
import { ModelStore } from '../state/model-store';
import {
  CHECKPOINT_FORMAT,
  CheckpointRecord,
  EpochRecord,
  readCheckpointRecord,
  writeCheckpointRecord,
} from './checkpoint';
import type { ObjectStore } from '../exchange/store/object-store';
import { datasetArrays } from './datasets/arrays';
import { HistoryWriter, resumedHistory } from './history-store';
import type { DatasetRef } from './datasets/layout';
import { publishDataset } from './datasets/publish';
import {
  TrainingConfigError,
  TrainingDivergedError,
  TrainingInterruptedError,
  TrainingWorkerError,
} from './errors';
import { SegmentRunResult, TrainingHost, trainingHost } from './host';
import { ResolvedTrainOptions, resolveTrainOptions, TrainOptions } from './options';
import { LiveFigures, TrainingProgress } from './progress';
import { EpochSchedule } from './schedule';
import {
  EpochSums,
  SegmentSpec,
  TRAINING_EPOCH_EVENT,
  TRAINING_STEP_EVENT,
  TrainingEpochData,
  TrainingPosition,
  TrainingStepData,
} from './spec';
import type { AccuracyKind } from './worker/trainable';

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
  /** What this call's runs were billed, USD (their exact bills, as `%serverless cost` lists them). */
  costUsd: number;
}

/** Where a training starts: a checkpoint version and what it records. */
interface StartPoint {
  version: number;
  record: CheckpointRecord;
}

/**
 * Trains `options.model` data-parallel on `options.workers` serverless
 * workers (see {@link TrainOptions}).
 * @throws TrainingConfigError before anything runs; TrainingWorkerError when a worker fails after its retries;
 *   TrainingInterruptedError on an interrupt (the last checkpoint stays usable).
 */
export async function train<M extends Tf.LayersModel>(options: TrainOptions<M>): Promise<TrainResult<M>> {
  const host = trainingHost();
  const resolved = resolveTrainOptions(options);
  const { model } = options;
  const accuracy = checkModel(model);
  checkData(options.data, 'data');
  if (options.validation) {
    checkData(options.validation, 'validation');
  }
  const cellOptions = sessionOptions(host, resolved);
  const storeUrl = cellOptions.store ?? configuredStoreUrl();
  const trainId = randomUUID();
  const name = resolved.name ?? `train-${trainId.slice(0, 8)}`;
  const signal = combinedSignal(host.cellSignal(), options.signal);
  const store = sharedStore(storeUrl);
  const models = new ModelStore({ store });
  const data = await publishDataset(store, datasetArrays(options.data), { signal });
  const validation = options.validation
    ? await publishDataset(store, datasetArrays(options.validation), { signal })
    : undefined;
  const schedule = new EpochSchedule(data.samples, resolved.workers, resolved.batchSize);
  const start = await startingPoint(models, model, { trainId, name, resolved, data, store, signal });
  const session = new TrainingSession({
    host,
    model,
    models,
    options,
    resolved,
    cellOptions: { ...cellOptions, store: storeUrl },
    trainId,
    name,
    data,
    validation,
    accuracy,
    schedule,
    signal,
    historyWriter: new HistoryWriter(store, name),
  });
  return session.run(start);
}

/** The model's accuracy metric, if it has one; throws when it is not compiled. */
function checkModel(model: Tf.LayersModel): AccuracyKind | undefined {
  if (!model || typeof model.getWeights !== 'function' || typeof model.save !== 'function') {
    throw new TrainingConfigError(
      'train(): model must be a tfjs LayersModel (tf.sequential() or tf.model()).',
    );
  }
  if (!model.optimizer || typeof model.loss !== 'string') {
    throw new TrainingConfigError(
      "train(): compile the model first, with an optimizer and one loss by name, e.g. model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy', metrics: ['accuracy'] }).",
    );
  }
  const names = model.metricsNames ?? [];
  if (!names.includes('acc') && !names.includes('accuracy')) {
    return undefined;
  }
  const kinds: Record<string, AccuracyKind> = {
    categoricalCrossentropy: 'categorical',
    sparseCategoricalCrossentropy: 'sparse',
    binaryCrossentropy: 'binary',
  };
  return kinds[model.loss];
}

function checkData(data: { xs: Tf.Tensor; ys: Tf.Tensor } | undefined, option: string): void {
  if (!data || !data.xs || !data.ys || !Array.isArray(data.xs.shape) || !Array.isArray(data.ys.shape)) {
    throw new TrainingConfigError(
      `train(): ${option} must be { xs, ys }, two tensors whose first dimension is the sample.`,
    );
  }
  if (data.xs.shape[0] !== data.ys.shape[0]) {
    throw new TrainingConfigError(
      `train(): ${option}.xs has ${data.xs.shape[0]} samples and ${option}.ys ${data.ys.shape[0]}; they must match.`,
    );
  }
}

/** The session's `%%serverless` options with train()'s on top, as the magic parses them. */
function sessionOptions(host: TrainingHost, resolved: ResolvedTrainOptions): ServerlessCellOptions {
  try {
    return host.options(resolved.cellArgs);
  } catch (error) {
    if (error instanceof MagicUsageError) {
      throw new TrainingConfigError(`train(): ${error.message.replace(/^%%serverless:?\s*/, '')}`);
    }
    throw error;
  }
}

function combinedSignal(...signals: Array<AbortSignal | undefined>): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 0 ? new AbortController().signal : AbortSignal.any(present);
}

/**
 * The checkpoint to start from: with `resume`, the newest version of the
 * name (its weights also go into the model passed in); otherwise the model
 * passed in, saved now as the first version.
 */
async function startingPoint(
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
async function copyState(from: Tf.LayersModel, to: Tf.LayersModel): Promise<void> {
  to.setWeights(from.getWeights());
  const state = await from.optimizer.getWeights();
  if (state.length > 0) {
    await to.optimizer.setWeights(state);
  }
  to.setUserDefinedMetadata(from.getUserDefinedMetadata());
}

/** What a session works with. */
interface SessionParts<M extends Tf.LayersModel> {
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
}

/** One train() call's segments, progress and telemetry. */
class TrainingSession<M extends Tf.LayersModel> {
  private history: EpochRecord[] = [];
  private readonly progress: TrainingProgress;
  /** What finished segments were billed, USD. */
  private billedUsd = 0;
  /** The estimated cost of an epoch (after the first segment). */
  private epochCostUsd: number | undefined;
  private bytesExchanged = 0;
  private readonly workerUsdPerSecond: number;
  /** The epoch whose loss was not finite, once one was (its segment is stopped). */
  private divergedAt: number | undefined;
  private segmentStop: AbortController | undefined;

  constructor(private readonly parts: SessionParts<M>) {
    const { resolved, name, cellOptions } = parts;
    this.workerUsdPerSecond = picoToUsd(durationPico(1000, cellOptions.memoryMb, DEFAULT_PRICES, 'x86_64'));
    const title =
      `train '${name}': ${resolved.workers} workers · ${resolved.strategy} · codec ${resolved.codec} · ` +
      `batch ${resolved.batchSize} · ${parseStoreUrl(cellOptions.store).kind} store`;
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
      if (epochsRun > 0) {
        this.epochCostUsd = segment.costUsd / epochsRun;
      }
      position = outcome.position;
      version = outcome.version ?? version;
      if (outcome.end === 'budget') {
        stopped = 'budget';
        break;
      }
      carried = undefined;
      if (outcome.end === 'time' && position.step > 0) {
        carried = (await this.recordOf(version)).carried;
      }
    }
    await this.finish(version);
    await this.parts.historyWriter.flush();
    const total = this.billedUsd;
    this.progress.note(
      stopped === 'budget'
        ? `Stopped by the budget ($${resolved.budget ?? 0}) after epoch ${position.epoch}: spent $${total.toFixed(6)}; the checkpoint is '${name}' version ${version}.`
        : `Done: ${position.epoch} epochs, $${total.toFixed(6)}; the checkpoint is '${name}' version ${version}.`,
    );
    return {
      history: [...this.history],
      model: this.parts.model,
      checkpoint: { name, version },
      ...(stopped ? { stopped } : {}),
      costUsd: total,
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

  private async recordOf(version: number): Promise<CheckpointRecord> {
    const loaded = await this.parts.models.load<Tf.LayersModel>(this.parts.name, {
      version,
      signal: this.parts.signal,
    });
    try {
      return readCheckpointRecord(loaded, `version ${version} of '${this.parts.name}'`);
    } finally {
      loaded.dispose();
    }
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
    const live: LiveFigures = {
      epoch: data.epoch,
      epochs: this.parts.resolved.epochs,
      step: data.step,
      stepsPerEpoch: data.stepsPerEpoch,
      loss: data.loss,
      samplesPerSecond: data.seconds > 0 ? data.samples / data.seconds : undefined,
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
    const { resolved, cellOptions, trainId, name } = this.parts;
    this.progress.update({
      epoch: data.epoch,
      epochs: resolved.epochs,
      step: this.parts.schedule.stepsPerEpoch,
      stepsPerEpoch: this.parts.schedule.stepsPerEpoch,
      loss: data.loss,
      samplesPerSecond: data.seconds > 0 ? data.samples / data.seconds : undefined,
      costUsd: this.billedUsd + liveCostUsd,
      bytesExchanged: this.bytesExchanged,
    });
    this.parts.host.reportEpoch({
      trainId,
      name,
      runId,
      epoch: data.epoch,
      epochs: resolved.epochs,
      loss: data.loss,
      ...(data.accuracy === undefined ? {} : { accuracy: data.accuracy }),
      ...(data.valLoss === undefined ? {} : { valLoss: data.valLoss }),
      ...(data.valAccuracy === undefined ? {} : { valAccuracy: data.valAccuracy }),
      seconds: data.seconds,
      samplesPerSecond: data.seconds > 0 ? data.samples / data.seconds : 0,
      costUsd,
      totalCostUsd: this.billedUsd + liveCostUsd,
      bytesExchanged: bytes,
      workers: resolved.workers,
      strategy: resolved.strategy,
      codec: resolved.codec,
      store: parseStoreUrl(cellOptions.store).kind,
      ...(data.checkpointVersion >= 0 ? { checkpointVersion: data.checkpointVersion } : {}),
    });
    this.parts.options.onEpochEnd?.(record);
  }

  /** Counts an exchange round's bytes. */
  addBytes(bytes: number): void {
    this.bytesExchanged += bytes;
  }

  get workers(): number {
    return this.parts.resolved.workers;
  }

  get perWorkerSecondUsd(): number {
    return this.workerUsdPerSecond;
  }

  get host(): TrainingHost {
    return this.parts.host;
  }
}

/** The events of one segment's workers, turned into progress, epochs and costs. */
class SegmentEvents<M extends Tf.LayersModel> {
  private readonly startedAt = performance.now();
  private bytesAtEpoch = 0;
  private bytes = 0;
  private storageAtEpoch = 0;

  constructor(
    private readonly session: TrainingSession<M>,
    private readonly spec: SegmentSpec,
  ) {}

  on(rank: number, event: InvocationEvent, runId: string): void {
    if (event.type === 'exchange-round') {
      const up = Number(event.data.bytesUp ?? 0);
      const down = Number(event.data.bytesDown ?? 0);
      this.bytes += up + down;
      this.session.addBytes(up + down);
      return;
    }
    if (rank !== 0) {
      return;
    }
    if (event.type === TRAINING_STEP_EVENT) {
      this.session.onStep(event.data as unknown as TrainingStepData, this.liveCost(runId));
    } else if (event.type === TRAINING_EPOCH_EVENT) {
      const data = event.data as unknown as TrainingEpochData;
      const storage = this.session.host.storageCost(runId);
      const compute = data.seconds * this.spec.workers * this.session.perWorkerSecondUsd;
      const cost = compute + (storage - this.storageAtEpoch);
      this.storageAtEpoch = storage;
      const bytes = this.bytes - this.bytesAtEpoch;
      this.bytesAtEpoch = this.bytes;
      this.session.onEpoch(data, runId, cost, bytes, this.liveCost(runId));
    }
  }

  /** What the running segment has cost so far: its billed storage plus every worker's compute by wall time. */
  private liveCost(runId: string): number {
    const seconds = (performance.now() - this.startedAt) / 1000;
    return (
      this.session.host.storageCost(runId) + seconds * this.spec.workers * this.session.perWorkerSecondUsd
    );
  }
}
