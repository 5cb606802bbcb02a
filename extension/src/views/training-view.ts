/**
 * The training view: for one train() call (the newest by default, a
 * selector when there are several), its loss and accuracy per epoch and its
 * cost per epoch with the running total, drawn as each epoch ends; a plain
 * message (no Plotly loaded) until an epoch ends.
 */
import type { ISignal } from '@lumino/signaling';

import type { TelemetryState } from '../model/state';
import type { ChartView } from './chart-view';
import type { IFigureTheme } from './figure-theme';
import { PickedChartView } from './picked-chart-view';
import {
  formatAccuracy,
  formatBytes,
  formatLoss,
  formatRate,
  formatSeconds,
  formatUsd,
  MAX_TRAINING_BARS,
  TRAINING_EMPTY_TEXT,
  trainingShape,
} from './shape';
import type { TrainingShape } from './shape';
import type { IFigure } from './timeline-figure';
import { TRAINING_MIN_HEIGHT_PX, trainingFigure } from './training-figure';

/** The fewest cost bars across however narrow the view. */
const MIN_TRAINING_BARS = 16;

/** The train() calls of the telemetry model. */
export class TrainingView extends PickedChartView {
  constructor(options: ChartView.IOptions) {
    super({
      ...options,
      classPrefix: 'jp-serverless-Training',
      pickerLabel: (trans) => trans.__('Training'),
      minHeightPx: TRAINING_MIN_HEIGHT_PX,
    });
    this.title.label = this.trans.__('Training');
    this.title.caption = this.trans.__(
      'Loss, accuracy and cost per epoch of the train() calls, as each epoch ends',
    );
    // Plotly's chart is SVG without a text alternative: the plot's node says what it shows.
    this.plotNode.setAttribute('role', 'img');
  }

  /**
   * Emits once, when the view first draws a train() call (it was a line of
   * text until then): the panel gives the section more room.
   */
  get trainingShown(): ISignal<this, void> {
    return this.firstDrawn;
  }

  protected render(state: TelemetryState, theme: IFigureTheme): IFigure | null {
    const maxBars = this.barsAcross(MIN_TRAINING_BARS, MAX_TRAINING_BARS);
    const shape = trainingShape(state, { key: this.selected, maxBars });
    this.picker.show(shape.choices, shape.training ? shape.training.trainId : null);
    if (shape.empty) {
      this.summaryNode.textContent = '';
      this.setMessage(TRAINING_EMPTY_TEXT);
      return null;
    }
    this.summaryNode.textContent = this._summary(shape);
    this.setMessage('');
    this.plotNode.setAttribute(
      'aria-label',
      this.trans.__('%1: loss and accuracy per epoch, and cost per epoch with the total', shape.label),
    );
    this.markDrawn();
    return trainingFigure(shape, theme, this.trans);
  }

  private _summary(shape: TrainingShape): string {
    const t = shape.training!;
    const e = shape.latest!;
    const parts = [
      shape.label,
      t.codec,
      t.store,
      this.trans.__('epoch %1 of %2', e.epoch, t.plannedEpochs),
      this.trans.__('loss %1', formatLoss(e.loss)),
    ];
    if (e.valLoss !== undefined) {
      parts.push(this.trans.__('validation loss %1', formatLoss(e.valLoss)));
    }
    if (e.accuracy !== undefined) {
      parts.push(this.trans.__('accuracy %1', formatAccuracy(e.accuracy)));
    }
    if (e.valAccuracy !== undefined) {
      parts.push(this.trans.__('validation accuracy %1', formatAccuracy(e.valAccuracy)));
    }
    parts.push(
      this.trans.__('%1 per epoch', formatSeconds(e.seconds)),
      this.trans.__('%1 samples/s', formatRate(e.samplesPerSecond)),
      this.trans.__('%1 exchanged', formatBytes(shape.totals.bytesExchanged)),
      this.trans.__('total %1', formatUsd(t.totalCostUsd)),
    );
    if (e.checkpointVersion !== undefined) {
      parts.push(this.trans.__('checkpoint v%1', e.checkpointVersion));
    }
    if (shape.epochsPerBar > 1) {
      parts.push(this.trans.__('a bar per %1 epochs', shape.epochsPerBar));
    }
    if (t.droppedEpochs > 0) {
      parts.push(this.trans.__('the oldest %1 epochs were dropped', t.droppedEpochs));
    }
    return parts.join(' · ');
  }
}
