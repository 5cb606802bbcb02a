/**
 * The gradient traffic view: for one exchange of a cell run (the newest by
 * default, a selector when there are several), the bytes of each round
 * stacked by worker, the compression ratio, and the exchange graph; a plain
 * message (no Plotly loaded) until a run exchanges anything.
 */
import type { ISignal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import type { TelemetryState } from '../model/state';
import type { ChartView } from './chart-view';
import type { IFigureTheme } from './figure-theme';
import { PickedChartView } from './picked-chart-view';
import {
  formatBytes,
  formatRatio,
  formatUsd,
  MAX_TRAFFIC_BARS,
  MIN_TRAFFIC_BARS,
  TRAFFIC_EMPTY_TEXT,
  trafficShape,
} from './shape';
import type { TrafficShape } from './shape';
import type { IFigure } from './timeline-figure';
import { TRAFFIC_MIN_HEIGHT_PX, trafficFigure } from './traffic-figure';

/** The gradient traffic of the telemetry model. */
export class TrafficView extends PickedChartView {
  constructor(options: ChartView.IOptions) {
    super({
      ...options,
      classPrefix: 'jp-serverless-Traffic',
      pickerLabel: (trans) => trans.__('Exchange'),
      minHeightPx: TRAFFIC_MIN_HEIGHT_PX,
    });
    this.title.label = this.trans.__('Gradient traffic');
    this.title.caption = this.trans.__(
      'Bytes the workers exchanged through the store, per round and per worker, and the exchange graph',
    );
  }

  /**
   * Emits once, when the view first draws an exchange (it was a line of
   * text until then): the panel gives the section more room.
   */
  get trafficShown(): ISignal<this, void> {
    return this.firstDrawn;
  }

  protected render(state: TelemetryState, theme: IFigureTheme): IFigure | null {
    const maxBars = this.barsAcross(MIN_TRAFFIC_BARS, MAX_TRAFFIC_BARS);
    const shape = trafficShape(state, { key: this.selected, maxBars });
    this.picker.show(shape.choices, shape.exchange ? shape.exchange.key : null);
    if (shape.empty) {
      this.summaryNode.textContent = '';
      this.setMessage(TRAFFIC_EMPTY_TEXT);
      return null;
    }
    this.summaryNode.textContent = this._summary(shape);
    this.setMessage('');
    // Read once per resize too; 0 while the plot is hidden (before the first chart): read again next time.
    this._heightPx ??= this.plotNode.clientHeight || null;
    this.markDrawn();
    return trafficFigure(shape, theme, this.trans, this._heightPx ?? TRAFFIC_MIN_HEIGHT_PX);
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    // The figure's arrangement depends on the height too: read it anew with the width.
    this._heightPx = null;
    super.onResize(msg);
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

  /** The plot's height, px, as last read (null: to be read). */
  private _heightPx: number | null = null;
}
