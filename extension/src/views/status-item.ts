/**
 * The status bar item: the current kernel's serverless cost, what runs now,
 * and a warning state once the total reaches the budget warning. Hidden for
 * kernels without serverless telemetry; a click opens the panel.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import type { ITelemetryModel } from '../tokens';
import { statusShape } from './shape';
import type { StatusShape } from './shape';

/** The serverless status bar item. */
export class ServerlessStatus extends Widget {
  constructor(options: ServerlessStatus.IOptions) {
    super({ node: document.createElement('button') });
    this._model = options.model;
    this.addClass('jp-serverless-StatusItem');
    const node = this.node as HTMLButtonElement;
    node.type = 'button';
    node.addEventListener('click', () => options.onClick?.());
    this._model.changed.connect(this.refresh, this);
    this.refresh();
  }

  /** Whether the status bar should show the item. */
  get isActive(): boolean {
    return this._shape?.visible ?? false;
  }

  /** Emits when {@link isActive} changed. */
  get activeStateChanged(): ISignal<this, void> {
    return this._activeStateChanged;
  }

  /** What the item shows now. */
  get shape(): StatusShape | null {
    return this._shape;
  }

  /** Shows the model as it is now. */
  refresh(): void {
    const shape = statusShape(this._model.state, {
      connection: this._model.connection,
      budgetWarningUsd: this._model.budgetWarningUsd,
    });
    const wasActive = this.isActive;
    this._shape = shape;
    this.node.textContent = shape.text;
    this.node.title = shape.title;
    this.toggleClass('jp-mod-warning', shape.warning);
    this.toggleClass('jp-mod-running', shape.running > 0);
    if (shape.visible !== wasActive) {
      this._activeStateChanged.emit();
    }
  }

  private readonly _model: ITelemetryModel;
  private _shape: StatusShape | null = null;
  private readonly _activeStateChanged = new Signal<this, void>(this);
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace ServerlessStatus {
  /** Options of the item. */
  export interface IOptions {
    model: ITelemetryModel;
    /** The item was clicked (e.g. open the panel). */
    onClick?: () => void;
  }
}
