/**
 * Plotly figures in notebook outputs (`application/vnd.plotly.v1+json`,
 * e.g. the chart of `%%serverless --tune`), for a JupyterLab without
 * jupyterlab-plotly: a renderer that loads Plotly lazily (the panel's
 * loader, so one copy), draws with `Plotly.react` in the theme's colors,
 * follows its output area's width and the theme, and purges the plot when
 * disposed. Data that is not a figure shows as a line of error text.
 */
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { Message } from '@lumino/messaging';
import type { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { resolveTheme } from './figure-theme';
import { IPlotly, loadPlotly, PlotlyLoader } from './plotly-loader';
import { figureDraw, IPlotlyFigure, parseFigure, PLOTLY_MIME_TYPE } from './plotly-output-figure';
import { ITrans, NO_TRANS } from './shape';

/** A Plotly figure drawn in an output area. */
export class PlotlyOutput extends Widget implements IRenderMime.IRenderer {
  constructor(options: PlotlyOutput.IOptions) {
    super();
    this._mimeType = options.mimeType;
    this._loadPlotly = options.loadPlotly ?? loadPlotly;
    this._trans = options.trans ?? NO_TRANS;
    this.addClass('jp-serverless-PlotlyOutput');
    // As JupyterLab's own renderers mark their node (tests and styles select outputs by it).
    this.node.dataset['mimeType'] = this._mimeType;
    this._plotNode = Private.div('jp-serverless-PlotlyOutput-plot');
    this._errorNode = Private.div('jp-serverless-PlotlyOutput-error');
    this._errorNode.hidden = true;
    this.node.append(this._plotNode, this._errorNode);
    options.themeChanged?.connect(this._onThemeChanged, this);
    if (typeof ResizeObserver !== 'undefined') {
      // Lumino's resize messages miss width changes made by CSS (a side panel opening, the window).
      this._resizeObserver = new ResizeObserver(() => this._onResize());
      this._resizeObserver.observe(this.node);
    }
  }

  /** The node Plotly draws into (it becomes Plotly's `.js-plotly-plot`). */
  get plotNode(): HTMLElement {
    return this._plotNode;
  }

  /** The error shown instead of the plot; empty while there is none. */
  get errorText(): string {
    return this._errorNode.hidden ? '' : (this._errorNode.textContent ?? '');
  }

  /** Settles when the last draw started has finished (it never rejects). */
  get plotted(): Promise<void> {
    return this._plotted;
  }

  /**
   * Shows the model's figure; settles once it is drawn (or, while the
   * widget is not shown, once Plotly is loaded: it draws when shown). Never
   * rejects: what goes wrong is shown in the output.
   */
  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const parsed = parseFigure(model.data[this._mimeType], this._trans);
    if ('error' in parsed) {
      this._figure = null;
      this._showError(parsed.error);
      return;
    }
    this._figure = parsed.figure;
    this._trusted = model.trusted;
    this._dirty = true;
    if (!this._plotly) {
      try {
        this._plotly = await this._loadPlotly();
      } catch (reason) {
        this._showError(this._trans.__('Plotly could not be loaded: %1', Private.message(reason)));
        return;
      }
    }
    return this._drawIfShown();
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._resizeObserver?.disconnect();
    if (this._plotly && this._hasPlot) {
      this._plotly.purge(this._plotNode);
    }
    super.dispose();
  }

  protected override onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.update();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.update();
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    if (!this._resizeObserver) {
      this._onResize();
    }
  }

  protected override onUpdateRequest(msg: Message): void {
    super.onUpdateRequest(msg);
    void this._drawIfShown();
  }

  private _onThemeChanged(): void {
    // Drawn again with the new theme's colors, now or when next shown.
    this._dirty = true;
    this.update();
  }

  private _onResize(): void {
    const width = this.node.clientWidth;
    if (width === this._width) {
      return;
    }
    this._width = width;
    if (this._plotly && this._hasPlot && this.isVisible && !this._dirty) {
      const plotly = this._plotly;
      this._plotted = this._plotted.then(() => Private.settle(plotly.Plots.resize(this._plotNode)));
    }
  }

  /** Draws the current figure if something changed and the widget is shown. */
  private _drawIfShown(): Promise<void> {
    const plotly = this._plotly;
    if (this.isDisposed || !this._dirty || !plotly || !this._figure || !this.isVisible) {
      return this._plotted;
    }
    this._dirty = false;
    // One draw after the other: a draw asked for meanwhile uses the newest figure.
    this._plotted = this._plotted.then(() => this._react(plotly));
    return this._plotted;
  }

  private async _react(plotly: IPlotly): Promise<void> {
    const figure: IPlotlyFigure | null = this._figure;
    if (this.isDisposed || !figure) {
      return;
    }
    const { data, layout, config } = figureDraw(figure, resolveTheme(this.node), this._trusted);
    this._hideError();
    // Plotly sizes the plot to this width: only a later change needs a resize.
    this._width = this.node.clientWidth;
    this._hasPlot = true;
    try {
      await plotly.react(this._plotNode, data, layout, config);
    } catch (reason) {
      this._showError(this._trans.__('The Plotly figure could not be drawn: %1', Private.message(reason)));
    }
  }

  private _showError(text: string): void {
    this._errorNode.textContent = text;
    this._errorNode.hidden = false;
    this._plotNode.hidden = true;
    this.addClass('jp-mod-error');
  }

  private _hideError(): void {
    this._errorNode.textContent = '';
    this._errorNode.hidden = true;
    this._plotNode.hidden = false;
    this.removeClass('jp-mod-error');
  }

  private readonly _mimeType: string;
  private readonly _loadPlotly: PlotlyLoader;
  private readonly _trans: ITrans;
  private readonly _plotNode: HTMLDivElement;
  private readonly _errorNode: HTMLDivElement;
  private readonly _resizeObserver: ResizeObserver | null = null;
  private _plotly: IPlotly | null = null;
  private _figure: IPlotlyFigure | null = null;
  private _trusted = false;
  /** Whether the figure or the theme changed since the last draw. */
  private _dirty = false;
  private _hasPlot = false;
  private _width = -1;
  private _plotted: Promise<void> = Promise.resolve();
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace PlotlyOutput {
  /** Options of a Plotly output. */
  export interface IOptions {
    /** The MIME type whose data it draws (normally {@link PLOTLY_MIME_TYPE}). */
    mimeType: string;
    /** Loads Plotly (default: the panel's lazy import of plotly.js-dist-min). */
    loadPlotly?: PlotlyLoader;
    /** Emits when the JupyterLab theme changed (e.g. `IThemeManager.themeChanged`). */
    themeChanged?: ISignal<unknown, unknown>;
    /** Translates the error texts. */
    trans?: ITrans;
  }

  /** Options of {@link createFactory}. */
  export interface IFactoryOptions {
    /** Loads Plotly (default: the panel's lazy import of plotly.js-dist-min). */
    loadPlotly?: PlotlyLoader;
    /** Emits when the JupyterLab theme changed; every output drawn then follows it. */
    themeChanged?: ISignal<unknown, unknown>;
  }

  /**
   * Where Plotly outputs stand among the MIME types of a bundle (lower
   * first): before every renderer JupyterLab ships (the lowest, text/html,
   * is 50), so the chart is shown rather than the HTML and text fallbacks
   * the same bundle carries. It does not decide between this renderer and
   * jupyterlab-plotly: the registry keeps one factory per MIME type, the one
   * added last, whatever its rank (see {@link register}).
   */
  export const RANK = 40;

  /**
   * Adds the factory of Plotly outputs to `rendermime` at {@link RANK},
   * unless it already has a renderer of the MIME type; returns whether it
   * added it. An installed jupyterlab-plotly then wins whichever plugin
   * activates first: before this one, it is left in place; after, its
   * factory replaces this one (the registry keeps the one added last).
   */
  export function register(
    rendermime: Pick<IRenderMimeRegistry, 'mimeTypes' | 'addFactory'>,
    options: IFactoryOptions = {},
  ): boolean {
    const factory = createFactory(options);
    if (factory.mimeTypes.some((mimeType) => rendermime.mimeTypes.includes(mimeType))) {
      return false;
    }
    rendermime.addFactory(factory, RANK);
    return true;
  }

  /**
   * The rendermime factory of Plotly outputs. Safe: an untrusted output is
   * drawn too, as jupyterlab-plotly does, because what it can draw runs
   * nothing (see plotly-output-figure.ts for why, and for the part of an
   * untrusted figure's config that is left out).
   */
  export function createFactory(options: IFactoryOptions = {}): IRenderMime.IRendererFactory {
    return {
      safe: true,
      mimeTypes: [PLOTLY_MIME_TYPE],
      defaultRank: RANK,
      createRenderer: (rendererOptions: IRenderMime.IRendererOptions) =>
        new PlotlyOutput({
          mimeType: rendererOptions.mimeType,
          loadPlotly: options.loadPlotly,
          themeChanged: options.themeChanged,
          trans: rendererOptions.translator?.load('jupyterlab-serverless'),
        }),
    };
  }
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- private helpers, as in JupyterLab core (DESIGN.md)
namespace Private {
  export function div(className: string): HTMLDivElement {
    const node = document.createElement('div');
    node.className = className;
    return node;
  }

  /** A reason's message, for the error shown in the output. */
  export function message(reason: unknown): string {
    return reason instanceof Error ? reason.message : String(reason);
  }

  /** A promise that settles when `p` does and never rejects. */
  export function settle(p: Promise<unknown> | void): Promise<void> {
    return Promise.resolve(p).then(
      () => undefined,
      () => undefined,
    );
  }
}
