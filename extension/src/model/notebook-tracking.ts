/**
 * Follows the kernel of the current notebook: the tracker's current widget,
 * and the kernel of its session context as it changes (a kernel switch, a
 * new session). Typed against the least of JupyterLab it uses, so that
 * `INotebookTracker` fits and tests pass plain fakes.
 */
import type { Kernel } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';

/** What is read of a notebook's `ISessionContext`. */
export interface ISessionContextLike {
  readonly session: { readonly kernel: Kernel.IKernelConnection | null } | null;
  readonly kernelChanged: ISignal<unknown, unknown>;
  readonly isDisposed: boolean;
}

/** What is read of a notebook panel. */
export interface INotebookLike {
  readonly sessionContext: ISessionContextLike;
}

/** What is read of `INotebookTracker`. */
export interface INotebookTrackerLike<T extends INotebookLike = INotebookLike> {
  readonly currentWidget: T | null;
  readonly currentChanged: ISignal<unknown, T | null>;
}

/**
 * Calls `onKernel` with the current notebook's kernel whenever it changes,
 * at construction included when there is one (null when there is no notebook
 * or it has no kernel). Switching to a notebook with the same kernel calls
 * nothing.
 */
export class KernelFollower implements IDisposable {
  constructor(
    tracker: INotebookTrackerLike,
    private readonly onKernel: (kernel: Kernel.IKernelConnection | null) => void,
  ) {
    this._tracker = tracker;
    tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._follow(tracker.currentWidget);
  }

  /** The kernel last reported. */
  get kernel(): Kernel.IKernelConnection | null {
    return this._kernel;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._tracker.currentChanged.disconnect(this._onCurrentChanged, this);
    this._context?.kernelChanged.disconnect(this._onKernelChanged, this);
    this._context = null;
  }

  private _onCurrentChanged(_sender: unknown, widget: INotebookLike | null): void {
    this._follow(widget);
  }

  private _follow(widget: INotebookLike | null): void {
    const context = widget && !widget.sessionContext.isDisposed ? widget.sessionContext : null;
    if (context !== this._context) {
      this._context?.kernelChanged.disconnect(this._onKernelChanged, this);
      this._context = context;
      context?.kernelChanged.connect(this._onKernelChanged, this);
    }
    this._report();
  }

  private _onKernelChanged(): void {
    this._report();
  }

  private _report(): void {
    const kernel = this._context?.session?.kernel ?? null;
    if (kernel !== this._kernel) {
      this._kernel = kernel;
      this.onKernel(kernel);
    }
  }

  private readonly _tracker: INotebookTrackerLike;
  private _context: ISessionContextLike | null = null;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _isDisposed = false;
}
