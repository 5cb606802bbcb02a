/**
 * A Plotly figure shown as a notebook output (MIME type
 * `application/vnd.plotly.v1+json`): checking that the output's data is a
 * figure, and what is drawn from it. Pure functions: the output widget
 * (plotly-output.ts) draws what they return.
 *
 * The JupyterLab theme goes in as a Plotly template, so that whatever the
 * figure sets itself (a color in its layout or its own template) wins by
 * Plotly's own rules, with no merging of ours.
 *
 * Why an untrusted output gets only part of the figure's config: a figure's
 * data and layout are drawn by Plotly into SVG, and Plotly turns the
 * HTML-like markup of its text (`<b>`, `<a href>`, `<span style>`...) into
 * SVG through a list of allowed tags and link protocols (http, https,
 * mailto, relative), so they run nothing. Its config, though, can point
 * Plotly at servers (`plotlyServerURL`, `topojsonURL`) and add links that
 * send the figure's data to them: from an output the user has not trusted,
 * only the keys that change how the chart looks and reacts are used.
 */
import type { Config, Data, Layout } from 'plotly.js';

import { baseLayout, IFigureTheme, themedAxis } from './figure-theme';
import { ITrans, NO_TRANS } from './shape';

/** The MIME type of Plotly figures (what plotly.py and jupyterlab-plotly use). */
export const PLOTLY_MIME_TYPE = 'application/vnd.plotly.v1+json';

/** A figure as the output's data holds it, checked. */
export interface IPlotlyFigure {
  readonly data: Data[];
  readonly layout: Partial<Layout>;
  readonly config: Partial<Config>;
}

/** A figure, or why the data is not one (a sentence for the user). */
export type FigureParse = { readonly figure: IPlotlyFigure } | { readonly error: string };

/** What a draw hands to `Plotly.react`. */
export interface IFigureDraw {
  readonly data: Data[];
  readonly layout: Partial<Layout>;
  readonly config: Partial<Config>;
}

/** The config every output starts from (the figure's own keys go over it). */
export const OUTPUT_CONFIG: Readonly<Partial<Config>> = { displaylogo: false };

/**
 * The config keys an untrusted output may set: how the chart looks and
 * responds to the mouse, nothing that loads, links or sends anything.
 */
export const UNTRUSTED_CONFIG_KEYS: readonly (keyof Config)[] = [
  'staticPlot',
  'displayModeBar',
  'modeBarButtonsToRemove',
  'scrollZoom',
  'doubleClick',
  'doubleClickDelay',
  'showTips',
  'showAxisDragHandles',
  'showAxisRangeEntryBoxes',
  'editable',
  'edits',
  'displaylogo',
  'responsive',
  'fillFrame',
  'frameMargins',
];

/** Checks that `value` (an output's data for {@link PLOTLY_MIME_TYPE}) is a figure. */
export function parseFigure(value: unknown, trans: ITrans = NO_TRANS): FigureParse {
  const notFigure = (why: string): FigureParse => ({
    error: trans.__('Not a Plotly figure: %1', why),
  });
  if (!isPlainObject(value)) {
    return notFigure(
      trans.__('expected an object with a "data" array of traces, got %1.', describe(value, trans)),
    );
  }
  const { data, layout, config } = value;
  if (!Array.isArray(data)) {
    return notFigure(trans.__('"data" must be an array of traces, got %1.', describe(data, trans)));
  }
  const bad = data.findIndex((trace) => !isPlainObject(trace));
  if (bad >= 0) {
    return notFigure(
      trans.__('trace %1 of "data" is %2, not an object.', bad, describe(data[bad] as unknown, trans)),
    );
  }
  for (const [name, part] of [
    ['layout', layout],
    ['config', config],
  ] as const) {
    if (part !== undefined && !isPlainObject(part)) {
      return notFigure(trans.__('"%1" must be an object, got %2.', name, describe(part, trans)));
    }
  }
  return {
    figure: {
      data: data as Data[],
      layout: (layout ?? {}) as Partial<Layout>,
      config: (config ?? {}) as Partial<Config>,
    },
  };
}

/**
 * The JupyterLab theme as a Plotly template: transparent backgrounds (the
 * output area's color shows through), the theme's font, axis, hover label
 * and mode bar colors. `template.layout.xaxis` applies to every x axis.
 */
export function themeTemplate(theme: IFigureTheme): { layout: Partial<Layout> } {
  // The panel's base layout without what is the panel's own: its size, tight margins, no legend.
  const { paper_bgcolor, plot_bgcolor, font, hoverlabel, modebar } = baseLayout(theme, null);
  return {
    layout: {
      paper_bgcolor,
      plot_bgcolor,
      font,
      hoverlabel,
      modebar,
      xaxis: themedAxis(theme),
      yaxis: themedAxis(theme),
    },
  };
}

/**
 * What to draw for `figure` in `theme`: copies (Plotly writes into the
 * objects it is given, e.g. an axis's computed range, and the output's data
 * is saved with the notebook), the theme as the template unless the figure
 * has its own, the figure's config (only {@link UNTRUSTED_CONFIG_KEYS} of it
 * when `trusted` is false) over {@link OUTPUT_CONFIG}.
 */
export function figureDraw(figure: IPlotlyFigure, theme: IFigureTheme, trusted: boolean): IFigureDraw {
  const layout = jsonCopy(figure.layout);
  if (layout.template === undefined) {
    layout.template = themeTemplate(theme) as Layout['template'];
  }
  return {
    data: jsonCopy(figure.data),
    layout,
    config: { ...OUTPUT_CONFIG, ...(trusted ? jsonCopy(figure.config) : untrustedConfig(figure.config)) },
  };
}

/** The keys of `config` an untrusted output may set. */
function untrustedConfig(config: Partial<Config>): Partial<Config> {
  const kept: Record<string, unknown> = {};
  for (const key of UNTRUSTED_CONFIG_KEYS) {
    if (config[key] !== undefined) {
      kept[key] = jsonCopy(config[key]);
    }
  }
  return kept as Partial<Config>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of JSON data (the output's data is JSON, so nothing is lost). */
function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** What kind of value `value` is, for an error message. */
function describe(value: unknown, trans: ITrans): string {
  if (value === undefined) {
    return trans.__('nothing');
  }
  if (value === null) {
    return trans.__('null');
  }
  if (Array.isArray(value)) {
    return trans.__('an array');
  }
  switch (typeof value) {
    case 'string':
      return trans.__('a string');
    case 'number':
      return trans.__('a number');
    case 'boolean':
      return trans.__('a boolean');
    default:
      return trans.__('a %1', typeof value);
  }
}
