/**
 * A chart of one of several runs (the traffic view's exchanges, the
 * training view's train() calls): the newest by default, a picker when
 * there are several, bars across that follow the view's width, and a
 * signal the first time a run is drawn (the panel gives the section more
 * room then). Runs grow by events, so it redraws only when they arrive.
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import { ChartView } from './chart-view';
import { ChoicePicker, type IChoice } from './choice-picker';
import type { ITrans } from './shape';

/** A chart view of the run its picker picks. */
export abstract class PickedChartView extends ChartView {
  constructor(options: PickedChartView.IOptions) {
    super(options);
    const prefix = options.classPrefix;
    this.addClass(prefix);
    this.messageNode.classList.add(`${prefix}-empty`);
    this.picker = new ChoicePicker({
      classPrefix: prefix,
      label: options.pickerLabel(this.trans),
      onPick: (key) => {
        this.selected = key;
      },
    });
    this.node.insertBefore(this.picker.node, this.summaryNode);
    // The plot takes the rest of the view's height (style/views.css), at least this.
    this.plotNode.style.minHeight = `${options.minHeightPx}px`;
  }

  /** The run picked (its key); null: the newest. One that is gone shows the newest. */
  get selected(): string | null {
    return this._selected;
  }

  set selected(key: string | null) {
    if (key !== this._selected) {
      this._selected = key;
      this.invalidate();
    }
  }

  /** The runs offered, as last drawn. */
  get choices(): readonly IChoice[] {
    return this.picker.choices;
  }

  /** Emits once, when the view first draws a run (it was a line of text until then). */
  protected get firstDrawn(): ISignal<this, void> {
    return this._firstDrawn;
  }

  /** Called as a run is drawn: emits {@link firstDrawn} the first time. */
  protected markDrawn(): void {
    if (!this._drawn) {
      this._drawn = true;
      this._firstDrawn.emit();
    }
  }

  /** Bars across: about one per 3 px of the view's width, from `min` to `max` (`max` before it has a width). */
  protected barsAcross(min: number, max: number): number {
    // The width is read once per resize (reading it forces a layout), not per draw.
    this._widthPx ??= this.node.clientWidth;
    if (this._widthPx <= 0) {
      return max;
    }
    return Math.max(min, Math.min(max, Math.floor(this._widthPx / 3)));
  }

  /** Runs grow by events: no need to redraw while nothing arrives. */
  protected override isLive(): boolean {
    return false;
  }

  protected override onResize(msg: Widget.ResizeMessage): void {
    this._widthPx = null;
    if (!this.isDirty) {
      // The bars drawn depend on the width: draw anew, not only resize.
      this.invalidate();
    }
    super.onResize(msg);
  }

  /** The picker of runs, above the summary; `render` offers it the runs it shaped. */
  protected readonly picker: ChoicePicker;
  private _selected: string | null = null;
  private _drawn = false;
  private readonly _firstDrawn = new Signal<this, void>(this);
  private _widthPx: number | null = null;
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace PickedChartView {
  /** Options of a picked chart view. */
  export interface IOptions extends ChartView.IOptions {
    /** The view's CSS class; also the prefix of its picker's and its empty message's classes. */
    classPrefix: string;
    /** The picker's caption, translated with the view's translator. */
    pickerLabel: (trans: ITrans) => string;
    /** The least height of the plot, px. */
    minHeightPx: number;
  }
}
