/**
 * The panel's header line: where the telemetry comes from (the connection
 * state), a "Cancel running" and an "Export JSON" button.
 */
import { Widget } from '@lumino/widgets';

import type { ITelemetryModel } from '../tokens';
import { headerShape, runningRunId } from './header-shape';
import { ITrans, NO_TRANS } from './shape';

/** The header of the serverless panel. */
export class PanelHeader extends Widget {
  constructor(options: PanelHeader.IOptions) {
    super();
    this._model = options.model;
    this._trans = options.trans ?? NO_TRANS;
    this.addClass('jp-serverless-Panel-header');
    this._status = document.createElement('span');
    this._status.className = 'jp-serverless-Panel-status';
    this._status.setAttribute('role', 'status');
    this._cancel = Private.button(this._trans.__('Cancel running'), 'jp-serverless-Panel-cancel');
    this._cancel.title = this._trans.__('Cancel the running serverless cell run');
    this._export = Private.button(this._trans.__('Export JSON'), 'jp-serverless-Panel-export');
    this._export.title = this._trans.__('Download the telemetry events as JSON');
    // The run shown as running, so that a run started since is not the one cancelled.
    this._cancel.addEventListener('click', () => options.onCancel(runningRunId(this._model.state)));
    this._export.addEventListener('click', () => options.onExport());
    const buttons = document.createElement('span');
    buttons.className = 'jp-serverless-Panel-buttons';
    buttons.append(this._cancel, this._export);
    this.node.append(this._status, buttons);
    this._model.changed.connect(this.refresh, this);
    this.refresh();
  }

  /** Shows the model's connection and state as they are now. */
  refresh(): void {
    const shape = headerShape(this._model.state, this._model.connection, this._trans);
    this._status.textContent = shape.text;
    this._status.title = shape.title;
    this._status.dataset.connection = this._model.connection;
    this._cancel.disabled = !shape.canCancel;
    this._export.disabled = !shape.canExport;
  }

  private readonly _model: ITelemetryModel;
  private readonly _trans: ITrans;
  private readonly _status: HTMLSpanElement;
  private readonly _cancel: HTMLButtonElement;
  private readonly _export: HTMLButtonElement;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace PanelHeader {
  /** Options of the header. */
  export interface IOptions {
    model: ITelemetryModel;
    trans?: ITrans;
    /** "Cancel running" was clicked while `runId` was shown running. */
    onCancel: (runId: string | undefined) => void;
    /** "Export JSON" was clicked. */
    onExport: () => void;
  }
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- private helpers, as in JupyterLab core (DESIGN.md)
namespace Private {
  export function button(label: string, className: string): HTMLButtonElement {
    const node = document.createElement('button');
    node.type = 'button';
    node.className = `jp-Button jp-mod-styled jp-mod-small ${className}`;
    node.textContent = label;
    return node;
  }
}
