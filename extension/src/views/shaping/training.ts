/**
 * The training chart as data: the train() calls to pick from, and for the
 * one picked, its loss and accuracy per epoch (training and validation
 * where reported) and its cost per epoch as bars with the running total.
 * The bars drawn are bounded: beyond {@link TrainingOptions.maxBars},
 * neighbouring epochs are drawn as one bar (their costs summed), so a
 * redraw costs about the same at 10,000 epochs as at 100; the lines keep
 * every epoch the fold kept.
 */
import type { TelemetryState, TrainingRecord } from '../../model/state';
import { addUsd } from '../../telemetry';
import type { TrainingEpochEvent } from '../../telemetry';
import { runTag } from './common';

/** A train() call the view can show. */
export interface TrainingChoice {
  /** Its `trainId`. */
  readonly key: string;
  /** e.g. `[4] mnist-mlp · allreduce · 4 workers`. */
  readonly label: string;
}

/** The metrics per epoch, as columns (null where an epoch did not report one). */
export interface TrainingSeries {
  readonly epoch: number[];
  readonly loss: number[];
  readonly accuracy: (number | null)[];
  readonly valLoss: (number | null)[];
  readonly valAccuracy: (number | null)[];
  /** The call's running total after each epoch, USD. */
  readonly totalCostUsd: number[];
}

/** The cost bars: one per epoch, or per bin of epochs. */
export interface TrainingCostBars {
  /** The bar's center on the epoch axis, and its width in epochs. */
  readonly x: number[];
  readonly width: number[];
  /** The lowest and highest epochs in the bar. */
  readonly firstEpoch: number[];
  readonly lastEpoch: number[];
  /** The bar's epochs' costs summed, USD. */
  readonly costUsd: number[];
}

/** What the training view draws. */
export interface TrainingShape {
  /** True until an epoch of some train() call ended: show {@link TRAINING_EMPTY_TEXT} instead. */
  readonly empty: boolean;
  /** Every call kept, the newest first. */
  readonly choices: TrainingChoice[];
  /** The call shown (null when empty). */
  readonly training: TrainingRecord | null;
  /** Its choice's label. */
  readonly label: string;
  readonly series: TrainingSeries;
  /** Which metrics some epoch reported (their traces and axis are left out otherwise). */
  readonly has: { readonly accuracy: boolean; readonly valLoss: boolean; readonly valAccuracy: boolean };
  /** Epochs per bar (1: a bar per epoch). */
  readonly epochsPerBar: number;
  readonly bars: TrainingCostBars;
  /** The latest epoch (the highest reported; null when empty). */
  readonly latest: TrainingEpochEvent | null;
  /** Sums over the epochs kept. */
  readonly totals: { readonly seconds: number; readonly bytesExchanged: number };
}

/** Options of {@link trainingShape}. */
export interface TrainingOptions {
  /** The call to show (its `trainId`); absent or gone: the newest. */
  key?: string | null;
  /** The most cost bars drawn across (default {@link MAX_TRAINING_BARS}). */
  maxBars?: number;
}

/** The most cost bars across the epoch axis. */
export const MAX_TRAINING_BARS = 200;

/** What the training view says before any epoch ended. */
export const TRAINING_EMPTY_TEXT =
  'No training yet. Each epoch of a train() call shows here as it ends: loss, accuracy and cost.';

/** The train() calls of `state`, the newest first (by first event). */
export function trainingChoices(state: TelemetryState): TrainingChoice[] {
  const places = new Map<string, number>();
  let place = 0;
  for (const run of state.runs.keys()) {
    places.set(run, ++place);
  }
  const calls = [...state.trainings.values()];
  return calls
    .map((t, i) => {
      const run = state.runs.get(t.runId);
      // A call whose run is not known is told apart by its place among the calls.
      const tag = run ? runTag(run, places.get(t.runId) ?? 0) : `#${i + 1}`;
      return {
        t,
        choice: { key: t.trainId, label: `${tag} ${t.name} · ${t.strategy} · ${t.workers} workers` },
      };
    })
    .sort((a, b) => b.t.firstSeq - a.t.firstSeq)
    .map(({ choice }) => choice);
}

/** Shapes one train() call of `state`. */
export function trainingShape(state: TelemetryState, options: TrainingOptions = {}): TrainingShape {
  const choices = trainingChoices(state);
  const training =
    (options.key ? state.trainings.get(options.key) : undefined) ??
    (choices.length > 0 ? state.trainings.get(choices[0].key) : undefined);
  if (!training || training.epochs.length === 0) {
    return {
      empty: true,
      choices,
      training: null,
      label: '',
      series: { epoch: [], loss: [], accuracy: [], valLoss: [], valAccuracy: [], totalCostUsd: [] },
      has: { accuracy: false, valLoss: false, valAccuracy: false },
      epochsPerBar: 1,
      bars: { x: [], width: [], firstEpoch: [], lastEpoch: [], costUsd: [] },
      latest: null,
      totals: { seconds: 0, bytesExchanged: 0 },
    };
  }
  const epochs = training.epochs;
  const series: TrainingSeries = {
    epoch: [],
    loss: [],
    accuracy: [],
    valLoss: [],
    valAccuracy: [],
    totalCostUsd: [],
  };
  const has = { accuracy: false, valLoss: false, valAccuracy: false };
  let seconds = 0;
  let bytesExchanged = 0;
  for (const e of epochs) {
    series.epoch.push(e.epoch);
    series.loss.push(e.loss);
    series.accuracy.push(e.accuracy ?? null);
    series.valLoss.push(e.valLoss ?? null);
    series.valAccuracy.push(e.valAccuracy ?? null);
    series.totalCostUsd.push(e.totalCostUsd);
    has.accuracy ||= e.accuracy !== undefined;
    has.valLoss ||= e.valLoss !== undefined;
    has.valAccuracy ||= e.valAccuracy !== undefined;
    seconds += e.seconds;
    bytesExchanged += e.bytesExchanged;
  }
  const { bars, width } = costBars(epochs, Math.max(1, options.maxBars ?? MAX_TRAINING_BARS));
  return {
    empty: false,
    choices,
    training,
    label: choices.find((c) => c.key === training.trainId)?.label ?? training.name,
    series,
    has,
    epochsPerBar: width,
    bars,
    latest: epochs[epochs.length - 1],
    totals: { seconds, bytesExchanged },
  };
}

/** The epochs' costs as at most `maxBars` bars: bins of 1, 2, 4... epochs. */
function costBars(
  epochs: readonly TrainingEpochEvent[],
  maxBars: number,
): { bars: TrainingCostBars; width: number } {
  const first = epochs[0].epoch;
  const last = epochs[epochs.length - 1].epoch;
  let width = 1;
  while (Math.floor(last / width) - Math.floor(first / width) + 1 > maxBars) {
    width *= 2;
  }
  const bars: TrainingCostBars = { x: [], width: [], firstEpoch: [], lastEpoch: [], costUsd: [] };
  let start = -1;
  for (const e of epochs) {
    const binStart = Math.floor(e.epoch / width) * width;
    const n = bars.x.length - 1;
    if (n >= 0 && binStart === start) {
      bars.lastEpoch[n] = e.epoch;
      // Summed in whole pico-dollars, as the kernel's ledger sums.
      bars.costUsd[n] = addUsd(bars.costUsd[n], e.costUsd);
      continue;
    }
    start = binStart;
    bars.x.push(binStart + (width - 1) / 2);
    bars.width.push(width * (width === 1 ? 0.6 : 0.92));
    bars.firstEpoch.push(e.epoch);
    bars.lastEpoch.push(e.epoch);
    bars.costUsd.push(e.costUsd);
  }
  return { bars, width };
}

/** A loss for display: three significant digits (`0.412`, `12.3`, `1230`). */
export function formatLoss(loss: number): string {
  return String(Number(loss.toPrecision(3)));
}

/** An accuracy (0-1) for display, as a percentage with one decimal: `92.3%`. */
export function formatAccuracy(accuracy: number): string {
  return `${(accuracy * 100).toFixed(1)}%`;
}

/** An epoch's duration for display: `0.42 s`, `2.5 s`, `42 s`, `12.5 min`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 10) {
    return `${seconds.toFixed(seconds < 1 ? 2 : 1)} s`;
  }
  if (seconds < 600) {
    return `${Math.round(seconds)} s`;
  }
  return `${(seconds / 60).toFixed(1)} min`;
}

/** Samples per second for display, in whole samples with thousands separated: `12,480`. */
export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}
