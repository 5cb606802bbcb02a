/**
 * For the tests of the panel's widgets (jsdom): a model whose state the test
 * sets, a Plotly that records its calls, and a way to let the views draw.
 */
import { MessageLoop } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { emptyState, TelemetryState } from '../../extension/src/model/state';
import type { ITelemetryModel } from '../../extension/src/tokens';
import type { ChartView } from '../../extension/src/views/chart-view';
import type { IPlotly } from '../../extension/src/views/plotly-loader';

/** The model surface the views read, with a state the test sets. */
export class FakeModel {
  state: TelemetryState = emptyState();
  connection: ITelemetryModel.Connection = 'open';
  budgetWarningUsd: number | null = null;
  throttleMs = 0;
  kernel = null;
  isDisposed = false;
  readonly changed = new Signal<this, TelemetryState>(this);
  readonly disposed = new Signal<this, void>(this);
  readonly cancel = jest.fn((_runId?: string) => true);
  readonly exportJson = jest.fn(() => '{"events":[]}');
  readonly requestReplay = jest.fn(() => true);
  readonly connect = jest.fn();
  dispose(): void {
    this.isDisposed = true;
  }
  set(state: TelemetryState, connection: ITelemetryModel.Connection = this.connection): void {
    this.state = state;
    this.connection = connection;
    this.changed.emit(state);
  }
  asModel(): ITelemetryModel {
    return this as unknown as ITelemetryModel;
  }
}

export function fakePlotly() {
  const plotly = {
    react: jest.fn((_root: HTMLElement, _data: unknown[], _layout?: object, _config?: object) =>
      Promise.resolve(),
    ),
    purge: jest.fn(),
    Plots: { resize: jest.fn(() => Promise.resolve()) },
  };
  const load = jest.fn(() => Promise.resolve(plotly as unknown as IPlotly));
  return { plotly, load };
}

/** Lets promises settle and runs the pending animation-frame messages, a few times over. */
export async function settle(view?: ChartView): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    MessageLoop.flush();
  }
  await view?.plotted;
}

const attached: Widget[] = [];

/** Attaches a widget to the document for a test; {@link disposeAttached} disposes it after. */
export function attach<T extends Widget>(widget: T): T {
  Widget.attach(widget, document.body);
  attached.push(widget);
  return widget;
}

/** Disposes every widget {@link attach} attached (an `afterEach`). */
export function disposeAttached(): void {
  for (const w of attached.splice(0)) {
    w.dispose();
  }
}
