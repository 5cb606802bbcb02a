/**
 * The telemetry model: owns the comm on {@link TELEMETRY_TARGET} of one
 * kernel, replays the kernel's history into a {@link TelemetryState}, folds
 * live events into it, and tells views through a throttled signal.
 *
 * Kernel protocol (see the kernel's telemetry hub): a comm receives live
 * events from the moment it opens; `{type: 'replay'}` makes the kernel flush
 * what it queued and send the whole kept history. The model replaces its
 * state with a replay, then folds only events above the replay's last `seq`.
 */
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import {
  parseTelemetryMessage,
  TELEMETRY_PROTOCOL_VERSION,
  TELEMETRY_TARGET,
  TelemetryEvent,
  TelemetryRequest,
} from '../telemetry';
import type { ITelemetryModel } from '../tokens';
import { foldEvents, replayState } from './fold';
import { pruneState } from './prune';
import { emptyState, TelemetryState } from './state';

/** The telemetry of one kernel at a time; see {@link ITelemetryModel}. */
export class TelemetryModel implements ITelemetryModel {
  constructor(options: TelemetryModel.IOptions = {}) {
    this._throttleMs = checkThrottle(options.throttleMs ?? TelemetryModel.DEFAULT_THROTTLE_MS);
    this._maxEvents = options.maxEvents ?? TelemetryModel.DEFAULT_MAX_EVENTS;
  }

  get state(): TelemetryState {
    if (this._unfolded.length > 0) {
      this._state = pruneState(foldEvents(this._state, this._unfolded));
      this._unfolded = [];
    }
    return this._state;
  }

  get changed(): ISignal<this, TelemetryState> {
    return this._changed;
  }

  get disposed(): ISignal<this, void> {
    return this._disposed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get kernel(): Kernel.IKernelConnection | null {
    return this._kernel;
  }

  get connection(): ITelemetryModel.Connection {
    return this._connection;
  }

  get throttleMs(): number {
    return this._throttleMs;
  }

  set throttleMs(value: number) {
    this._throttleMs = checkThrottle(value);
  }

  get budgetWarningUsd(): number | null {
    return this._budgetWarningUsd;
  }

  set budgetWarningUsd(value: number | null) {
    const budget = value !== null && Number.isFinite(value) && value > 0 ? value : null;
    if (budget !== this._budgetWarningUsd) {
      this._budgetWarningUsd = budget;
      this._notify();
    }
  }

  connect(kernel: Kernel.IKernelConnection | null): void {
    if (this._isDisposed || kernel === this._kernel) {
      return;
    }
    this._detach();
    this._kernel = kernel;
    this._reset();
    if (kernel && !kernel.isDisposed) {
      kernel.statusChanged.connect(this._onStatus, this);
      kernel.connectionStatusChanged.connect(this._onConnectionStatus, this);
      kernel.disposed.connect(this._onKernelDisposed, this);
      if (kernel.status === 'restarting' || kernel.status === 'autorestarting') {
        this._restartPending = true;
        this._setConnection('restarting');
      } else if (kernel.status === 'dead') {
        this._setConnection('closed');
      } else {
        this._open();
      }
    } else {
      this._kernel = null;
      this._setConnection('none');
    }
    this._notify();
  }

  requestReplay(): boolean {
    return this._send({ type: 'replay' });
  }

  cancel(runId?: string): boolean {
    return this._send(runId === undefined ? { type: 'cancel' } : { type: 'cancel', runId });
  }

  exportJson(): string {
    const kernel = this._kernel;
    return JSON.stringify(
      {
        format: 'jupyter-serverless-telemetry',
        version: TELEMETRY_PROTOCOL_VERSION,
        exportedAt: new Date().toISOString(),
        kernel: kernel ? { id: kernel.id, name: kernel.name } : null,
        truncated: this.state.truncated + this._dropped,
        events: this._events,
      },
      null,
      1,
    );
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._detach();
    this._kernel = null;
    this._unfolded = [];
    if (this._timer !== undefined) {
      clearTimeout(this._timer);
      this._timer = undefined;
    }
    this._isDisposed = true;
    this._disposed.emit();
    Signal.clearData(this);
  }

  /** Opens a comm on the kernel and asks for the replay. */
  private _open(): void {
    const kernel = this._kernel;
    this._closeComm();
    this._lostConnection = false;
    if (!kernel || kernel.isDisposed) {
      return;
    }
    let comm: Kernel.IComm;
    try {
      comm = kernel.createComm(TELEMETRY_TARGET);
      comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => this._onMessage(comm, msg.content.data);
      comm.onClose = () => this._onCommClose(comm);
      this._comm = comm;
      comm.open({});
      comm.send({ type: 'replay' } satisfies TelemetryRequest);
    } catch {
      // The kernel went away between the check and the open.
      this._closeComm();
      this._setConnection('closed');
      return;
    }
    this._setConnection('opening');
  }

  private _onMessage(comm: Kernel.IComm, data: unknown): void {
    if (comm !== this._comm || this._isDisposed) {
      return;
    }
    const message = parseTelemetryMessage(data);
    if (!message) {
      return;
    }
    if (message.type === 'replay') {
      this._state = pruneState(replayState(message.events, message.truncated));
      this._unfolded = [];
      this._events = message.events.slice();
      this._dropped = 0;
      this._bound();
      this._setConnection('open');
      this._notify();
      return;
    }
    // Folded when the state is next read (at most once per throttle window):
    // the cost of a fold then follows the redraws, not the kernel's batches.
    const unfolded = this._unfolded;
    const last = unfolded.length > 0 ? unfolded[unfolded.length - 1].seq : this._state.lastSeq;
    const fresh = message.events.filter((event) => event.seq > last);
    if (fresh.length === 0) {
      return;
    }
    unfolded.push(...fresh);
    this._events.push(...fresh);
    this._bound();
    this._notify();
  }

  private _onCommClose(comm: Kernel.IComm): void {
    if (comm !== this._comm) {
      return;
    }
    this._comm = null;
    this._setConnection('closed');
    this._notify();
  }

  private _onStatus(kernel: Kernel.IKernelConnection, status: KernelMessage.Status): void {
    if (kernel !== this._kernel) {
      return;
    }
    if (status === 'restarting' || status === 'autorestarting') {
      // A new kernel process: a new history, from seq 1.
      this._closeComm();
      this._reset();
      this._restartPending = true;
      this._setConnection('restarting');
      this._notify();
    } else if (status === 'dead') {
      this._closeComm();
      this._restartPending = false;
      this._setConnection('closed');
      this._notify();
    } else if (this._restartPending && (status === 'idle' || status === 'busy')) {
      this._restartPending = false;
      this._open();
      this._notify();
    }
  }

  private _onConnectionStatus(kernel: Kernel.IKernelConnection, status: Kernel.ConnectionStatus): void {
    if (kernel !== this._kernel) {
      return;
    }
    if (status !== 'connected') {
      this._lostConnection = true;
      return;
    }
    if (!this._lostConnection || this._restartPending) {
      return;
    }
    // Back after a lost connection: events sent meanwhile may be lost, so replay.
    this._lostConnection = false;
    if (this._comm && !this._comm.isDisposed) {
      this.requestReplay();
    } else {
      this._open();
    }
    this._notify();
  }

  private _onKernelDisposed(kernel: Kernel.IKernelConnection): void {
    if (kernel === this._kernel) {
      this._detach();
      this._kernel = null;
      this._setConnection('none');
      this._notify();
    }
  }

  /** Stops listening to the kernel and closes the comm. */
  private _detach(): void {
    const kernel = this._kernel;
    if (kernel) {
      kernel.statusChanged.disconnect(this._onStatus, this);
      kernel.connectionStatusChanged.disconnect(this._onConnectionStatus, this);
      kernel.disposed.disconnect(this._onKernelDisposed, this);
    }
    this._closeComm();
    this._restartPending = false;
    this._lostConnection = false;
  }

  private _closeComm(): void {
    const comm = this._comm;
    this._comm = null;
    if (!comm || comm.isDisposed) {
      return;
    }
    comm.onMsg = () => undefined;
    comm.onClose = () => undefined;
    try {
      const kernel = this._kernel;
      if (kernel && !kernel.isDisposed && kernel.status !== 'dead' && !isRestarting(kernel.status)) {
        comm.close();
      }
    } catch {
      // The kernel can no longer take messages; disposing below is enough.
    }
    comm.dispose();
  }

  private _send(request: TelemetryRequest): boolean {
    const comm = this._comm;
    if (!comm || comm.isDisposed) {
      return false;
    }
    try {
      comm.send(request);
      return true;
    } catch {
      return false;
    }
  }

  private _reset(): void {
    this._state = emptyState();
    this._unfolded = [];
    this._events = [];
    this._dropped = 0;
  }

  /** Keeps at most `maxEvents` events for the export (the kernel keeps the same bound). */
  private _bound(): void {
    const over = this._events.length - this._maxEvents;
    if (over > 0) {
      this._events.splice(0, over);
      this._dropped += over;
    }
  }

  private _setConnection(connection: ITelemetryModel.Connection): void {
    this._connection = connection;
  }

  /** Emits `changed` now, or at the end of the current throttle window. */
  private _notify(): void {
    if (this._isDisposed) {
      return;
    }
    if (this._timer !== undefined) {
      this._pending = true;
      return;
    }
    this._changed.emit(this.state);
    if (this._throttleMs > 0) {
      this._timer = setTimeout(this._onTimer, this._throttleMs);
    }
  }

  private readonly _onTimer = (): void => {
    this._timer = undefined;
    if (this._pending) {
      this._pending = false;
      this._notify();
    }
  };

  private _state: TelemetryState = emptyState();
  /** Live events received and not yet folded into `_state`. */
  private _unfolded: TelemetryEvent[] = [];
  private _events: TelemetryEvent[] = [];
  private _dropped = 0;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _comm: Kernel.IComm | null = null;
  private _connection: ITelemetryModel.Connection = 'none';
  private _restartPending = false;
  private _lostConnection = false;
  private _throttleMs: number;
  private readonly _maxEvents: number;
  private _budgetWarningUsd: number | null = null;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _pending = false;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, TelemetryState>(this);
  private readonly _disposed = new Signal<this, void>(this);
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace TelemetryModel {
  /** Options of a {@link TelemetryModel}. */
  export interface IOptions {
    /** The least time between two `changed` signals, ms. Default {@link DEFAULT_THROTTLE_MS}. */
    throttleMs?: number;
    /** Events kept for the export. Default {@link DEFAULT_MAX_EVENTS} (the kernel's bound: its three lanes together). */
    maxEvents?: number;
  }

  /** Default of {@link IOptions.throttleMs}. */
  export const DEFAULT_THROTTLE_MS = 100;
  /** Default of {@link IOptions.maxEvents}. */
  export const DEFAULT_MAX_EVENTS = 80_000;
}

function isRestarting(status: KernelMessage.Status): boolean {
  return status === 'restarting' || status === 'autorestarting';
}

function checkThrottle(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`throttleMs must be a number of ms >= 0, got ${ms}`);
  }
  return ms;
}
