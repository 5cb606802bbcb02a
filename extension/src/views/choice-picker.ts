/**
 * A labelled `<select>` of what a view can show (the traffic view's
 * exchanges, the training view's train() calls), hidden while there is
 * only one thing to show. Its options are rebuilt only when the choices
 * change, so an open select is not disturbed by redraws that change nothing
 * in it.
 */

/** A thing a view can show: its key, and what the select says of it. */
export interface IChoice {
  readonly key: string;
  readonly label: string;
}

/** The picker of a view. */
export class ChoicePicker {
  constructor(options: ChoicePicker.IOptions) {
    const prefix = options.classPrefix;
    this.node = document.createElement('label');
    this.node.className = `${prefix}-picker`;
    const caption = document.createElement('span');
    caption.className = `${prefix}-pickerLabel`;
    caption.textContent = options.label;
    this._select = document.createElement('select');
    this._select.className = `${prefix}-select jp-mod-styled`;
    this._select.addEventListener('change', () => options.onPick(this._select.value));
    // The label's text names the select for assistive technology (the select is inside the label).
    this.node.append(caption, this._select);
    this.node.hidden = true;
  }

  /** The `<label>` holding the caption and the select. */
  readonly node: HTMLLabelElement;

  /** The choices offered, as last shown. */
  get choices(): readonly IChoice[] {
    return this._choices;
  }

  /** Offers `choices` (shown when there are two or more) with `selected` (a key) selected. */
  show(choices: readonly IChoice[], selected: string | null): void {
    const key = choices.map((c) => `${c.key}\n${c.label}`).join('\n');
    if (key !== this._key) {
      this._key = key;
      this._choices = choices;
      this._select.replaceChildren(
        ...choices.map((c) => {
          const option = document.createElement('option');
          option.value = c.key;
          option.textContent = c.label;
          return option;
        }),
      );
    }
    this.node.hidden = choices.length < 2;
    if (selected !== null) {
      this._select.value = selected;
    }
  }

  private readonly _select: HTMLSelectElement;
  private _choices: readonly IChoice[] = [];
  private _key = '';
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- JupyterLab's class + namespace convention (DESIGN.md)
export namespace ChoicePicker {
  /** Options of a picker. */
  export interface IOptions {
    /** The view's CSS class: the picker's parts are `<prefix>-picker`, `-pickerLabel`, `-select`. */
    classPrefix: string;
    /** The caption before the select (translated). */
    label: string;
    /** Called with the key the user picked. */
    onPick: (key: string) => void;
  }
}
