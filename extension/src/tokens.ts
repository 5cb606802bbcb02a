/**
 * The services jupyterlab-serverless provides to other plugins.
 */
import type { Kernel } from '@jupyterlab/services';
import { Token } from '@lumino/coreutils';
import type { IObservableDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';

import type { TelemetryState } from './model/state';

/**
 * The telemetry of the current notebook's kernel: it owns the comm on
 * `jupyter.serverless.telemetry`, replays the kernel's history, follows
 * restarts and reconnects, and folds the events into a {@link TelemetryState}
 * that views read when {@link ITelemetryModel.changed} fires.
 */
export interface ITelemetryModel extends IObservableDisposable {
  /** The folded telemetry; a new immutable snapshot after every change. */
  readonly state: TelemetryState;
  /**
   * Emitted when the state, the connection or the budget changed; at most
   * once per {@link throttleMs} during bursts (the first change at once, the
   * last one at the end of the burst).
   */
  readonly changed: ISignal<ITelemetryModel, TelemetryState>;
  /** The kernel it listens to, if any. */
  readonly kernel: Kernel.IKernelConnection | null;
  /** Where the comm is. */
  readonly connection: ITelemetryModel.Connection;
  /** The least time between two {@link changed} signals, ms (0: every change). */
  throttleMs: number;
  /** Warn when the kernel's total cost reaches this, USD; `null` for no warning. */
  budgetWarningUsd: number | null;
  /** Listens to `kernel` instead (null: to none); the state starts again from its replay. */
  connect(kernel: Kernel.IKernelConnection | null): void;
  /** Asks the kernel for its whole history again; false when no comm is open. */
  requestReplay(): boolean;
  /**
   * Asks the kernel to cancel a run (the running one when `runId` is
   * absent); false when no comm is open.
   */
  cancel(runId?: string): boolean;
  /** The events received (after the last replay) as a JSON document. */
  exportJson(): string;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's interface + namespace + Token convention (DESIGN.md)
export namespace ITelemetryModel {
  /**
   * Where the comm is: `none` without a kernel; `opening` until the replay
   * arrives; `open`; `restarting` while the kernel restarts; `closed` when the
   * kernel closed it (e.g. a kernel that has no telemetry) or died.
   */
  export type Connection = 'none' | 'opening' | 'open' | 'restarting' | 'closed';
}

/** The telemetry model of the current notebook's kernel. */
export const ITelemetryModel = new Token<ITelemetryModel>(
  'jupyterlab-serverless:ITelemetryModel',
  "The serverless telemetry (invocations, exchange rounds, cost) of the current notebook's kernel.",
);
