/**
 * The gradient traffic view: for one exchange of a cell run (the newest by
 * default, a selector when there are several), the bytes of each round
 * stacked by worker, the compression ratio, and the exchange graph; a plain
 * message (no Plotly loaded) until a run exchanges anything.
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import type { TelemetryState } from '../model/state';
import { ChartView } from './chart-view';
import { ChoicePicker } from './choice-picker';
import type { IFigureTheme } from './figure-theme';
import {
  formatBytes,
  formatRatio,
  formatUsd,
  MAX_TRAFFIC_BARS,
  MIN_TRAFFIC_BARS,
  TRAFFIC_EMPTY_TEXT,
  trafficShape,
} from './shape';
import type { TrafficChoice, TrafficShape } from './shape';
import type { IFigure } from './timeline-figure';
import { TRAFFIC_MIN_HEIGHT_PX, trafficFigure } from './traffic-figure';

/** The gradient traffic of the telemetry model. */
export class TrafficView extends ChartView {
  constructor(options: ChartView.IOptions) {
    super(options);
    this.addClass('jp-serverless-Traffic');
    this.messageNode.classList.add('jp-serverless-Traffic-empty');
    this.title.label = this.trans.__('Gradient traffic');
    this.title.caption = this.trans.__(
      'Bytes the workers exchanged through the store, per round and per worker, and the exchange graph',
    );
    this._picker = new ChoicePicker({
      classPrefix: 'jp-serverless-Traffic',
      label: this.trans.__('Exchange'),
      onPick: (key) => {
        this.selected = key;
      },
    });
    this.node.insertBefore(this._picker.node, this.summaryNode);
    // The plot takes the rest of the view's height (style/views.css), at least this.
    this.plotNode.style.minHeight = `${TRAFFIC_MIN_HEIGHT_PX}px`;
  }

  /** The exchange picked (its key); null: the newest. One that is gone shows the newest. */
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
   * Emits once, when the view first draws an exchange (it was a line of
   * text until then): the panel gives the section more room.
   */
  get trafficShown(): ISignal<this, void> {
    return this._trafficShown;
  }

  /** The exchanges offered, as last drawn. */
  get choices(): readonly TrafficChoice[] {
    return this._picker.choices;
  }

  protected render(state: TelemetryState, theme: IFigureTheme): IFigure | null {
    // The width is read once per resize (reading it forces a layout), not per draw.
    this._widthPx ??= this.node.clientWidth;
    const shape = trafficShape(state, { key: this._selected, maxBars: this._maxBars() });
    this._picker.show(shape.choices, shape.exchange ? shape.exchange.key : null);
    if (shape.empty) {
      this.summaryNode.textContent = '';
      this.setMessage(TRAFFIC_EMPTY_TEXT);
      return null;
    }
    this.summaryNode.textContent = this._summary(shape);
    this.setMessage('');
    // Read once per resize too; 0 while the plot is hidden (before the first chart): read again next time.
    this._heightPx ??= this.plotNode.clientHeight || null;
    if (!this._shown) {
      this._shown = true;
      this._trafficShown.emit();
    }
    return trafficFigure(shape, theme, this.trans, this._heightPx ?? TRAFFIC_MIN_HEIGHT_PX);
  }

  /** Exchange rounds come as events: no need to redraw while nothing arrives. */
  protected override isLive(): boolean {
    return false;
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    this._widthPx = null;
    this._heightPx = null;
    if (!this.isDirty) {
      // The bars drawn depend on the width, the figure's arrangement on the height: draw anew, not only resize.
      this.invalidate();
    }
    super.onResize(msg);
  }

  /** Bars across: about one per 3 px of the view's width, within the shaping's bounds. */
  private _maxBars(): number {
    const width = this._widthPx ?? 0;
    if (width <= 0) {
      return MAX_TRAFFIC_BARS;
    }
    return Math.max(MIN_TRAFFIC_BARS, Math.min(MAX_TRAFFIC_BARS, Math.floor(width / 3)));
  }

  private _summary(shape: TrafficShape): string {
    const x = shape.exchange!;
    const t = shape.totals;
    const parts = [
      shape.label,
      x.codec,
      x.store,
      this.trans.__('%1 workers', x.workerCount),
      this.trans.__('%1 rounds', t.rounds),
      this.trans.__('up %1', formatBytes(t.bytesUp)),
      this.trans.__('down %1', formatBytes(t.bytesDown)),
      this.trans.__('ratio %1', formatRatio(t.ratio)),
      this.trans.__('%1 requests', t.requests),
      this.trans.__('storage %1', formatUsd(t.storageUsd)),
    ];
    if (shape.roundsPerBar > 1) {
      parts.push(this.trans.__('a bar per %1 rounds', shape.roundsPerBar));
    }
    return parts.join(' · ');
  }

  private _shown = false;
  private readonly _trafficShown = new Signal<this, void>(this);
  private _selected: string | null = null;
  private _widthPx: number | null = null;
  /** The plot's height, px, as last read (null: to be read). */
  private _heightPx: number | null = null;
  private readonly _picker: ChoicePicker;
}
