/**
 * The base of the panel's views: a widget that listens to the telemetry
 * model and redraws only while visible, at most once per animation frame
 * (Lumino conflates update requests and processes them in the next frame).
 * A change while hidden only marks the view dirty; showing or resizing it
 * draws what it missed. Plotly is loaded the first time a chart is drawn.
 *
 * The theme's colors are read (getComputedStyle) on the first draw and
 * again only after a theme change or when the view is shown: reading them
 * on every draw forced a style recalculation of the whole page per view
 * (the views before it in the same frame had just changed the DOM).
 *
 * Each completed draw is recorded on the Performance timeline as a measure
 * named {@link ChartView.DRAW_MEASURE_PREFIX} + the view's name (e.g.
 * `jupyter-serverless:draw:Timeline`), so DevTools' Performance panel and
 * `PerformanceObserver`s (bench/panel) see every redraw: what it spans is
 * told at {@link ChartView.DRAW_MEASURE_PREFIX}, how the timeline is kept
 * bounded at `Private.recordDraw`.
 */
import type { Message } from '@lumino/messaging';
import type { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import type { Data } from 'plotly.js';

import type { TelemetryState } from '../model/state';
import type { ITelemetryModel } from '../tokens';
import { IFigureTheme, LegendItem, resolveTheme } from './figure-theme';
import { recordDrawMeasure, viewMeasureName } from './draw-measures';
import { IPlotly, loadPlotly, PLOT_CONFIG, PlotlyLoader } from './plotly-loader';
import { ITrans, NO_TRANS } from './shape';
import type { IFigure } from './timeline-figure';

/** A view of the telemetry drawn with Plotly, with a text line above and an optional part below. */
export abstract class ChartView extends Widget {
  constructor(options: ChartView.IOptions) {
    super();
    this.model = options.model;
    this.trans = options.trans ?? NO_TRANS;
    this._loadPlotly = options.loadPlotly ?? loadPlotly;
    this._tickMs = options.tickMs ?? ChartView.TICK_MS;
    this.addClass('jp-serverless-View');
    this.summaryNode = Private.div('jp-serverless-View-summary');
    this.messageNode = Private.div('jp-serverless-View-message');
    this.legendNode = Private.div('jp-serverless-View-legend');
    this.plotNode = Private.div('jp-serverless-View-plot');
    this.node.append(this.summaryNode, this.messageNode, this.legendNode, this.plotNode);
    this.model.changed.connect(this._onChanged, this);
    options.themeChanged?.connect(this._onThemeChanged, this);
  }

  /** The telemetry drawn. */
  readonly model: ITelemetryModel;
  /** Whether a change waits to be drawn. */
  get isDirty(): boolean {
    return this._dirty;
  }
  /** Draws done (DOM and, when there is a figure, Plotly). */
  get draws(): number {
    return this._draws;
  }
  /** Settles when the last `Plotly.react` started has finished. */
  get plotted(): Promise<void> {
    return this._plotted;
  }

  /** Marks the view dirty; it draws in the next animation frame if it is visible. */
  invalidate(): void {
    this._dirty = true;
    this._schedule();
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._clearTick();
    if (this._plotly && this._hasPlot) {
      this._plotly.purge(this.plotNode);
    }
    super.dispose();
  }

  /**
   * Updates the DOM parts from `state` and returns the figure to plot, or
   * null for none (the plot is then hidden and Plotly not loaded).
   */
  protected abstract render(state: TelemetryState, theme: IFigureTheme, now: number): IFigure | null;

  /**
   * Called once, when the first chart has been drawn: Plotly's events
   * (`plotly_relayout`, ...) can be listened to on `plot` from then.
   */
  protected onPlotCreated(_plot: HTMLElement): void {
    // Views that listen to Plotly's events override this.
  }

  /** Whether running bars should grow with time (redraw every second while visible). */
  protected isLive(state: TelemetryState): boolean {
    for (const run of state.runs.values()) {
      if (run.state === 'running') {
        return true;
      }
    }
    return false;
  }

  /** Shows `text` instead of the plot (empty string: hides the message). */
  protected setMessage(text: string): void {
    this.messageNode.textContent = text;
    this.messageNode.hidden = text === '';
  }

  protected override onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._schedule();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // Font size overrides may have changed while hidden: read the theme again.
    this._theme = null;
    this._schedule();
  }

  protected override onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    if (this._tick !== null) {
      // Running bars grow while hidden: draw them anew when shown.
      this._clearTick();
      this._dirty = true;
    }
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._resizePending = this._hasPlot;
    this._schedule();
  }

  protected override onUpdateRequest(msg: Message): void {
    super.onUpdateRequest(msg);
    this._draw();
  }

  protected readonly trans: ITrans;
  protected readonly summaryNode: HTMLDivElement;
  protected readonly messageNode: HTMLDivElement;
  protected readonly legendNode: HTMLDivElement;
  protected readonly plotNode: HTMLDivElement;

  private _onChanged(): void {
    this.invalidate();
  }

  private _onThemeChanged(): void {
    // The next draw reads the new theme's colors.
    this._theme = null;
    this.invalidate();
  }

  /** Asks for a draw in the next frame when visible and something is to be drawn. */
  private _schedule(): void {
    if (!this.isDisposed && this.isVisible && (this._dirty || this._resizePending)) {
      this.update();
    }
  }

  private _draw(): void {
    if (this.isDisposed || !this.isVisible) {
      return;
    }
    if (!this._dirty) {
      if (this._resizePending && this._plotly && this._hasPlot) {
        this._resizePending = false;
        this._plotted = Private.settle(this._plotly.Plots.resize(this.plotNode));
      }
      return;
    }
    this._dirty = false;
    this._resizePending = false;
    this._clearTick();
    // From here: reading the state (which folds the events received since the last draw) included.
    const started = performance.now();
    const state = this.model.state;
    this._theme ??= resolveTheme(this.node);
    const figure = this.render(state, this._theme, Date.now());
    const draw = ++this._draws;
    if (this.isLive(state)) {
      this._tick = setTimeout(() => {
        this._tick = null;
        this.invalidate();
      }, this._tickMs);
    }
    this.plotNode.hidden = this.legendNode.hidden = !figure;
    if (!figure) {
      this._recordDraw(started, performance.now(), null, draw);
      return;
    }
    Private.renderLegend(this.legendNode, figure.legend);
    if (!this._plotly) {
      // Not a completed draw (not recorded): it is done again once Plotly is loaded.
      this._dirty = true;
      this._load();
      return;
    }
    this._hasPlot = true;
    const rendered = performance.now();
    const reacting = this._plotly.react(this.plotNode, figure.data as Data[], figure.layout, PLOT_CONFIG);
    const returned = performance.now();
    this._plotted = Private.settle(reacting, (reason) =>
      this.setMessage(this.trans.__('The chart could not be drawn: %1', String(reason))),
    ).then(() => {
      this._recordDraw(started, rendered, returned, draw);
      if (!this._plotCreated && !this.isDisposed) {
        this._plotCreated = true;
        this.onPlotCreated(this.plotNode);
      }
    });
  }

  /**
   * Records a completed draw (see {@link ChartView.DRAW_MEASURE_PREFIX}):
   * `rendered` is when `Plotly.react` was called, `returned` when it
   * returned (null: no chart; the draw ended at `rendered`).
   */
  private _recordDraw(start: number, rendered: number, returned: number | null, draw: number): void {
    if (this.isDisposed || typeof performance.measure !== 'function') {
      return;
    }
    this._measureName ??= ChartView.DRAW_MEASURE_PREFIX + viewMeasureName(this.node);
    const detail: ChartView.IDrawDetail = {
      renderMs: rendered - start,
      plotted: returned !== null,
      settledMs: returned === null ? rendered - start : performance.now() - start,
      draw,
    };
    this._measures = recordDrawMeasure(this._measureName, this._measures, ChartView.MAX_DRAW_MEASURES, {
      start,
      end: returned ?? rendered,
      detail,
    });
  }

  private _load(): void {
    if (this._loading) {
      return;
    }
    this._loading = true;
    this._loadPlotly().then(
      (plotly) => {
        this._loading = false;
        this._plotly = plotly;
        this._schedule();
      },
      (reason: unknown) => {
        this._loading = false;
        this._dirty = false;
        this.setMessage(this.trans.__('Plotly could not be loaded: %1', String(reason)));
      },
    );
  }

  private _clearTick(): void {
    if (this._tick !== null) {
      clearTimeout(this._tick);
      this._tick = null;
    }
  }

  private _dirty = true;
  private _resizePending = false;
  private _tick: ReturnType<typeof setTimeout> | null = null;
  private _draws = 0;
  private _plotly: IPlotly | null = null;
  private _loading = false;
  private _hasPlot = false;
  private _plotCreated = false;
  private _plotted: Promise<void> = Promise.resolve();
  private readonly _loadPlotly: PlotlyLoader;
  private readonly _tickMs: number;
  private _theme: IFigureTheme | null = null;
  private _measureName: string | null = null;
  /** Draw measures of this view on the Performance timeline since the last clear. */
  private _measures = 0;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace ChartView {
  /** Options of a view. */
  export interface IOptions {
    /** The telemetry to draw. */
    model: ITelemetryModel;
    /** Translates the view's text. */
    trans?: ITrans;
    /** Emits when the JupyterLab theme changed (e.g. `IThemeManager.themeChanged`). */
    themeChanged?: ISignal<unknown, unknown>;
    /** Loads Plotly (default: a dynamic import of plotly.js-dist-min). */
    loadPlotly?: PlotlyLoader;
    /** How often a view with running invocations redraws, ms (default {@link TICK_MS}). */
    tickMs?: number;
  }

  /** How often running bars grow while nothing else changes, ms. */
  export const TICK_MS = 1000;

  /**
   * The start of the name of the Performance timeline measure of a draw; the
   * view's name follows (its CSS class without `jp-serverless-`, e.g.
   * `Timeline`, `Traffic`, `Cost`: class names do not survive minifying).
   * A measure spans a draw from reading the model's state (which folds the
   * events received since the last draw) through rendering to the return of
   * `Plotly.react`, which does its work synchronously; its promise settles
   * in a microtask, after the other views drawing in the same animation
   * frame have drawn: `detail.settledMs` (an {@link IDrawDetail}) is until
   * then. The browser's rendering of the frame (style, layout, paint, WebGL
   * rasterization: it can cost more than the draws) is in neither: the Long
   * Animation Frames API shows it, for all views of a frame.
   */
  export const DRAW_MEASURE_PREFIX = 'jupyter-serverless:draw:';

  /** The `detail` of a draw measure (times in ms from the draw's start). */
  export interface IDrawDetail {
    /** Reading the state and rendering (DOM parts and the figure), before `Plotly.react`. */
    renderMs: number;
    /** Whether it drew a chart (else only the DOM parts: the measure ends after rendering). */
    plotted: boolean;
    /** Until the `Plotly.react` promise settled (with the views drawn after it in the same frame). */
    settledMs: number;
    /** The view's {@link ChartView.draws} count of this draw. */
    draw: number;
  }

  /** The most draw measures of one view name kept on the Performance timeline. */
  export const MAX_DRAW_MEASURES = 200;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- private helpers, as in JupyterLab core (DESIGN.md)
namespace Private {
  export function div(className: string): HTMLDivElement {
    const node = document.createElement('div');
    node.className = className;
    return node;
  }

  /** Writes the legend's entries (colors as CSS variables: they follow the theme by themselves). */
  export function renderLegend(node: HTMLElement, items: readonly LegendItem[]): void {
    const key = items.map((i) => `${i.kind}:${i.colorVar}:${i.label}`).join('\n');
    if (node.dataset.key === key) {
      return;
    }
    node.dataset.key = key;
    node.replaceChildren(
      ...items.map((item) => {
        const entry = div('jp-serverless-View-legendItem');
        const swatch = document.createElement('span');
        swatch.className = `jp-serverless-View-swatch jp-mod-${item.kind}`;
        swatch.style.setProperty('--jp-serverless-swatch-color', `var(${item.colorVar})`);
        const label = document.createElement('span');
        label.textContent = item.label;
        entry.append(swatch, label);
        return entry;
      }),
    );
  }

  /** A promise that settles when `p` does and never rejects (`onError` sees the reason). */
  export function settle(p: Promise<unknown> | void, onError?: (reason: unknown) => void): Promise<void> {
    return Promise.resolve(p).then(
      () => undefined,
      (reason: unknown) => onError?.(reason),
    );
  }
}
