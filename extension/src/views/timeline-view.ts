/**
 * The invocations view: a timeline with a row per execution environment, a
 * bar per attempt (and per cold start's INIT) colored by state, grouped by
 * cell run.
 */
import type { Widget } from '@lumino/widgets';

import type { TelemetryState } from '../model/state';
import { ChartView } from './chart-view';
import { hoverChars, IFigureTheme, localShiftMs } from './figure-theme';
import { timelineShape } from './shape';
import { HoverCache, IFigure, timelineFigure, zoomFromRelayout } from './timeline-figure';

/** The invocations timeline of the telemetry model. */
export class TimelineView extends ChartView {
  constructor(options: ChartView.IOptions) {
    super(options);
    this.addClass('jp-serverless-Timeline');
    this.title.label = this.trans.__('Invocations');
    this.title.caption = this.trans.__('Invocations of the serverless cell runs, per execution environment');
  }

  protected render(state: TelemetryState, theme: IFigureTheme, now: number): IFigure | null {
    const shape = timelineShape(state, { now, trans: this.trans });
    this.summaryNode.textContent = Private.summary(state, this.trans.__.bind(this.trans));
    if (shape.bars === 0 && shape.bands.length === 0) {
      this.setMessage(
        this.trans.__('No serverless invocations yet. Run a cell that starts with %1.', '%%serverless'),
      );
      return null;
    }
    this.setMessage('');
    this._widthPx ??= this.node.clientWidth;
    this._shiftMs = localShiftMs(shape.range ? shape.range[0] : now);
    return timelineFigure(shape, theme, {
      shiftMs: this._shiftMs,
      hoverChars: hoverChars(this._widthPx, theme.fontSize),
      // Not laid out (0): the shaping's default width.
      widthPx: this._widthPx > 0 ? Math.max(1, this._widthPx - TimelineView.PLOT_CHROME_PX) : undefined,
      hoverCache: this._hoverCache,
      visible: this._visible ?? undefined,
    });
  }

  /** Zooming or panning the time axis draws anew: merged bars are split at the range shown. */
  protected override onPlotCreated(plot: HTMLElement): void {
    const events = plot as HTMLElement & {
      on?(event: 'plotly_relayout', listener: (update: Record<string, unknown>) => void): void;
    };
    events.on?.('plotly_relayout', (update) => {
      const zoom = zoomFromRelayout(update, this._shiftMs);
      if (zoom !== undefined) {
        this._visible = zoom;
        this.invalidate();
      }
    });
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    // The width is read again at the next draw (once per resize, not per draw: it forces a layout).
    this._widthPx = null;
    if (!this.isDirty) {
      // The bars merged depend on the width: draw anew, not only resize.
      this.invalidate();
    }
    super.onResize(msg);
  }

  private _widthPx: number | null = null;
  private readonly _hoverCache = new HoverCache();
  /** The shift of the last figure drawn (see `localShiftMs`). */
  private _shiftMs = 0;
  /** The time range zoomed to, epoch ms; null: the whole range. */
  private _visible: [number, number] | null = null;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace TimelineView {
  /** The view's width not drawn on (margins, row names), px: the rest is the plot's. */
  export const PLOT_CHROME_PX = 80;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- private helpers, as in JupyterLab core (DESIGN.md)
namespace Private {
  /** e.g. `50 invocations in 1 run · 2 environments · 2 cold starts · 3 running`. */
  export function summary(state: TelemetryState, __: (msgid: string, ...args: unknown[]) => string): string {
    if (state.runs.size === 0) {
      return '';
    }
    let cold = 0;
    let running = 0;
    let queued = 0;
    let failed = 0;
    for (const run of state.runs.values()) {
      cold += run.coldStarts;
      failed += run.counts.failed;
      if (run.state === 'running') {
        running += run.counts.running;
        queued += run.counts.queued;
      }
    }
    let invocations = state.invocations.size;
    for (const run of state.runs.values()) {
      invocations += run.prunedInvocations;
    }
    const runs = state.runs.size;
    const environments = state.environments.size;
    const parts = [
      invocations === 1 ? __('1 invocation') : __('%1 invocations', invocations),
      runs === 1 ? __('1 run') : __('%1 runs', runs),
      environments === 1 ? __('1 environment') : __('%1 environments', environments),
      cold === 1 ? __('1 cold start') : __('%1 cold starts', cold),
    ];
    if (running > 0 || queued > 0) {
      parts.push(__('%1 running, %2 queued', running, queued));
    }
    if (failed > 0) {
      parts.push(__('%1 failed', failed));
    }
    return parts.join(' · ');
  }
}
