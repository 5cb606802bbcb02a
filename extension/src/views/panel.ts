/**
 * The serverless side panel: a header with the connection state and the
 * cancel and export buttons, then three sections: the invocations timeline,
 * the gradient traffic and the cost. Each section draws only while it is
 * expanded and the panel is shown.
 */
import { nullTranslator } from '@jupyterlab/translation';
import type { ITranslator } from '@jupyterlab/translation';
import { SidePanel } from '@jupyterlab/ui-components';
import type { ISignal } from '@lumino/signaling';
import { AccordionPanel, Panel, Widget } from '@lumino/widgets';

import type { ITelemetryModel } from '../tokens';
import type { ChartView } from './chart-view';
import { CostView } from './cost-view';
import { downloadTelemetry } from './export';
import { serverlessIcon } from './icon';
import { PanelHeader } from './panel-header';
import type { PlotlyLoader } from './plotly-loader';
import type { ITrans } from './shape';
import { TimelineView } from './timeline-view';
import { TrafficView } from './traffic-view';

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
    this.cost = new CostView(viewOptions);
    for (const view of this.views) {
      this.addWidget(view);
    }
    // The traffic section is a line of text until a run exchanges gradients.
    (this.content as AccordionPanel).setRelativeSizes([...ServerlessPanel.SECTION_SIZES]);
  }

  /** The telemetry shown. */
  readonly model: ITelemetryModel;
  /** The connection state line and its buttons. */
  readonly headerLine: PanelHeader;
  readonly timeline: TimelineView;
  readonly traffic: TrafficView;
  readonly cost: CostView;

  /** The three sections, in order. */
  get views(): ChartView[] {
    return [this.timeline, this.traffic, this.cost];
  }
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace ServerlessPanel {
  /** The panel's widget id (also its name in the layout restorer). */
  export const ID = 'jupyter-serverless-panel';

  /** The initial shares of the height of the invocations, traffic and cost sections. */
  export const SECTION_SIZES: readonly number[] = [0.44, 0.16, 0.4];

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
