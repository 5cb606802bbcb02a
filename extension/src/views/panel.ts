/**
 * The serverless side panel: a header with the connection state and the
 * cancel and export buttons, then four sections: the invocations timeline,
 * the gradient traffic, the training and the cost. Each section draws only
 * while it is expanded and the panel is shown. The traffic and training
 * sections start small (a line of text) and grow when a run first exchanges
 * gradients and when a train() call first ends an epoch, unless the user
 * has arranged the sections.
 */
import { nullTranslator } from '@jupyterlab/translation';
import type { ITranslator } from '@jupyterlab/translation';
import { SidePanel } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import type { ISignal } from '@lumino/signaling';
import { AccordionPanel, Panel, Widget } from '@lumino/widgets';

import type { ITelemetryModel } from '../tokens';
import type { ChartView } from './chart-view';
import { CostView } from './cost-view';
import { downloadTelemetry } from './export';
import { serverlessIcon } from './icon';
import { PanelHeader } from './panel-header';
import type { PlotlyLoader } from './plotly-loader';
import { SECTION_SIZES, sectionSizes } from './section-sizes';
import type { ITrans } from './shape';
import { TimelineView } from './timeline-view';
import { TrafficView } from './traffic-view';
import { TrainingView } from './training-view';

/** The side panel of jupyter-serverless. */
export class ServerlessPanel extends SidePanel {
  constructor(options: ServerlessPanel.IOptions) {
    const translator = options.translator ?? nullTranslator;
    super({ translator, header: new Panel() });
    const trans: ITrans = translator.load('jupyterlab-serverless');
    this.model = options.model;
    this.id = ServerlessPanel.ID;
    this.addClass('jp-serverless-Panel');
    this.title.icon = serverlessIcon;
    this.title.caption = trans.__('Serverless');

    this.header.addWidget(Private.heading(trans.__('Serverless')));
    this.headerLine = new PanelHeader({
      model: this.model,
      trans,
      onCancel: (runId) => this.model.cancel(runId),
      onExport: () => downloadTelemetry(this.model),
    });
    this.header.addWidget(this.headerLine);

    const viewOptions: ChartView.IOptions = {
      model: this.model,
      trans,
      themeChanged: options.themeChanged,
      loadPlotly: options.loadPlotly,
    };
    this.timeline = new TimelineView(viewOptions);
    this.traffic = new TrafficView(viewOptions);
    this.training = new TrainingView(viewOptions);
    this.cost = new CostView(viewOptions);
    for (const view of this.views) {
      this.addWidget(view);
    }
    // The traffic and training sections are a line of text until there is traffic or an epoch;
    // then they take more room.
    this.sections.setRelativeSizes([...this._sizes]);
    this.traffic.trafficShown.connect(this._onTrafficShown, this);
    this.training.trainingShown.connect(this._onTrainingShown, this);
    // A drag of a handle between sections, or a section collapsed or expanded from its title: the
    // user's arrangement, kept from then on. (Lumino stops these events' propagation at this node.)
    this.sections.node.addEventListener('pointerdown', this._onArrange);
    this.sections.node.addEventListener('keydown', this._onArrange);
  }

  /** The telemetry shown. */
  readonly model: ITelemetryModel;
  /** The connection state line and its buttons. */
  readonly headerLine: PanelHeader;
  readonly timeline: TimelineView;
  readonly traffic: TrafficView;
  readonly training: TrainingView;
  readonly cost: CostView;

  /** The four sections, in order. */
  get views(): ChartView[] {
    return [this.timeline, this.traffic, this.training, this.cost];
  }

  /** The accordion of the sections (the user resizes them with its handles, collapses them with their titles). */
  get sections(): AccordionPanel {
    return this.content as AccordionPanel;
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._fitSections();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._fitSections();
  }

  /** Gives the traffic section room (see {@link sectionSizes}), unless the user arranged the sections. */
  private _onTrafficShown(): void {
    this._trafficShown = true;
    this._grow();
  }

  /** Gives the training section room (see {@link sectionSizes}), unless the user arranged the sections. */
  private _onTrainingShown(): void {
    this._trainingShown = true;
    this._grow();
  }

  private _grow(): void {
    this._sizes = sectionSizes({ traffic: this._trafficShown, training: this._trainingShown });
    this._fittedHeight = 0;
    this._fitSections();
  }

  /**
   * Sets the sections' shares, unless the user arranged them, whenever the
   * sections' height changed: Lumino turns shares into pixels at its next
   * layout and shares out later growth evenly, so shares laid out while the
   * panel had no height, or only part of it (restored at a reload, before
   * the shell's layout settled), would leave the sections about equal.
   */
  private _fitSections(): void {
    if (this._arranged || this.isDisposed || !this.isVisible) {
      return;
    }
    const height = this.sections.node.offsetHeight;
    if (height > 0 && height !== this._fittedHeight) {
      this._fittedHeight = height;
      this.sections.setRelativeSizes([...this._sizes]);
    }
  }

  private readonly _onArrange = (event: Event): void => {
    const target = event.target instanceof Element ? event.target : null;
    const handle = target?.closest('.lm-SplitPanel-handle, .lm-AccordionPanel-title');
    if (handle && handle.parentElement === this.sections.node) {
      this._arranged = true;
    }
  };

  private _sizes: readonly number[] = SECTION_SIZES;
  private _trafficShown = false;
  private _trainingShown = false;
  /** The sections' height when their shares were last set (0: to be set). */
  private _fittedHeight = 0;
  private _arranged = false;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace ServerlessPanel {
  /** The panel's widget id (also its name in the layout restorer). */
  export const ID = 'jupyter-serverless-panel';

  /** Options of the panel. */
  export interface IOptions {
    model: ITelemetryModel;
    translator?: ITranslator;
    /** Emits when the JupyterLab theme changed (`IThemeManager.themeChanged`): the charts redraw in its colors. */
    themeChanged?: ISignal<unknown, unknown>;
    /** Loads Plotly (default: a dynamic import when a chart is first shown). */
    loadPlotly?: PlotlyLoader;
  }
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- private helpers, as in JupyterLab core (DESIGN.md)
namespace Private {
  export function heading(text: string): Widget {
    const node = document.createElement('h2');
    node.className = 'jp-serverless-Panel-title';
    node.textContent = text;
    return new Widget({ node });
  }
}
