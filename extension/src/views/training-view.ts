/**
 * The training view: for one train() call (the newest by default, a
 * selector when there are several), its loss and accuracy per epoch and its
 * cost per epoch with the running total, drawn as each epoch ends; a plain
 * message (no Plotly loaded) until an epoch ends.
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import type { TelemetryState } from '../model/state';
import { ChartView } from './chart-view';
import { ChoicePicker } from './choice-picker';
import type { IFigureTheme } from './figure-theme';
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
import type { TrainingChoice, TrainingShape } from './shape';
import type { IFigure } from './timeline-figure';
import { TRAINING_MIN_HEIGHT_PX, trainingFigure } from './training-figure';

/** The fewest cost bars across however narrow the view. */
const MIN_TRAINING_BARS = 16;

/** The train() calls of the telemetry model. */
export class TrainingView extends ChartView {
  constructor(options: ChartView.IOptions) {
    super(options);
    this.addClass('jp-serverless-Training');
    this.messageNode.classList.add('jp-serverless-Training-empty');
    this.title.label = this.trans.__('Training');
    this.title.caption = this.trans.__(
      'Loss, accuracy and cost per epoch of the train() calls, as each epoch ends',
    );
    this._picker = new ChoicePicker({
      classPrefix: 'jp-serverless-Training',
      label: this.trans.__('Training'),
      onPick: (key) => {
        this.selected = key;
      },
    });
    this.node.insertBefore(this._picker.node, this.summaryNode);
    // Plotly's chart is SVG without a text alternative: the plot's node says what it shows.
    this.plotNode.setAttribute('role', 'img');
    // The plot takes the rest of the view's height (style/views.css), at least this.
    this.plotNode.style.minHeight = `${TRAINING_MIN_HEIGHT_PX}px`;
  }

  /** The call picked (its `trainId`); null: the newest. One that is gone shows the newest. */
  get selected(): string | null {
    return this._selected;
  }

  set selected(key: string | null) {
    if (key !== this._selected) {
      this._selected = key;
      this.invalidate();
    }
  }

  /**
   * Emits once, when the view first draws a train() call (it was a line of
   * text until then): the panel gives the section more room.
   */
  get trainingShown(): ISignal<this, void> {
    return this._trainingShown;
  }

  /** The calls offered, as last drawn. */
  get choices(): readonly TrainingChoice[] {
    return this._picker.choices;
  }

  protected render(state: TelemetryState, theme: IFigureTheme): IFigure | null {
    // The width is read once per resize (reading it forces a layout), not per draw.
    this._widthPx ??= this.node.clientWidth;
    const shape = trainingShape(state, { key: this._selected, maxBars: this._maxBars() });
    this._picker.show(shape.choices, shape.training ? shape.training.trainId : null);
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
    if (!this._shown) {
      this._shown = true;
      this._trainingShown.emit();
    }
    return trainingFigure(shape, theme, this.trans);
  }

  /** Epochs come as events: no need to redraw while nothing arrives. */
  protected override isLive(): boolean {
    return false;
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    this._widthPx = null;
    if (!this.isDirty) {
      // The bars drawn depend on the width: draw anew, not only resize.
      this.invalidate();
    }
    super.onResize(msg);
  }

  /** Cost bars across: about one per 3 px of the view's width, within bounds. */
  private _maxBars(): number {
    const width = this._widthPx ?? 0;
    if (width <= 0) {
      return MAX_TRAINING_BARS;
    }
    return Math.max(MIN_TRAINING_BARS, Math.min(MAX_TRAINING_BARS, Math.floor(width / 3)));
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

  private _shown = false;
  private readonly _trainingShown = new Signal<this, void>(this);
  private _selected: string | null = null;
  private _widthPx: number | null = null;
  private readonly _picker: ChoicePicker;
}
