/**
 * The cost view: the kernel's cumulative cost split as the bill splits it
 * (stacked areas), the budget warning as a dashed line, and a table of what
 * each cell run cost.
 */
import type { Widget } from '@lumino/widgets';

import type { TelemetryState } from '../model/state';
import { ChartView } from './chart-view';
import { costFigure } from './cost-figure';
import { renderCostTable } from './cost-table';
import { IFigureTheme, localShiftMs } from './figure-theme';
import { costShape, formatUsd } from './shape';
import type { CostShape } from './shape';
import type { IFigure } from './timeline-figure';

/** The cost of the telemetry model's kernel. */
export class CostView extends ChartView {
  constructor(options: ChartView.IOptions) {
    super(options);
    this.addClass('jp-serverless-Cost');
    this.title.label = this.trans.__('Cost');
    this.title.caption = this.trans.__('What the serverless runs cost, as Lambda bills it');
    const wrapper = document.createElement('div');
    wrapper.className = 'jp-serverless-Cost-tableWrapper';
    this._table = document.createElement('table');
    this._table.className = 'jp-serverless-Cost-table';
    wrapper.appendChild(this._table);
    this.node.appendChild(wrapper);
    this._wrapper = wrapper;
  }

  protected render(state: TelemetryState, theme: IFigureTheme, now: number): IFigure | null {
    const live = this.isLive(state);
    // The width is read once per resize (reading it forces a layout), not per draw.
    this._widthPx ??= this.node.clientWidth;
    const shape = costShape(state, {
      budgetUsd: this.model.budgetWarningUsd,
      now: live ? now : undefined,
      columns: this._widthPx > 0 ? this._widthPx : undefined,
    });
    this.summaryNode.textContent = this._summary(shape);
    this.toggleClass('jp-mod-warning', shape.budget?.reached === true);
    this._wrapper.hidden = shape.rows.length === 0;
    if (shape.rows.length > 0) {
      renderCostTable(this._table, shape.rows, this.trans);
    }
    if (shape.empty) {
      this.setMessage(this.trans.__('Nothing billed yet.'));
      return null;
    }
    this.setMessage('');
    return costFigure(shape, theme, {
      shiftMs: localShiftMs(shape.time[0] ?? now),
      trans: this.trans,
    });
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    this._widthPx = null;
    super.onResize(msg);
  }

  private _summary(shape: CostShape): string {
    const t = shape.totals;
    if (shape.empty && shape.rows.length === 0) {
      return '';
    }
    const parts = [
      t.invocations === 1
        ? this.trans.__('Total %1 over 1 invocation', formatUsd(t.totalUsd))
        : this.trans.__('Total %1 over %2 invocations', formatUsd(t.totalUsd), t.invocations),
      this.trans.__(
        'compute %1, INIT %2, requests %3, storage %4',
        formatUsd(t.computeUsd),
        formatUsd(t.initUsd),
        formatUsd(t.requestUsd),
        formatUsd(t.storageUsd),
      ),
    ];
    if (shape.budget) {
      parts.push(
        shape.budget.reached
          ? this.trans.__('budget warning %1 reached', formatUsd(shape.budget.usd))
          : this.trans.__('budget warning %1', formatUsd(shape.budget.usd)),
      );
    }
    if (shape.truncated) {
      parts.push(this.trans.__('the oldest events were dropped'));
    }
    return parts.join(' · ');
  }

  private _widthPx: number | null = null;
  private readonly _table: HTMLTableElement;
  private readonly _wrapper: HTMLDivElement;
}
