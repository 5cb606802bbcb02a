/**
 * The gradient traffic view: bytes exchanged through the store per round
 * and their throughput; a plain message (no Plotly loaded) until a run
 * exchanges anything.
 */
import type { TelemetryState } from '../model/state';
import { ChartView } from './chart-view';
import type { IFigureTheme } from './figure-theme';
import { formatBytes, TRAFFIC_EMPTY_TEXT, trafficShape } from './shape';
import type { IFigure } from './timeline-figure';
import { trafficFigure } from './traffic-figure';

/** The gradient traffic of the telemetry model. */
export class TrafficView extends ChartView {
  constructor(options: ChartView.IOptions) {
    super(options);
    this.addClass('jp-serverless-Traffic');
    this.messageNode.classList.add('jp-serverless-Traffic-empty');
    this.title.label = this.trans.__('Gradient traffic');
    this.title.caption = this.trans.__('Bytes the workers exchanged through the store, per round');
  }

  protected render(state: TelemetryState, theme: IFigureTheme): IFigure | null {
    const shape = trafficShape(state);
    if (shape.empty) {
      this.summaryNode.textContent = '';
      this.setMessage(TRAFFIC_EMPTY_TEXT);
      return null;
    }
    const { totals } = shape;
    this.summaryNode.textContent = [
      this.trans.__('%1 rounds', totals.rounds),
      this.trans.__('up %1', formatBytes(totals.bytesUp)),
      this.trans.__('down %1', formatBytes(totals.bytesDown)),
      shape.byStore.map((s) => s.label).join(', '),
    ].join(' · ');
    this.setMessage('');
    return trafficFigure(shape, theme, this.trans);
  }

  /** Exchange rounds come as events: no need to redraw while nothing arrives. */
  protected override isLive(): boolean {
    return false;
  }
}
